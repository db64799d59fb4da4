"""OQMD (and Materials Project) composition tables as packaged by CrabNet.

CrabNet 2.0.8 ships ``formula,target`` CSVs (MIT; the underlying OQMD and Materials Project
data are CC-BY 4.0): OQMD formation enthalpy and band gap with CrabNet's 70/15/15
train/val/test splits, and matbench's MP formation energy and band gap. Files are found
locally or downloaded from CrabNet's GitHub repository at a fixed commit (see
:mod:`matinverse.io.datasets`); the local layout is ``<root>/crabnet-oqmd-mp/...``.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matinverse.errors import InputError
from matinverse.io.datasets import DataFile, cached_lines, fetch

ORIGIN = (
    "https://raw.githubusercontent.com/sparks-baird/CrabNet/"
    "d6906fed634a34d9a7cb5f35db2199629fdfd939/crabnet/data"
)
FOLDER = "crabnet-oqmd-mp"

_FILES = {
    # (table, split): (path under FOLDER and under ORIGIN/benchmark_data, sha256, bytes)
    ("formation_enthalpy", "train"): (
        "OQMD_Formation_Enthalpy/train.csv",
        "0b69cfcbffc31145790e48af13efed4f191e5687e01a19cda5ed7cee43deaf6d",
        5540221,
    ),
    ("formation_enthalpy", "val"): (
        "OQMD_Formation_Enthalpy/val.csv",
        "af138c2bfed3a8eb8fc2e202690fae94190e0e64258625ce1612df45298193d4",
        1187043,
    ),
    ("formation_enthalpy", "test"): (
        "OQMD_Formation_Enthalpy/test.csv",
        "773275807866c98cef1d36887e2f33cf3a3bb0428fc8faf6912cdcff19961172",
        1188263,
    ),
    ("bandgap", "train"): (
        "OQMD_Bandgap/train.csv",
        "8611a9f1f76ad06d846890d2234e6b37909abd941c156cdc339447bbcce3ada7",
        3410027,
    ),
    ("bandgap", "val"): (
        "OQMD_Bandgap/val.csv",
        "7838750eb3b5b09ec296b0fbf194271f6588b4bcd4653e392aba6df04c645002",
        730170,
    ),
    ("bandgap", "test"): (
        "OQMD_Bandgap/test.csv",
        "59206d9cf13387a6cbf5a155f5b350043aee2f190663bb9baf97a6ee85e63d55",
        731250,
    ),
}
TABLES = ("formation_enthalpy", "bandgap")
SPLITS = ("train", "val", "test")
# rows with |target| above this are dropped (OQMD holds a few broken entries, e.g. -198.7)
TARGET_LIMITS = {"formation_enthalpy": 5.0, "bandgap": 50.0}


def data_file(table: str, split: str) -> DataFile:
    """The DataFile of one OQMD table split."""
    if (table, split) not in _FILES:
        raise InputError(f"unknown table/split {table}/{split}; tables {TABLES}, splits {SPLITS}")
    path, sha, size = _FILES[(table, split)]
    return DataFile(f"{FOLDER}/{path}", f"{ORIGIN}/benchmark_data/{path}", sha, size)


@dataclass
class CompositionTable:
    """formulas (N,) as written in the source (e.g. ``Ta2Te1Zr1``); target (N,) float64 in
    the table's unit (eV/atom, eV); ``dropped``: rows removed as |target| > limit."""

    formulas: list[str]
    target: np.ndarray
    dropped: int = 0


