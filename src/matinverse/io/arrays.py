"""Reading user arrays from .npy files, with one-line errors instead of tracebacks."""

from pathlib import Path

import numpy as np

from matinverse.errors import InputError


def load_npy(path: Path) -> np.ndarray:
    """The single array of a .npy file (no pickled objects); InputError if the file is
    missing, unreadable or an archive."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"cannot read {path} as a .npy array: {err}") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{path} holds an archive, expected a single .npy array")
    return arr
