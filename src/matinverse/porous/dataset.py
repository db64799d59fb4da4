"""Resumable generation of (grid, isotherm) training data into a Zarr group.

Layout of the group at ``out_dir`` (zarr format 3; n samples, P pressures, chunks of
``chunk_size`` samples along the sample axis):

- ``grids``             (n, L, L) uint8, 1 = pore
- ``family``            (n,) int8, index into the ``family_names`` attribute
- ``adsorption``        (n, P) float64, filling theta at each relative pressure
- ``desorption``        (n, P) float64 (absent when generated with desorption=False)
- ``relative_pressure`` (P,) float64
- ``chunk_done``        (n_chunks,) uint8, one file per chunk: 1 once chunk k is stored
- attributes: format, generator, matinverse and numpy versions, seed, n, chunk_size, size,
  families, family_names, desorption, simulator and its constants, creation time.

Chunk k holds samples [k chunk_size, (k+1) chunk_size) and is computed from
``np.random.default_rng([seed, k])`` alone; storage, resuming and locking are those of
:mod:`matinverse.io.chunked` (a killed run loses at most the chunks in flight, and running
the same call again completes it without duplicating a sample).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from matinverse import __version__
from matinverse.errors import InputError
from matinverse.io.chunked import (
    ArraySpec,
    ChunkTask,
    DatasetStatus,
    DatasetSummary,
    check_counts,
    fill_dataset,
    open_dataset,
    read_complete,
)
from matinverse.io.chunked import dataset_status as chunked_status
from matinverse.parallel.executor import Executor
from matinverse.porous.grids import FAMILIES, GENERATOR_VERSION, check_families, generate_grids
from matinverse.porous.simulator import LatticeDFT

FORMAT = "matinverse.porous.dataset"
FORMAT_VERSION = 1

# attributes that must match for a run to resume an existing dataset
_IDENTITY = (
    "format",
    "format_version",
    "generator_version",
    "seed",
    "n",
    "chunk_size",
    "size",
    "families",
    "family_names",
    "desorption",
    "simulator",
    "constants",
)


@dataclass
class Dataset:
    """The complete chunks of a dataset, as numpy arrays (m samples, m <= n).

    grids (m, L, L) uint8 (1 = pore); family (m,) int8 into ``family_names``; adsorption
    and desorption (m, P) float64 (desorption None if not generated); relative_pressure
    (P,); index (m,) int64 sample numbers in the full dataset; attrs the group attributes.
    """

    grids: np.ndarray
    family: np.ndarray
    adsorption: np.ndarray
    desorption: np.ndarray | None
    relative_pressure: np.ndarray
    index: np.ndarray
    family_names: tuple[str, ...]
    attrs: dict = field(repr=False)


@dataclass(frozen=True)
class _Settings:
    """What every chunk of one dataset shares."""

    seed: int
    size: int
    families: tuple[str, ...]
    model: object
    desorption: bool


def _compute_chunk(task: ChunkTask) -> dict:
    """Grids, family and isotherms of one chunk (runs on a worker)."""
    settings = task.settings
    rng = np.random.default_rng([settings.seed, task.index])
    grids, family = generate_grids(task.stop - task.start, rng, settings.size, settings.families)
    iso = settings.model.simulate(grids, desorption=settings.desorption)
    out = {"grids": grids, "family": family, "adsorption": iso.adsorption}
    if settings.desorption:
        out["desorption"] = iso.desorption
    return out


def generate_dataset(
    out_dir,
    n: int,
    seed: int = 0,
    chunk_size: int = 500,
    model=None,
    executor: Executor | None = None,
    desorption: bool = True,
    progress: Callable[[int, int], None] | None = None,
    *,
    size: int = 20,
    families=None,
) -> DatasetSummary:
    """Generate (or resume) n samples of L x L grids (L = size) and isotherms into out_dir.

    model: the simulator (default LatticeDFT()); anything with ``simulate(grids,
    desorption=)``, ``constants()`` and ``relative_pressure``. executor: where chunks are
    computed (default in process; it is not closed here). families: family names
    (default all of FAMILIES).
    progress(done_samples, n) is called once at the start and after every stored chunk.
    """
    n, seed, chunk_size = check_counts(n, seed, chunk_size)
    if not isinstance(size, int | np.integer) or size < 4:
        raise InputError(f"grid size must be an integer >= 4, got {size!r}")
    size = int(size)
    families = check_families(families)
    model = model if model is not None else LatticeDFT()
    desorption = bool(desorption)
    rh = np.asarray(model.relative_pressure, dtype=float)
    attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n": n,
        "chunk_size": chunk_size,
        "size": size,
        "families": list(families),
        "family_names": list(FAMILIES),
        "desorption": desorption,
        "simulator": type(model).__name__,
        "constants": model.constants(),
        "matinverse_version": __version__,
        "numpy_version": np.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    p = len(rh)
    specs = [
        ArraySpec("grids", (size, size), "uint8", 0, ("sample", "row", "col")),
        ArraySpec("family", (), "int8", -1, ("sample",)),
        ArraySpec("adsorption", (p,), "float64", np.nan, ("sample", "pressure")),
    ]
    if desorption:
        specs.append(ArraySpec("desorption", (p,), "float64", np.nan, ("sample", "pressure")))
    specs.append(ArraySpec("relative_pressure", (p,), "float64", np.nan, ("pressure",), False, rh))
    settings = _Settings(seed, size, families, model, desorption)
    return fill_dataset(
        out_dir, attrs, _IDENTITY, specs, _compute_chunk, settings, executor, progress
    )


def dataset_status(path) -> DatasetStatus:
    """Completed samples / chunks of the dataset at path."""
    return chunked_status(path, FORMAT, "porous")


def load_dataset(path) -> Dataset:
    """The complete chunks of the dataset at path as numpy arrays (see Dataset)."""
    root = open_dataset(path, FORMAT, "porous")
    has_desorption = "desorption" in root
    names = ["grids", "family", "adsorption"] + (["desorption"] if has_desorption else [])
    arrays, index = read_complete(root, names)
    attrs = dict(root.attrs)
    return Dataset(
        grids=arrays["grids"],
        family=arrays["family"],
        adsorption=arrays["adsorption"],
        desorption=arrays.get("desorption"),
        relative_pressure=root["relative_pressure"][:],
        index=index,
        family_names=tuple(attrs["family_names"]),
        attrs=attrs,
    )


def load_complete_dataset(path) -> Dataset:
    """``load_dataset``, refusing a dataset that has no complete chunk yet."""
    data = load_dataset(path)
    if len(data.grids) == 0:
        raise InputError(f"dataset {path} has no complete chunk yet")
    return data
