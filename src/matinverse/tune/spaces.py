"""What ``matinverse tune`` searches: one :class:`Tunable` per (problem, model).

A tunable names its hyperparameters (:class:`Param`: learning rate, batch size, width, depth
and the architecture choices of its model, each with the few values the grid sampler
tries), the train command's default configuration, the fixed training settings a study
runs every trial with (epochs, steps, ensemble members; defaults are the train commands'
own), how to load its data, how to train one configuration through the project's training
function (reporting the validation error after every epoch), the train command that
reproduces a configuration, and, for ``matinverse learning-curve``, how to train on a
subset of the training rows at a comparable budget and measure the test error.
"""

import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
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


@dataclass(frozen=True)
class Splits:
    """The training, validation and test parts of a problem's data (each with ``len`` and
    ``rows(index)``)."""

    train: Any
    val: Any
    test: Any


class Tunable:
    """A model family of one problem that ``tune`` can search (subclasses fill it in).

    ``space``: the hyperparameters; ``defaults``: their values in the train command's
    default configuration; ``metric``: the history key minimised (a validation error);
    ``test_metric``: what :meth:`test_error` measures; ``settings``: fixed training
    settings and their defaults; ``train_command``: the words after ``matinverse`` of the
    command that trains the model, which takes the data folder as its first argument when
    ``data_argument``, else as --data-dir. The test data is part of the data folder, or a
    separate dataset folder (--test-dir) when ``test_argument``."""

    problem: str
    model: str
    space: tuple[Param, ...]
    defaults: dict[str, Any]
    metric: str
    test_metric = "test MAE"
    settings: dict[str, Any]
    train_command: tuple[str, ...]
    data_argument = False
    test_argument = False
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

    def check_test_dir(self, test_dir: Path | None) -> None:
        """Refuse a test folder that does not exist, is missing or is not used."""
        if test_dir is None and self.test_argument:
            raise InputError(f"{self.problem} {self.model} needs --test-dir (a held-out dataset)")
        if test_dir is not None and not self.test_argument:
            raise InputError(
                f"{self.problem} {self.model} takes no --test-dir (its test split comes with "
                "the data)"
            )
        if test_dir is not None and not Path(test_dir).is_dir():
            raise InputError(f"--test-dir {test_dir} is not a folder")

    def load(self, data_dir: Path | None, settings: dict, test_dir: Path | None = None) -> Any:
        """The training, validation and test data (``data_dir``: see the problem's train
        command; ``test_dir``: the held-out dataset, when ``test_argument``)."""
        raise NotImplementedError

    def train(
        self, data: Any, params: dict, settings: dict, on_epoch: OnEpoch | None = None
    ) -> tuple[Any, list[dict]]:
        """Train one configuration; returns the model and the history (one record per
        epoch)."""
        raise NotImplementedError

    def unit(self, settings: dict) -> str:
        """The unit of the validation and test errors."""
        raise NotImplementedError

    def training_rows(self, data: Splits) -> int:
        """The number of training rows (the rows :meth:`subset` draws from)."""
        return len(data.train)

    def subset(self, data: Splits, rows: np.ndarray) -> Splits:
        """``data`` with training rows ``rows`` only (validation and test unchanged)."""
        return replace(data, train=data.train.rows(rows))

    def min_rows(self, params: dict) -> int:
        """The fewest training rows the training function accepts (a batch)."""
        return params["batch_size"]

    def steps(self, params: dict, settings: dict, n_train: int) -> int:
        """Optimiser steps of a training run on ``n_train`` rows."""
        return settings["epochs"] * settings["steps"]

    def budget(self, params: dict, settings: dict, n_train: int, n_full: int) -> dict:
        """The settings of a run on ``n_train`` of the ``n_full`` training rows that takes
        the steps and epochs of a run on all of them (already so when the steps do not
        depend on the rows)."""
        return settings

    def test_error(self, model: Any, data: Any) -> float:
        """The model's error on the test data (:attr:`test_metric`, in :meth:`unit`)."""
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


@dataclass(frozen=True)
class PorousData:
    """A porous dataset, its training and validation samples (``split``: indices into it)
    and the held-out dataset (None when not loaded)."""

    dataset: Any
    split: Any
    test: Any = None


