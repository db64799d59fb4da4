"""Resumable datasets stored chunk by chunk in a Zarr group (format 3).

Shared by the problems' dataset generators. A dataset of n samples is cut into chunks of
``chunk_size`` samples along the first axis of every per-sample array; chunk k is computed
from ``np.random.default_rng([seed, k])`` alone (by the caller's ``compute``), so any
worker can compute any chunk and the data do not depend on the executor. Workers return
whole chunks; the driver writes the data of chunk k and only then sets ``chunk_done[k]``
(each Zarr chunk is a separate file written by rename, so a record is either complete or
absent). A run killed at any moment loses at most the chunks in flight: running the same
call again skips the chunks marked done and rewrites the others whole, so no sample is
duplicated or mixed. A run with other settings (the ``identity`` attributes) against an
existing folder raises InputError; a directory lock keeps two runs from writing one folder.
"""

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from matinverse.errors import InputError
from matinverse.parallel.executor import Executor, SerialExecutor


@dataclass(frozen=True)
class ArraySpec:
    """One array of a chunked dataset: per-sample arrays have shape (n, *shape) and are
    chunked by samples; a fixed array (``per_sample`` False) has ``shape`` and holds
    ``value``, written on every open."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    fill: float
    dims: tuple[str, ...]
    per_sample: bool = True
    value: np.ndarray | None = None


@dataclass(frozen=True)
class ChunkTask:
    """Work item: samples [start, stop) of chunk ``index``, with the caller's settings."""

    index: int
    start: int
    stop: int
    settings: object


@dataclass(frozen=True)
class DatasetSummary:
    """Outcome of a generation run: samples complete now, computed by this call, found done."""

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


def check_counts(n, seed, chunk_size) -> tuple[int, int, int]:
    """n >= 1, seed >= 0, chunk_size >= 1 as ints; InputError naming a bad one."""
    for name, value, low in (("n", n, 1), ("chunk_size", chunk_size, 1), ("seed", seed, 0)):
        if not isinstance(value, int | np.integer) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(n), int(seed), int(chunk_size)


