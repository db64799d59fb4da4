"""Find a public data file locally, or download it once from its origin and check it.

A data file is found, in this order, under: the ``data_dir`` given (``--data-dir``), the
folder named by the ``MATINVERSE_DATA`` environment variable, then the cache folder
(``$XDG_CACHE_HOME/matinverse`` or ``~/.cache/matinverse``). Each of these is a root that
holds the data sets as sub-folders (``crabnet-oqmd-mp/OQMD_Formation_Enthalpy/train.csv``).
When none has it, the file is downloaded from its public origin into the cache folder
(written under a temporary name, SHA-256 checked, then renamed), so a download that is
interrupted or corrupted never leaves a file that looks complete. ``cached_lines`` keeps
slow-to-derive data (e.g. the parsed formulas of a table) in the cache folder too, keyed by
everything it was derived from.
"""

import hashlib
import os
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path

ENVIRONMENT_VARIABLE = "MATINVERSE_DATA"


@dataclass(frozen=True)
class DataFile:
    """A file of a public data set: ``path`` relative to a data root, its ``url`` of origin,
    ``sha256`` and ``size`` in bytes."""

    path: str
    url: str
    sha256: str
    size: int


def cache_root() -> Path:
    """The download cache: $XDG_CACHE_HOME/matinverse or ~/.cache/matinverse."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "matinverse"


def data_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The roots searched, in order: ``data_dir``, $MATINVERSE_DATA, the cache folder."""
    roots = []
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise InputError(f"data folder {data_dir} does not exist")
        roots.append(Path(data_dir))
    if os.environ.get(ENVIRONMENT_VARIABLE):
        roots.append(Path(os.environ[ENVIRONMENT_VARIABLE]))
    roots.append(cache_root())
    return roots


def fetch(
    file: DataFile,
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    download: bool = True,
) -> Path:
    """Local path of ``file``: the first root that has it, else a checked download into the
    cache. ``progress(bytes_done, bytes_total)`` follows a download. Raises InputError when
    the file is missing and ``download`` is False or the download fails."""
    for root in data_roots(data_dir):
        candidate = root / file.path
        if candidate.is_file():
            return candidate
    if not download:
        raise InputError(f"{file.path} not found under {', '.join(map(str, data_roots(data_dir)))}")
    target = cache_root() / file.path
    try:
        _download(file, target, progress)
    except OSError as err:
        raise InputError(
            f"could not download {file.url} ({err}); put a copy at <root>/{file.path} "
            f"and pass --data-dir <root> or set {ENVIRONMENT_VARIABLE}"
        ) from None
    return target


def _download(file: DataFile, target: Path, progress) -> None:
    digest = hashlib.sha256()
    with atomic_path(target) as tmp, urllib.request.urlopen(file.url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or file.size)
        done = 0
        with open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if digest.hexdigest() != file.sha256:
            raise InputError(
                f"download of {file.url} has SHA-256 {digest.hexdigest()}, expected {file.sha256}"
            )


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cached_lines(name: str, key: Iterable[str], compute: Callable[[], Iterable[str]]) -> list[str]:
    """Lines (without newlines) that ``compute()`` derives from data, kept in the cache folder
    as ``derived/<name>-<hash of key>.txt`` (written atomically) and read from there on later
    calls; ``key`` names every input (source checksums, library versions)."""
    digest = hashlib.sha256("\n".join(key).encode()).hexdigest()[:16]
    path = cache_root() / "derived" / f"{name}-{digest}.txt"
    if path.is_file():
        return path.read_text().splitlines()
    lines = list(compute())
    if any("\n" in line for line in lines):
        raise ValueError("cached lines must not contain newlines")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(line + "\n" for line in lines))
    return lines