def load_split(
    table: str,
    split: str,
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CompositionTable:
    """One split of an OQMD table, rows with |target| > TARGET_LIMITS[table] dropped."""
    path = fetch(data_file(table, split), data_dir, progress)
    frame = pd.read_csv(path)
    if list(frame.columns) != ["formula", "target"]:
        raise InputError(f"{path}: expected columns formula,target, got {list(frame.columns)}")
    target = frame["target"].to_numpy(float)
    keep = np.isfinite(target) & (np.abs(target) <= TARGET_LIMITS[table])
    formulas = frame["formula"].astype(str).to_numpy()[keep].tolist()
    return CompositionTable(formulas, target[keep], int((~keep).sum()))


def load_table(
    table: str = "formation_enthalpy",
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, CompositionTable]:
    """All three splits of an OQMD table: {"train", "val", "test"} -> CompositionTable."""
    return {split: load_split(table, split, data_dir, progress) for split in SPLITS}


def load_table_file(
    path: str | os.PathLike, seed: int = 0, fractions: tuple[float, float] = (0.7, 0.15)
) -> dict[str, CompositionTable]:
    """Splits {"train", "val", "test"} of a user's ``formula,target`` CSV (any unit; other
    columns ignored). An optional ``split`` column (train/val/test) fixes the splits;
    otherwise the rows are shuffled with ``seed`` and split ``fractions`` (train, val) with
    the rest as test. Rows with an empty target are dropped and counted; a target that is
    not a number is an error naming its row."""
    try:
        frame = pd.read_csv(path, dtype={"formula": str}, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable CSV file ({err})".replace("\n", " ")) from None
    missing = {"formula", "target"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: needs columns formula,target; missing {sorted(missing)}")
    text = frame["target"].astype(str).str.strip()
    target = pd.to_numeric(text, errors="coerce").to_numpy(float)
    bad = np.flatnonzero((text != "") & ~np.isfinite(target))
    if len(bad):
        row = bad[0]
        raise InputError(f"{path}: line {row + 2}: target {text.iloc[row]!r} is not a number")
    keep = np.isfinite(target)
    formulas = frame["formula"].to_numpy()
    if "split" in frame.columns:
        split = frame["split"].astype(str).str.strip().str.lower().to_numpy()
        unknown = sorted(set(split[keep]) - set(SPLITS))
        if unknown:
            raise InputError(f"{path}: split values must be {SPLITS}, got {unknown[:3]}")
    else:
        order = np.random.default_rng(seed).permutation(len(frame))
        bounds = np.cumsum([round(f * len(frame)) for f in fractions])
        split = np.empty(len(frame), object)
        for name, rows in zip(SPLITS, np.split(order, bounds), strict=True):
            split[rows] = name
    tables = {}
    for name in SPLITS:
        rows = split == name
        tables[name] = CompositionTable(
            formulas[rows & keep].tolist(), target[rows & keep], int((rows & ~keep).sum())
        )
        if not len(tables[name].formulas):
            raise InputError(f"{path}: the {name} split has no rows with a target")
    return tables


SUBSETS = ("all", "valid")


@dataclass
class TrainingSet:
    """Encoded training formulas: states (N, 85) uint8 and a report of what was kept."""

    states: np.ndarray
    report: dict


def training_set(
    subset: str = "all",
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainingSet:
    """OQMD formation-enthalpy train split, encoded; ``subset`` "valid" keeps the formulas
    valid under the headline SMACT setting (as MatGAN trained on a rule-screened set)."""
    from matinverse.compositions.encoding import encode
    from matinverse.compositions.validity import HEADLINE, validity

    if subset not in SUBSETS:
        raise InputError(f"subset must be one of {SUBSETS}, got {subset!r}")
    table = load_split("formation_enthalpy", "train", data_dir)
    states, kept, skipped = encode(table.formulas)
    report = {
        "source": "OQMD formation enthalpy, CrabNet train split",
        "rows": len(table.formulas) + table.dropped,
        "dropped_bad_target": table.dropped,
        "skipped_not_fitting": len(skipped),
        "subset": subset,
    }
    if subset == "valid":
        keep = validity([table.formulas[i] for i in kept], HEADLINE, progress)
        states = states[keep]
        report["validity_setting"] = HEADLINE.describe()
    report["formulas"] = len(states)
    return TrainingSet(states, report)


def known_formulas(data_dir: str | os.PathLike | None = None) -> set[str]:
    """Reduced formulas (pymatgen's reduced_formula) of every OQMD formation-enthalpy row,
    all splits and bad-target rows included: the reference set for novelty. Parsing the
    341,700 formulas takes about a minute, so the set is kept in the cache folder, keyed by
    the files' checksums and pymatgen's version."""
    import pymatgen.core

    from matinverse.compositions.encoding import parse

    files = [data_file("formation_enthalpy", split) for split in SPLITS]

    def reduced() -> list[str]:
        out = set()
        for file in files:
            frame = pd.read_csv(fetch(file, data_dir))
            out.update(parse(f).reduced_formula for f in frame["formula"].astype(str))
        return sorted(out)

    key = [f.sha256 for f in files] + [f"pymatgen {pymatgen.core.__version__}"]
    return set(cached_lines("oqmd-reduced-formulas", key, reduced))
