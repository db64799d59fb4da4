"""Property predictions for formulas with the shipped (or a given) model.

A model file is a :class:`~matinverse.compositions.regressors.PropertyEnsemble` (``.pt``) or
a :class:`~matinverse.compositions.boosting.BoostedPropertyModel` (``.skops``); both give
``predict((N, 86) fractions) -> (prediction, standard deviation)``.
"""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from matinverse.compositions.boosting import BoostedPropertyModel
from matinverse.compositions.features import fractions
from matinverse.compositions.property_training import PROPERTIES
from matinverse.compositions.regressors import PropertyEnsemble
from matinverse.compositions.weights import WEIGHTS
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.nn import load_model

SUFFIXES = (".pt", ".skops")


def default_model_path(property: str) -> Path:
    """The shipped model file of a property (``<property>.pt`` or ``<property>.skops``)."""
    if property not in PROPERTIES:
        raise InputError(f"property must be one of {tuple(PROPERTIES)}, got {property!r}")
    for suffix in SUFFIXES:
        path = WEIGHTS / f"{property}{suffix}"
        if path.is_file():
            return path
    raise InputError(f"no shipped model for {property} in {WEIGHTS}")


def load_property_model(path: str | os.PathLike) -> PropertyEnsemble | BoostedPropertyModel:
    """A property model file (.pt ensemble or .skops gradient boosting)."""
    path = Path(path)
    if path.suffix == ".skops":
        return BoostedPropertyModel.load(path)
    if path.suffix == ".pt":
        return load_model(path, PropertyEnsemble)
    raise InputError(f"a property model file ends in {' or '.join(SUFFIXES)}, got {path}")


def model_property(model) -> str:
    """The property a model predicts ("formation_energy", "bandgap")."""
    return model.config["property"] if isinstance(model, PropertyEnsemble) else model.property


def predict_formulas(model, formulas: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predictions (N,) and standard deviations (N,) (NaN for a formula that cannot be
    represented) and the reason per formula ("" when predicted)."""
    frac, reasons = fractions(formulas)
    ok = np.array([not r for r in reasons], bool)
    prediction = np.full(len(formulas), np.nan)
    uncertainty = np.full(len(formulas), np.nan)
    if ok.any():
        prediction[ok], uncertainty[ok] = model.predict(frac[ok])
    return prediction, uncertainty, reasons


def predict_file(model, source: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Read a CSV with a ``formula`` column, write it to ``out`` (atomically) with columns
    ``prediction``, ``uncertainty`` (one standard deviation) and ``error`` (why a row was
    not predicted) added. Returns counts {"rows", "predicted"}."""
    source = Path(source)
    if not source.is_file():
        raise InputError(f"file not found: {source}")
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {source} as CSV: {err}") from None
    if "formula" not in table.columns:
        raise InputError(f"{source}: expected a header with a 'formula' column")
    formulas = [f.strip() for f in table["formula"]]
    prediction, uncertainty, reasons = predict_formulas(model, formulas)
    for i, formula in enumerate(formulas):
        if not formula:
            reasons[i] = "empty formula"
    table["prediction"] = prediction
    table["uncertainty"] = uncertainty
    table["error"] = reasons
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return {"rows": len(table), "predicted": int(np.isfinite(prediction).sum())}
