"""What ``matinverse tune`` searches: one :class:`Tunable` per (problem, model).

A tunable names its hyperparameters (:class:`Param`: learning rate, batch size, width, depth
and the architecture choices of its model, each with the few values the grid sampler
tries), the fixed training settings a study runs every trial with (epochs, steps, ensemble
members; defaults are the train commands' own), how to load its data, how to train one
configuration through the project's training function (reporting the validation error
after every epoch) and the train command that reproduces a configuration.
"""

import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from matinverse.errors import InputError


@dataclass(frozen=True)
class Param:
    """One hyperparameter: a choice among ``choices``, or a range ``low`` .. ``high``
    (integers when both are int, else floats, log-uniform with ``log``). ``grid``: the
    values the grid sampler tries."""

    name: str
    grid: tuple
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False

    def suggest(self, trial: optuna.Trial) -> Any:
        """This parameter's value for ``trial``, drawn by the study's sampler."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, self.choices)
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.name, self.low, self.high)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


OnEpoch = Callable[[dict], None]


class Tunable:
    """A model family of one problem that ``tune`` can search (subclasses fill it in).

    ``space``: the hyperparameters; ``metric``: the history key minimised (a validation
    error); ``settings``: fixed training settings and their defaults; ``train_command``:
    the words after ``matinverse`` of the command that trains the model, which takes the
    data folder as its first argument when ``data_argument``, else as --data-dir."""

    problem: str
    model: str
    space: tuple[Param, ...]
    metric: str
    settings: dict[str, Any]
    train_command: tuple[str, ...]
    data_argument = False
    minimum: dict[str, int] = {}  # smallest value of an integer setting, if not 1

    @property
    def grid(self) -> dict[str, list]:
        """The grid sampler's search space: parameter name -> values."""
        return {p.name: list(p.grid) for p in self.space}

    @property
    def grid_size(self) -> int:
        return math.prod(len(p.grid) for p in self.space)

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """The fixed settings: the defaults, overridden by ``given`` (name -> value), each
        checked."""
        unknown = sorted(set(given) - set(self.settings))
        if unknown:
            known = ", ".join(f"--{name}" for name in self.settings)
            raise InputError(
                f"{self.problem} {self.model} takes no --{unknown[0]} (its settings: {known})"
            )
        for name, value in given.items():
            if isinstance(value, int) and value < self.minimum.get(name, 1):
                raise InputError(
                    f"--{name} must be at least {self.minimum.get(name, 1)}, got {value}"
                )
        return {**self.settings, **given}

    def check_data_dir(self, data_dir: Path | None) -> None:
        """Refuse a data folder that does not exist (or a missing one the model needs)."""
        if data_dir is None and self.data_argument:
            raise InputError(f"{self.problem} {self.model} needs --data-dir")
        if data_dir is not None and not Path(data_dir).is_dir():
            raise InputError(f"--data-dir {data_dir} is not a folder")

    def load(self, data_dir: Path | None, settings: dict) -> Any:
        """The training and validation data (``data_dir``: see the problem's train command)."""
        raise NotImplementedError

    def train(self, data: Any, params: dict, settings: dict, on_epoch: OnEpoch) -> list[dict]:
        """Train one configuration; returns the history (one record per epoch)."""
        raise NotImplementedError

    def unit(self, settings: dict) -> str:
        """The unit of the validation error."""
        raise NotImplementedError

    def options(self, params: dict, settings: dict) -> dict[str, Any]:
        """The train command's options (--out first, not the data) for a configuration."""
        raise NotImplementedError

    def command(self, params: dict, settings: dict, data_dir: Path | None) -> str:
        """The train command line that trains configuration ``params`` as the trial did."""
        words = ["matinverse", *self.train_command]
        options = self.options(params, settings)
        if self.data_argument:
            words.append(str(data_dir))
        elif data_dir is not None:
            options["--data-dir"] = data_dir
        return shlex.join(words + [str(part) for item in options.items() for part in item])


def dilation_schedule(kind: str, depth: int) -> tuple[int, ...]:
    """Dilations of ``depth`` residual blocks: 'doubling' 1, 2, 4, 8, 8, ... and a final 1
    (the default predictor's 1,2,4,8,1; 8 is the most a grid of 8 x 8 takes), 'cycle'
    1, 2, 4, 1, 2, 4, ..., 'flat' all 1."""
    if kind == "doubling":
        return tuple(min(2**i, 8) for i in range(depth - 1)) + (1,)
    if kind == "cycle":
        return tuple(2 ** (i % 3) for i in range(depth))
    if kind == "flat":
        return (1,) * depth
    raise ValueError(f"unknown dilation schedule {kind!r}")


class PorousPredictor(Tunable):
    """The porous isotherm predictor (``porous train-predictor``): validation MAE of theta."""

    problem, model, metric = "porous", "predictor", "val_mae"
    settings = {"epochs": 12}
    train_command, data_argument = ("porous", "train-predictor"), True
    space = (
        Param("lr", (1e-3, 3e-3), low=3e-4, high=1e-2, log=True),
        Param("batch_size", (256,), choices=(64, 128, 256)),
        Param("width", (16, 32), choices=(12, 16, 24, 32, 48)),
        Param("depth", (5,), low=2, high=7),
        Param("dilations", ("doubling", "flat"), choices=("doubling", "cycle", "flat")),
    )

    def load(self, data_dir, settings):
        from matinverse.porous.dataset import load_complete_dataset

        self.check_data_dir(data_dir)
        return load_complete_dataset(data_dir)

    def train(self, data, params, settings, on_epoch):
        from matinverse.porous.training import train_predictor

        dilations = dilation_schedule(params["dilations"], params["depth"])
        _, report = train_predictor(
            data,
            settings["epochs"],
            params["batch_size"],
            params["lr"],
            params["width"],
            dilations,
            on_epoch=on_epoch,
        )
        return report["history"]

    def unit(self, settings):
        return "theta"

    def options(self, params, settings):
        dilations = dilation_schedule(params["dilations"], params["depth"])
        return {
            "--out": "predictor.pt",
            "--epochs": settings["epochs"],
            "--batch-size": params["batch_size"],
            "--lr": params["lr"],
            "--width": params["width"],
            "--dilations": ",".join(map(str, dilations)),
        }


