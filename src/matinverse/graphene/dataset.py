"""Resumable generation of (sheet, energy) training data into a Zarr group.

Layout (n samples; chunks of ``chunk_size`` samples; storage, resuming and locking as in
:mod:`matinverse.io.chunked`):

- ``sheets``      (n, nx, ny) uint8 cell states 0..3 (see :mod:`matinverse.graphene.lattice`)
- ``energy``      (n,) float64, eV relative to pristine graphene (the oracle's)
- ``density``     (n,) float64, energy per area, eV per square angstrom (the label)
- ``chunk_done``  (n_chunks,) uint8
- attributes: format, generator version and settings, seed, n, chunk_size, nx, ny, oracle
  and its constants, versions, creation time.

Chunk k is generated from ``np.random.default_rng([seed, k])`` alone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from matinverse import __version__
from matinverse.graphene.oracle import DANGLING_BOND, HOPPING, HueckelOracle, energy_density
from matinverse.graphene.sheets import GENERATOR_VERSION, random_sheets
from matinverse.io.chunked import (
    ArraySpec,
    ChunkTask,
    DatasetSummary,
    check_counts,
    fill_dataset,
    open_dataset,
    read_complete,
)
from matinverse.parallel.executor import Executor

FORMAT = "matinverse.graphene.dataset"
_IDENTITY = ("format", "generator_version", "seed", "n", "chunk_size", "nx", "ny", "oracle")


@dataclass
class SheetDataset:
    """The complete chunks of a sheet dataset: sheets (m, nx, ny) uint8, energy and density
    (m,) float64 (eV, eV per square angstrom), index (m,) sample numbers, attrs."""

    sheets: np.ndarray
    energy: np.ndarray
    density: np.ndarray
    index: np.ndarray
    attrs: dict


@dataclass(frozen=True)
class _Settings:
    seed: int
    nx: int
    ny: int


def _compute_chunk(task: ChunkTask) -> dict:
    settings = task.settings
    rng = np.random.default_rng([settings.seed, task.index])
    sheets = random_sheets(task.stop - task.start, rng, settings.nx, settings.ny)
    energy = HueckelOracle().energies(sheets)
    return {
        "sheets": sheets,
        "energy": energy,
        "density": energy_density(energy, settings.nx, settings.ny),
    }


def generate_sheet_dataset(
    out_dir,
    n: int,
    seed: int = 0,
    chunk_size: int = 512,
    nx: int = 14,
    ny: int = 16,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DatasetSummary:
    """Generate (or resume) n random nx x ny sheets and their oracle energies into out_dir
    (executor: where chunks are computed, default in process)."""
    n, seed, chunk_size = check_counts(n, seed, chunk_size)
    attrs = {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n": n,
        "chunk_size": chunk_size,
        "nx": int(nx),
        "ny": int(ny),
        "oracle": {"name": HueckelOracle.name, "hopping": HOPPING, "dangling": DANGLING_BOND},
        "matinverse_version": __version__,
        "numpy_version": np.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    random_sheets(0, np.random.default_rng(0), nx, ny)  # check the sizes before any work
    specs = [
        ArraySpec("sheets", (nx, ny), "uint8", 0, ("sample", "i", "j")),
        ArraySpec("energy", (), "float64", np.nan, ("sample",)),
        ArraySpec("density", (), "float64", np.nan, ("sample",)),
    ]
    return fill_dataset(
        out_dir,
        attrs,
        _IDENTITY,
        specs,
        _compute_chunk,
        _Settings(seed, nx, ny),
        executor,
        progress,
    )


def load_sheet_dataset(path) -> SheetDataset:
    """The complete chunks of the sheet dataset at path."""
    root = open_dataset(path, FORMAT, "graphene")
    arrays, index = read_complete(root, ["sheets", "energy", "density"])
    return SheetDataset(**arrays, index=index, attrs=dict(root.attrs))