def fill_dataset(
    out_dir,
    attrs: dict,
    identity: Sequence[str],
    specs: Sequence[ArraySpec],
    compute: Callable[[ChunkTask], dict],
    settings: object,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DatasetSummary:
    """Create (or resume) the dataset at ``out_dir`` described by ``attrs`` (JSON-able;
    holds "format", "n" and "chunk_size") and ``specs``, computing every chunk not yet done
    with ``compute(ChunkTask)`` -> {name: per-sample array of the chunk} on ``executor``
    (default in process; not closed here). progress(done_samples, n) is called once at the
    start and after every stored chunk."""
    attrs = jsonable(attrs)
    n, chunk_size = int(attrs["n"]), int(attrs["chunk_size"])
    path = Path(out_dir)
    t0 = time.perf_counter()
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(path)
    try:
        root = _open_or_create(path, attrs, identity, specs)
        for partial in path.rglob("*.partial"):  # temp files of writes cut short
            partial.unlink(missing_ok=True)
        done = done_chunks(root)
        counts = np.minimum(chunk_size, n - chunk_size * np.arange(len(done)))
        resumed = int(counts[done].sum())
        tasks = [
            ChunkTask(k, k * chunk_size, k * chunk_size + int(counts[k]), settings)
            for k in np.flatnonzero(~done).tolist()
        ]
        arrays = {spec.name: root[spec.name] for spec in specs if spec.per_sample}
        marker = root["chunk_done"]
        complete = resumed
        if progress is not None:
            progress(complete, n)
        ex = executor if executor is not None else SerialExecutor()
        try:
            for task, result in ex.map_unordered(compute, tasks):
                for name, array in arrays.items():
                    array[task.start : task.stop] = result[name]
                marker[task.index] = 1
                complete += task.stop - task.start
                if progress is not None:
                    progress(complete, n)
        finally:
            if executor is None:
                ex.close()
    finally:
        unlock_folder(lock)
    return DatasetSummary(
        str(path), n, complete, complete - resumed, resumed, time.perf_counter() - t0
    )


def dataset_status(path, format: str, kind: str) -> DatasetStatus:
    """Completed samples / chunks of the dataset at path."""
    root = open_dataset(path, format, kind)
    done = done_chunks(root)
    n, chunk_size = int(root.attrs["n"]), int(root.attrs["chunk_size"])
    counts = np.minimum(chunk_size, n - chunk_size * np.arange(len(done)))
    return DatasetStatus(int(counts[done].sum()), n, int(done.sum()), len(done))


def read_complete(root: zarr.Group, names: Sequence[str]) -> tuple[dict, np.ndarray]:
    """The complete chunks of the per-sample arrays ``names`` ({name: array}) and their
    sample numbers (m,) in the full dataset."""
    done = done_chunks(root)
    n, chunk_size = int(root.attrs["n"]), int(root.attrs["chunk_size"])
    # runs of consecutive complete chunks -> sample ranges read in one go
    edges = np.diff(np.concatenate([[0], done.astype(np.int8), [0]]))
    runs = [
        (int(a) * chunk_size, min(n, int(b) * chunk_size))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    ]

    def read(name):
        arr = root[name]
        parts = [arr[a:b] for a, b in runs]
        return np.concatenate(parts) if parts else np.empty((0, *arr.shape[1:]), arr.dtype)

    index = [np.arange(a, b) for a, b in runs]
    return {name: read(name) for name in names}, (
        np.concatenate(index) if index else np.empty(0, np.int64)
    )


def open_dataset(path, format: str, kind: str) -> zarr.Group:
    """The Zarr group of a dataset of ``format`` at path, read-only; ``kind`` names it in
    errors (e.g. "porous")."""
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise InputError(f"{path} is not a dataset folder (no zarr.json)")
    try:
        root = zarr.open_group(path, mode="r")
    except Exception as e:
        raise InputError(f"{path} is not a readable Zarr group: {e}") from None
    if root.attrs.get("format") != format or "chunk_done" not in root:
        raise InputError(f"{path} is not a matinverse {kind} dataset")
    return root


def _open_or_create(
    path: Path, attrs: dict, identity: Sequence[str], specs: Sequence[ArraySpec]
) -> zarr.Group:
    """Open the dataset group at path checking its identity, or create it; add any array
    a run killed during creation left out."""
    if (path / "zarr.json").is_file():
        try:
            root = zarr.open_group(path, mode="r+")
        except Exception as e:
            raise InputError(f"{path} is not a readable Zarr group: {e}") from None
        _check_identity(path, dict(root.attrs), attrs, identity)
    elif any(path.iterdir()):
        raise InputError(f"{path} exists, is not empty and is not a dataset folder")
    else:
        root = zarr.open_group(path, mode="w-", attributes=attrs)
    n, cs = attrs["n"], attrs["chunk_size"]
    marker = ArraySpec("chunk_done", (-(-n // cs),), "uint8", 0, ("chunk",), per_sample=False)
    for spec in [*specs, marker]:
        shape = (n, *spec.shape) if spec.per_sample else spec.shape
        chunks = (cs, *spec.shape) if spec.per_sample else (1,) if spec is marker else shape
        if spec.name in root:
            arr = root[spec.name]
            if arr.shape != shape or arr.chunks != chunks or arr.dtype != np.dtype(spec.dtype):
                raise InputError(
                    f"{path}/{spec.name} has shape {arr.shape}, chunks {arr.chunks}, dtype "
                    f"{arr.dtype}; expected {shape}, {chunks}, {spec.dtype}"
                )
        else:
            root.create_array(
                spec.name,
                shape=shape,
                chunks=chunks,
                dtype=spec.dtype,
                fill_value=spec.fill,
                dimension_names=spec.dims,
                compressors=None if spec is marker else "auto",
            )
        if spec.value is not None and not np.array_equal(root[spec.name][:], spec.value):
            root[spec.name][:] = spec.value
    return root


def _check_identity(path: Path, existing: dict, wanted: dict, identity: Sequence[str]) -> None:
    if existing.get("format") != wanted["format"]:
        raise InputError(f"{path} holds a Zarr group that is not a {wanted['format']} dataset")
    diffs = []
    for key in identity:
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


def done_chunks(root: zarr.Group) -> np.ndarray:
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


def jsonable(value):
    """value as plain JSON types (numpy scalars/arrays and tuples converted)."""

    def default(obj):
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"cannot store {type(obj).__name__} in dataset attributes")

    return json.loads(json.dumps(value, default=default))


def lock_folder(path: Path):
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


def unlock_folder(fd) -> None:
    if fd is not None:
        os.close(fd)
