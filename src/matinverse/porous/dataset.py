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
``np.random.default_rng([seed, k])`` alone, so any worker can compute any chunk and the
data do not depend on the executor. Workers return whole chunks; the driver writes the
data of chunk k, and only then sets ``chunk_done[k]`` (each Zarr chunk is a separate file
written by rename, so a record is either complete or absent). A run killed at any moment
loses at most the chunks in flight: running the same call again skips the chunks marked
done and rewrites the others whole, so no sample is duplicated or mixed. A run with
different settings against an existing folder raises InputError. A directory lock keeps
two runs from writing the same folder at once.
"""

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import zarr

from matinverse import __version__
from matinverse.errors import InputError
from matinverse.parallel.executor import Executor, SerialExecutor
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


@dataclass(frozen=True)
class DatasetSummary:
    """Outcome of generate_dataset: samples complete now, computed by this call, found done."""

    path: str
    n: int
    done: int
    computed: int
    resumed: int
    seconds: float


@dataclass(frozen=True)
class DatasetStatus:
    """Completed samples and chunks of a dataset folder."""

    done_samples: int
    total_samples: int
    done_chunks: int
    total_chunks: int

    @property
    def complete(self) -> bool:
        return self.done_chunks == self.total_chunks


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
class _Chunk:
    """Work item: samples [start, stop) of chunk ``index``."""

    index: int
    start: int
    stop: int
    seed: int
    size: int
    families: tuple[str, ...]
    model: object
    desorption: bool


def _compute_chunk(task: _Chunk) -> dict:
    """Grids, family and isotherms of one chunk (runs on a worker)."""
    rng = np.random.default_rng([task.seed, task.index])
    grids, family = generate_grids(task.stop - task.start, rng, task.size, task.families)
    iso = task.model.simulate(grids, desorption=task.desorption)
    out = {"grids": grids, "family": family, "adsorption": iso.adsorption}
    if task.desorption:
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
    for name, value, low in (("n", n, 1), ("chunk_size", chunk_size, 1), ("seed", seed, 0)):
        if not isinstance(value, int | np.integer) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(size, int | np.integer) or size < 4:
        raise InputError(f"grid size must be an integer >= 4, got {size!r}")
    n, seed, chunk_size, size = int(n), int(seed), int(chunk_size), int(size)
    families = check_families(families)
    model = model if model is not None else LatticeDFT()
    desorption = bool(desorption)
    rh = np.asarray(model.relative_pressure, dtype=float)
    attrs = _jsonable(
        {
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
    )
    path = Path(out_dir)
    t0 = time.perf_counter()
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    lock = _lock(path)
    try:
        root = _open_or_create(path, attrs, rh)
        for partial in path.rglob("*.partial"):  # temp files of writes cut short
            partial.unlink(missing_ok=True)
        done = _done_chunks(root)
        n_chunks = len(done)
        counts = np.minimum(chunk_size, n - chunk_size * np.arange(n_chunks))
        resumed = int(counts[done].sum())
        starts = chunk_size * np.arange(n_chunks)
        tasks = [
            _Chunk(
                k,
                int(starts[k]),
                int(starts[k] + counts[k]),
                seed,
                size,
                families,
                model,
                desorption,
            )
            for k in np.flatnonzero(~done).tolist()
        ]
        names = ["grids", "family", "adsorption"] + (["desorption"] if desorption else [])
        arrays = {name: root[name] for name in names}
        marker = root["chunk_done"]
        complete = resumed
        if progress is not None:
            progress(complete, n)
        ex = executor if executor is not None else SerialExecutor()
        try:
            for task, result in ex.map_unordered(_compute_chunk, tasks):
                for name in names:
                    arrays[name][task.start : task.stop] = result[name]
                marker[task.index] = 1
                complete += task.stop - task.start
                if progress is not None:
                    progress(complete, n)
        finally:
            if executor is None:
                ex.close()
    finally:
        _unlock(lock)
    return DatasetSummary(
        str(path), n, complete, complete - resumed, resumed, time.perf_counter() - t0
    )


def dataset_status(path) -> DatasetStatus:
    """Completed samples / chunks of the dataset at path."""
    root = _open_existing(path)
    done = _done_chunks(root)
    n, chunk_size = int(root.attrs["n"]), int(root.attrs["chunk_size"])
    counts = np.minimum(chunk_size, n - chunk_size * np.arange(len(done)))
    return DatasetStatus(int(counts[done].sum()), n, int(done.sum()), len(done))


def load_dataset(path) -> Dataset:
    """The complete chunks of the dataset at path as numpy arrays (see Dataset)."""
    root = _open_existing(path)
    attrs = dict(root.attrs)
    done = _done_chunks(root)
    n, chunk_size = int(attrs["n"]), int(attrs["chunk_size"])
    # runs of consecutive complete chunks -> sample ranges read in one go
    edges = np.diff(np.concatenate([[0], done.astype(np.int8), [0]]))
    runs = [
        (int(a) * chunk_size, min(n, int(b) * chunk_size))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    ]
    has_desorption = "desorption" in root

    def read(name):
        arr = root[name]
        parts = [arr[a:b] for a, b in runs]
        return np.concatenate(parts) if parts else np.empty((0, *arr.shape[1:]), arr.dtype)

    index = [np.arange(a, b) for a, b in runs]
    return Dataset(
        grids=read("grids"),
        family=read("family"),
        adsorption=read("adsorption"),
        desorption=read("desorption") if has_desorption else None,
        relative_pressure=root["relative_pressure"][:],
        index=np.concatenate(index) if index else np.empty(0, np.int64),
        family_names=tuple(attrs["family_names"]),
        attrs=attrs,
    )


def _open_existing(path) -> zarr.Group:
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise InputError(f"{path} is not a dataset folder (no zarr.json)")
    try:
        root = zarr.open_group(path, mode="r")
    except Exception as e:
        raise InputError(f"{path} is not a readable Zarr group: {e}") from None
    if root.attrs.get("format") != FORMAT or "chunk_done" not in root:
        raise InputError(f"{path} is not a matinverse porous dataset")
    return root


def _open_or_create(path: Path, attrs: dict, rh: np.ndarray) -> zarr.Group:
    """Open the dataset group at path checking its identity, or create it; add any array
    a run killed during creation left out."""
    if (path / "zarr.json").is_file():
        try:
            root = zarr.open_group(path, mode="r+")
        except Exception as e:
            raise InputError(f"{path} is not a readable Zarr group: {e}") from None
        _check_identity(path, dict(root.attrs), attrs)
    elif any(path.iterdir()):
        raise InputError(f"{path} exists, is not empty and is not a dataset folder")
    else:
        root = zarr.open_group(path, mode="w-", attributes=attrs)
    n, cs, size, p = attrs["n"], attrs["chunk_size"], attrs["size"], len(rh)
    specs = [
        ("grids", (n, size, size), (cs, size, size), "uint8", 0, ("sample", "row", "col")),
        ("family", (n,), (cs,), "int8", -1, ("sample",)),
        ("adsorption", (n, p), (cs, p), "float64", np.nan, ("sample", "pressure")),
        ("relative_pressure", (p,), (p,), "float64", np.nan, ("pressure",)),
        ("chunk_done", (-(-n // cs),), (1,), "uint8", 0, ("chunk",)),
    ]
    if attrs["desorption"]:
        specs.insert(3, ("desorption", (n, p), (cs, p), "float64", np.nan, ("sample", "pressure")))
    for name, shape, chunks, dtype, fill, dims in specs:
        if name in root:
            arr = root[name]
            if arr.shape != shape or arr.chunks != chunks or arr.dtype != np.dtype(dtype):
                raise InputError(
                    f"{path}/{name} has shape {arr.shape}, chunks {arr.chunks}, dtype "
                    f"{arr.dtype}; expected {shape}, {chunks}, {dtype}"
                )
        else:
            root.create_array(
                name,
                shape=shape,
                chunks=chunks,
                dtype=dtype,
                fill_value=fill,
                dimension_names=dims,
                compressors=None if name == "chunk_done" else "auto",
            )
    stored = root["relative_pressure"]
    if not np.array_equal(stored[:], rh):
        stored[:] = rh
    return root


def _check_identity(path: Path, existing: dict, wanted: dict) -> None:
    if existing.get("format") != FORMAT:
        raise InputError(f"{path} holds a Zarr group that is not a matinverse porous dataset")
    diffs = []
    for key in _IDENTITY:
        old, new = existing.get(key), wanted.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            diffs.append(f"{key} differ ({', '.join(keys)})")
        else:
            diffs.append(f"{key} {_short(old)} (stored) vs {_short(new)} (requested)")
    if diffs:
        raise InputError(
            f"{path} holds a dataset made with other settings: {'; '.join(diffs)}. "
            "Rerun with the same settings to resume it, or choose a new output folder"
        )


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _done_chunks(root: zarr.Group) -> np.ndarray:
    """(n_chunks,) bool: chunks whose marker is set (an unreadable marker counts as unset)."""
    marker = root["chunk_done"]
    try:
        return marker[:] == 1
    except Exception:
        done = np.zeros(marker.shape[0], bool)
        for k in range(marker.shape[0]):
            try:
                done[k] = marker[k] == 1
            except Exception:
                done[k] = False
        return done


def _jsonable(value):
    """value as plain JSON types (numpy scalars/arrays and tuples converted)."""

    def default(obj):
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"cannot store {type(obj).__name__} in dataset attributes")

    return json.loads(json.dumps(value, default=default))


def _lock(path: Path):
    """Exclusive lock on the folder (released when the process ends, even by kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks (Windows)
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise InputError(f"{path} is being written by another running process") from None
    return fd


def _unlock(fd) -> None:
    if fd is not None:
        os.close(fd)
