"""Training and evaluation of the composition property models.

Networks (:class:`~matinverse.compositions.regressors.PropertyEnsemble`) train on the train
split through :class:`matinverse.train.Trainer` (resumable); the history records the
validation MAE after every epoch, so settings are chosen on validation, never on test, and
the predicted standard deviation is calibrated on validation. The gradient-boosting model
is in :mod:`matinverse.compositions.boosting`.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from matinverse.compositions.boosting import BoostedPropertyModel
from matinverse.compositions.data import CompositionTable, load_table, load_table_file
from matinverse.compositions.features import fractions
from matinverse.compositions.regressors import PropertyEnsemble
from matinverse.errors import InputError
from matinverse.train import Trainer
from matinverse.train.uncertainty import laplace_std_factor, uncertainty_report

PROPERTIES = {
    # property name -> (OQMD table, unit, predictions clipped at zero)
    "formation_energy": ("formation_enthalpy", "eV/atom", False),
    "bandgap": ("bandgap", "eV", True),
}


@dataclass
class PropertyData:
    """fractions (N, 86) float32 and targets (N,) float64 of the representable rows;
    ``skipped`` the number of rows that could not be represented."""

    fractions: np.ndarray
    target: np.ndarray
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.target)

    def rows(self, index: np.ndarray) -> "PropertyData":
        """The rows at ``index`` (``skipped`` 0)."""
        return PropertyData(self.fractions[index], self.target[index])


def property_data(table: CompositionTable) -> PropertyData:
    """Fractions and targets of a table's rows, unrepresentable rows dropped and counted."""
    frac, reasons = fractions(table.formulas)
    keep = np.array([not r for r in reasons], bool)
    return PropertyData(frac[keep], table.target[keep], int((~keep).sum()))


def property_spec(
    property: str, unit: str | None = None, nonnegative: bool | None = None
) -> tuple[str, bool]:
    """(unit, predictions clipped at zero) of a property: OQMD's defaults for its two
    properties, which ``unit`` and ``nonnegative`` override; any other property (a user's
    table) needs its unit."""
    if property in PROPERTIES:
        _, default_unit, default_nonnegative = PROPERTIES[property]
    elif unit is None:
        raise InputError(
            f"property must be one of {tuple(PROPERTIES)}, got {property!r} "
            "(a property of your own table needs its unit)"
        )
    else:
        default_unit, default_nonnegative = unit, False
    return (
        default_unit if unit is None else unit,
        default_nonnegative if nonnegative is None else nonnegative,
    )


def load_property_splits(
    property: str,
    data_dir: str | os.PathLike | None = None,
    table_file: str | os.PathLike | None = None,
    seed: int = 0,
) -> tuple[dict[str, PropertyData], dict]:
    """{"train", "val", "test"} -> PropertyData of a property's OQMD table (or of a user's
    ``formula,target`` CSV, ``table_file``, see :func:`load_table_file`), and a report of
    the rows kept, dropped (bad or empty target) and skipped (not representable)."""
    if table_file is not None:
        table = load_table_file(table_file, seed)
        source = f"{table_file} ({property})"
    elif property in PROPERTIES:
        table = load_table(PROPERTIES[property][0], data_dir)
        source = f"OQMD {PROPERTIES[property][0]}, CrabNet splits"
    else:
        raise InputError(f"property must be one of {tuple(PROPERTIES)}, got {property!r}")
    splits = {name: property_data(split) for name, split in table.items()}
    report = {
        "source": source,
        **{f"{name}_rows": len(split.target) for name, split in splits.items()},
        "dropped_bad_target": sum(split.dropped for split in table.values()),
        "skipped_unrepresentable": sum(split.skipped for split in splits.values()),
    }
    return splits, report


def mean_absolute_error(model, data: PropertyData) -> float:
    """MAE of ``model.predict`` (anything returning (prediction, std)) on ``data``."""
    prediction, _ = model.predict(data.fractions)
    return float(np.mean(np.abs(prediction - data.target)))