class PorousPredictor(Tunable):
    """The porous isotherm predictor (``porous train-predictor``): validation MAE of theta;
    the test error is ``porous evaluate-predictor``'s MAE on a held-out dataset, leaving
    out the isotherms of the training dataset."""

    problem, model, metric = "porous", "predictor", "val_mae"
    settings = {"epochs": 12}
    train_command, data_argument, test_argument = ("porous", "train-predictor"), True, True
    defaults = {"lr": 2e-3, "batch_size": 256, "width": 24, "depth": 5, "dilations": "doubling"}
    space = (
        Param("lr", (1e-3, 3e-3), low=3e-4, high=1e-2, log=True),
        Param("batch_size", (256,), choices=(64, 128, 256)),
        Param("width", (16, 32), choices=(12, 16, 24, 32, 48)),
        Param("depth", (5,), low=2, high=7),
        Param("dilations", ("doubling", "flat"), choices=("doubling", "cycle", "flat")),
    )

    def load(self, data_dir, settings, test_dir=None):
        from matinverse.porous.dataset import load_complete_dataset
        from matinverse.porous.training import split_by_isotherm

        self.check_data_dir(data_dir)
        dataset = load_complete_dataset(data_dir)
        split = split_by_isotherm(dataset.adsorption, 0.05, 0)  # train_predictor's
        test = load_complete_dataset(test_dir) if test_dir is not None else None
        return PorousData(dataset, split, test)

    def train(self, data, params, settings, on_epoch=None):
        from matinverse.porous.training import train_predictor

        dilations = dilation_schedule(params["dilations"], params["depth"])
        model, report = train_predictor(
            data.dataset,
            settings["epochs"],
            params["batch_size"],
            params["lr"],
            params["width"],
            dilations,
            on_epoch=on_epoch,
            split=data.split,
            steps_per_epoch=settings.get("steps_per_epoch"),
        )
        return model, report["history"]

    def unit(self, settings):
        return "theta"

    def training_rows(self, data):
        return len(data.split.train)

    def subset(self, data, rows):
        from matinverse.porous.training import Split

        return replace(data, split=Split(data.split.train[rows], data.split.validation))

    def min_rows(self, params):
        return 1

    def steps(self, params, settings, n_train):
        from matinverse.porous.training import predictor_steps

        per_epoch = settings.get("steps_per_epoch")
        return settings["epochs"] * (per_epoch or predictor_steps(n_train, params["batch_size"]))

    def budget(self, params, settings, n_train, n_full):
        from matinverse.porous.training import predictor_steps

        # the epochs of the full run, each as long as one pass over all the rows
        return {**settings, "steps_per_epoch": predictor_steps(n_full, params["batch_size"])}

    def test_error(self, model, data):
        from matinverse.porous.training import evaluate_predictor

        return evaluate_predictor(model, data.test, exclude=data.dataset)["mae"]["all"]

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
        self.defaults = {"lr": 1e-3, "batch_size": 256}
        if architecture == "attention":
            self.defaults.update(dim=128, layers=3, heads=4)
        else:
            self.defaults.update(width_factor=1.0)
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

    def load(self, data_dir, settings, test_dir=None):
        from matinverse.compositions.property_training import load_property_splits

        self.check_data_dir(data_dir)
        splits, _ = load_property_splits(settings["property"], data_dir)
        return Splits(splits["train"], splits["val"], splits["test"])

    def member_config(self, params: dict) -> dict:
        if self.model == "attention":
            return {k: params[k] for k in ("dim", "heads", "layers")}
        return {"width_factor": params["width_factor"]}

    def train(self, data, params, settings, on_epoch=None):
        from matinverse.compositions.property_training import train_property_model

        return train_property_model(
            data.train,
            data.val,
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

    def test_error(self, model, data):
        from matinverse.compositions.property_training import evaluate_property_model

        return evaluate_property_model(model, data.test)["mae"]

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
    test_metric = "test MAE, gapped rows"
    settings = {"epochs": 60, "steps": 500, "members": 8}
    defaults = {"lr": 2e-3, "batch_size": 256, "width": 128, "depth": 3}
    minimum = {"members": 2}
    train_command = ("strain", "train-surrogate")
    space = (
        Param("lr", (1e-3, 3e-3), low=3e-4, high=1e-2, log=True),
        Param("batch_size", (256,), choices=(64, 128, 256, 512)),
        Param("width", (64, 128), choices=(32, 64, 128, 256)),
        Param("depth", (2, 3), low=1, high=5),
    )

    def load(self, data_dir, settings, test_dir=None):
        from matinverse.strain.data import fold_split, load_mos2

        self.check_data_dir(data_dir)
        split = fold_split(load_mos2(data_dir)[0], "design")
        return Splits(split.train, split.val, split.test)

    def train(self, data, params, settings, on_epoch=None):
        from matinverse.strain.surrogate import train_surrogate

        return train_surrogate(
            data.train,
            data.val,
            members=settings["members"],
            width=params["width"],
            depth=params["depth"],
            epochs=settings["epochs"],
            steps_per_epoch=settings["steps"],
            batch=params["batch_size"],
            lr=params["lr"],
            on_epoch=on_epoch,
        )

    def unit(self, settings):
        return "eV"

    def test_error(self, model, data):
        from matinverse.strain.surrogate import evaluate_surrogate

        return evaluate_surrogate(model, data.test)["gapped"]["mae"]

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
