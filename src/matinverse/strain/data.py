"""The MoS2 strain / electric-field band-gap data set of MatDesINNe (Fung, Zhang et al.,
npj Comput. Mater. 7, 200 (2021); MIT).

10,798 DFT calculations of monolayer MoS2: x = lattice a, b, c (angstrom), angles alpha,
beta, gamma (degrees) and an electric field (-1..1; the unit is not given, V/angstrom is
likely), each within +-20 % of the relaxed cell; y = band gap in eV (64 % exactly 0:
metallic). The column names are inferred from the value ranges and the paper. The files
(headerless CSV) are found locally or downloaded from the MatDesINNe repository at a fixed
commit (see :mod:`matinverse.io.datasets`); the local layout is ``<root>/mos2/data_x.csv``.

The 368 rows that occur twice (same x, same y) are merged, and the 10,430 distinct rows are
split once, at random with a fixed seed, into two halves: the *design* fold, on which the
surrogate that drives design and the inverse models are trained, and the *judge* fold, on
which only the judge surrogate is trained. Each fold is the other's held-out test set.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matinverse.errors import InputError
from matinverse.io.datasets import DataFile, fetch

ORIGIN = (
    "https://raw.githubusercontent.com/jxzhangjhu/MatDesINNe/"
    "2c7ab5ec49cef95b5ecf2188757550ca0270eac5/Simulated_DataSets/MoS2"
)
FOLDER = "mos2"
X_FILE = DataFile(
    f"{FOLDER}/data_x.csv",
    f"{ORIGIN}/data_x.csv",
    "9e10afe2b20a389fb3b7d4bcdb7d3400d91ac8ec3e7a987e1d153f06d6aea44d",
    842592,
)
Y_FILE = DataFile(
    f"{FOLDER}/data_y.csv",
    f"{ORIGIN}/data_y.csv",
    "c09a80afb25e22c530f66917e7ea12fe3731bc1b2a6e5b169e754fe84f17ea92",
    45076,
)
COLUMNS = ("a", "b", "c", "alpha", "beta", "gamma", "efield")
FOLDS = ("design", "judge")
# smallest and largest band gap in the data, eV
BANDGAP_RANGE = (0.0, 2.391)
SPLIT_SEED = 0
VAL_FRACTION = 0.1


@dataclass
class StrainData:
    """x (N, 7) float64: a, b, c in angstrom, alpha, beta, gamma in degrees, electric field;
    bandgap (N,) float64 in eV (0 for a metal)."""

    x: np.ndarray
    bandgap: np.ndarray

    def __len__(self) -> int:
        return len(self.bandgap)

    def rows(self, index: np.ndarray) -> "StrainData":
        """The rows at ``index``."""
        return StrainData(self.x[index], self.bandgap[index])

    @property
    def metallic(self) -> np.ndarray:
        """(N,) bool: rows with a zero band gap."""
        return self.bandgap <= 0


def read_csv_matrix(path: str | os.PathLike, columns: int) -> np.ndarray:
    """A headerless numeric CSV file of ``columns`` columns as (N, columns) float64."""
    try:
        frame = pd.read_csv(path, header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {path} as CSV: {err}") from None
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if values.shape[1] != columns or not np.isfinite(values).all():
        raise InputError(f"{path}: expected {columns} numeric columns and no empty cell")
    return values


def load_mos2(
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[StrainData, dict]:
    """The distinct rows of the data set (file order, the first of each duplicate kept) and
    a report of the rows read and merged."""
    x = read_csv_matrix(fetch(X_FILE, data_dir, progress), len(COLUMNS))
    y = read_csv_matrix(fetch(Y_FILE, data_dir, progress), 1)[:, 0]
    if len(x) != len(y):
        raise InputError(f"data_x.csv has {len(x)} rows but data_y.csv has {len(y)}")
    _, first = np.unique(x, axis=0, return_index=True)
    keep = np.sort(first)
    report = {
        "source": "MatDesINNe MoS2 (jxzhangjhu/MatDesINNe@2c7ab5e)",
        "rows": len(y),
        "merged_duplicates": len(y) - len(keep),
    }
    return StrainData(x[keep], y[keep]), report


@dataclass
class FoldSplit:
    """One fold's rows for training (``train``, ``val``: a tenth of the fold, for model
    selection and calibration) and the other fold as held-out ``test`` rows."""

    train: StrainData
    val: StrainData
    test: StrainData


def fold_split(data: StrainData, fold: str) -> FoldSplit:
    """Split distinct rows (:func:`load_mos2`) into the two fixed halves and return ``fold``
    ("design" or "judge") as train/val, the other half as test."""
    if fold not in FOLDS:
        raise InputError(f"fold must be one of {FOLDS}, got {fold!r}")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(data))
    halves = dict(zip(FOLDS, np.array_split(order, 2), strict=True))
    own = halves[fold]
    n_val = int(round(VAL_FRACTION * len(own)))
    other = halves[FOLDS[1 - FOLDS.index(fold)]]
    return FoldSplit(
        train=data.rows(np.sort(own[n_val:])),
        val=data.rows(np.sort(own[:n_val])),
        test=data.rows(np.sort(other)),
    )