def evaluate_property_model(model, data: PropertyData) -> dict:
    """Accuracy and uncertainty quality of a model on ``data`` (use the test split once
    settings are fixed): ``mae``, ``rmse``; ``within_1std`` and ``within_2std``, the
    fractions of errors inside +-1 and +-2 predicted standard deviations (Laplace errors:
    0.757 and 0.941); ``rank_correlation``, Spearman's between |error| and std;
    ``mae_confident_half``, the MAE of the half of the rows with the smaller std."""
    prediction, std = model.predict(data.fractions)
    return uncertainty_report(prediction, std, data.target)


def calibrate(model, data: PropertyData) -> float:
    """Set ``model.std_scale`` (an ensemble or a boosting model) to the Laplace factor of
    its errors on ``data`` (validation), on the rows it predicts off the bound 0 (a band gap
    predicted 0 is a call of metal, whose error the deviation of a value does not describe);
    returns the factor."""
    model.std_scale = 1.0
    mean, std = model.predict(data.fractions)
    informative = mean != 0
    model.std_scale = laplace_std_factor(
        mean[informative], std[informative], data.target[informative]
    )
    return model.std_scale


def train_property_model(
    train: PropertyData,
    val: PropertyData,
    property: str = "formation_energy",
    architecture: str = "attention",
    member_config: dict | None = None,
    size: int = 4,
    epochs: int = 20,
    steps_per_epoch: int = 1000,
    batch: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    device: str = "cpu",
    unit: str | None = None,
    nonnegative: bool | None = None,
    two_part: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[PropertyEnsemble, list[dict]]:
    """Train an ensemble of ``size`` networks jointly (each on the same batches, from its own
    initialisation) with the robust loss on ``device`` ("cpu", "cuda", ...), then calibrate
    its standard deviation on ``val``; the history holds the loss and the validation MAE of
    the ensemble mean per epoch. ``unit`` and ``nonnegative``: see :func:`property_spec`;
    ``two_part``: a probability of target > 0 and a value fitted on those rows (see
    :class:`PropertyEnsemble`); ``on_epoch``: see :meth:`Trainer.fit`. Returns the
    ensemble (on the CPU, eval mode) and the history."""
    unit, nonnegative = property_spec(property, unit, nonnegative)
    if len(train.target) < batch:
        raise InputError(f"need at least {batch} training rows, got {len(train.target)}")
    scaled = train.target[train.target > 0] if two_part else train.target
    if len(scaled) < 2:
        raise InputError("a two-part model needs training rows with a target above 0")
    torch.manual_seed(seed)
    model = PropertyEnsemble(
        architecture,
        member_config,
        size,
        target_mean=float(np.mean(scaled)),
        target_scale=float(np.std(scaled)),
        nonnegative=nonnegative,
        property=property,
        unit=unit,
        two_part=two_part,
    ).to(device)
    x = torch.from_numpy(np.ascontiguousarray(train.fractions, np.float32)).to(device)
    y = torch.from_numpy(np.asarray(train.target, np.float32)).to(device)

    def step(rng, gen):
        rows = torch.from_numpy(rng.integers(0, len(y), batch))
        return model.loss(x[rows], y[rows])

    trainer = Trainer(
        {"model": model},
        epochs,
        steps_per_epoch,
        lr,
        weight_decay=weight_decay,
        seed=seed,
        checkpoint=checkpoint,
    )
    history = trainer.fit(
        step, lambda: {"val_mae": mean_absolute_error(model, val)}, progress, on_epoch
    )
    calibrate(model.cpu().eval(), val)
    return model, history


def train_boosted_model(
    train: PropertyData,
    val: PropertyData,
    property: str = "bandgap",
    size: int = 4,
    trees: int = 1000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    unit: str | None = None,
    nonnegative: bool | None = None,
) -> BoostedPropertyModel:
    """Fit a gradient-boosting ensemble of ``size`` members of ``trees`` trees on ``train``
    and calibrate its standard deviation on ``val`` (``unit``, ``nonnegative``: see
    :func:`property_spec`)."""
    unit, nonnegative = property_spec(property, unit, nonnegative)
    model = BoostedPropertyModel(
        size, trees, nonnegative=nonnegative, property=property, unit=unit, seed=seed
    )
    model.fit(train.fractions, train.target, progress)
    calibrate(model, val)
    return model