class PropertyNetwork(Tunable):
    """A composition property ensemble (``compositions train-property``) of the attention
    or ElemNet architecture: validation MAE of the ensemble mean."""

    problem, metric = "compositions", "val_mae"
    settings = {"property": "formation_energy", "epochs": 24, "steps": 1000, "members": 3}
    train_command = ("compositions", "train-property")

    def __init__(self, architecture: str):
        self.model = architecture
        common = (
            Param("lr", (3e-4, 1e-3), low=1e-4, high=3e-3, log=True),
            Param("batch_size", (256,), choices=(128, 256, 512)),
        )
        if architecture == "attention":
            self.space = common + (
                Param("dim", (64, 128), choices=(32, 64, 128, 256)),
                Param("layers", (2, 3), low=1, high=4),
                Param("heads", (4,), choices=(1, 2, 4, 8)),
            )
        else:
            self.space = common + (Param("width_factor", (0.5, 1.0), choices=(0.25, 0.5, 1.0)),)

    def unit(self, settings):
        from matinverse.compositions.property_training import PROPERTIES

        return PROPERTIES[settings["property"]][1]

    def resolve(self, given):
        from matinverse.compositions.property_training import PROPERTIES

        settings = super().resolve(given)
        if settings["property"] not in PROPERTIES:
            raise InputError(
                f"--property must be one of {tuple(PROPERTIES)}, got {settings['property']!r}"
            )
        return settings

    def load(self, data_dir, settings):
        from matinverse.compositions.property_training import load_property_splits

        self.check_data_dir(data_dir)
        splits, _ = load_property_splits(settings["property"], data_dir)
        return splits["train"], splits["val"]

    def member_config(self, params: dict) -> dict:
        if self.model == "attention":
            return {k: params[k] for k in ("dim", "heads", "layers")}
        return {"width_factor": params["width_factor"]}

    def train(self, data, params, settings, on_epoch):
        from matinverse.compositions.property_training import train_property_model

        _, history = train_property_model(
            *data,
            property=settings["property"],
            architecture=self.model,
            member_config=self.member_config(params),
            size=settings["members"],
            epochs=settings["epochs"],
            steps_per_epoch=settings["steps"],
            batch=params["batch_size"],
            lr=params["lr"],
            on_epoch=on_epoch,
        )
        return history

    def options(self, params, settings):
        return {
            "--out": f"{settings['property']}.pt",
            "--property": settings["property"],
            "--model": self.model,
            "--size": settings["members"],
            "--epochs": settings["epochs"],
            "--steps": settings["steps"],
            "--batch-size": params["batch_size"],
            "--lr": params["lr"],
            **{"--" + k.replace("_", "-"): v for k, v in self.member_config(params).items()},
        }


class StrainSurrogate(Tunable):
    """The MoS2 band-gap ensemble (``strain train-surrogate``) on the design fold:
    validation MAE on the gapped rows (designs are asked for gapped targets)."""

    problem, model, metric = "strain", "surrogate", "val_mae_gapped"
    settings = {"epochs": 60, "steps": 500, "members": 8}
    minimum = {"members": 2}
    train_command = ("strain", "train-surrogate")
    space = (
        Param("lr", (1e-3, 3e-3), low=3e-4, high=1e-2, log=True),
        Param("batch_size", (256,), choices=(64, 128, 256, 512)),
        Param("width", (64, 128), choices=(32, 64, 128, 256)),
        Param("depth", (2, 3), low=1, high=5),
    )

    def load(self, data_dir, settings):
        from matinverse.strain.data import fold_split, load_mos2

        self.check_data_dir(data_dir)
        split = fold_split(load_mos2(data_dir)[0], "design")
        return split.train, split.val

    def train(self, data, params, settings, on_epoch):
        from matinverse.strain.surrogate import train_surrogate

        _, history = train_surrogate(
            *data,
            members=settings["members"],
            width=params["width"],
            depth=params["depth"],
            epochs=settings["epochs"],
            steps_per_epoch=settings["steps"],
            batch=params["batch_size"],
            lr=params["lr"],
            on_epoch=on_epoch,
        )
        return history

    def unit(self, settings):
        return "eV"

    def options(self, params, settings):
        return {
            "--out": "surrogate.pt",
            "--fold": "design",
            "--members": settings["members"],
            "--width": params["width"],
            "--depth": params["depth"],
            "--epochs": settings["epochs"],
            "--steps": settings["steps"],
            "--batch-size": params["batch_size"],
            "--lr": params["lr"],
        }


TUNABLES: dict[tuple[str, str], Tunable] = {
    (t.problem, t.model): t
    for t in (
        PorousPredictor(),
        PropertyNetwork("attention"),
        PropertyNetwork("elemnet"),
        StrainSurrogate(),
    )
}


def get_tunable(problem: str, model: str) -> Tunable:
    """The tunable of ``problem`` and ``model``, or an InputError listing the known ones."""
    if (problem, model) not in TUNABLES:
        known = ", ".join(f"{p} {m}" for p, m in TUNABLES)
        raise InputError(f"no tunable model {problem!r} {model!r}; known: {known}")
    return TUNABLES[(problem, model)]
