"""Tables written as CSV, atomically."""

import csv
import os
from collections.abc import Sequence

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path


def write_rows(
    path: str | os.PathLike, rows: list[dict], columns: Sequence[str] | None = None
) -> None:
    """Write dicts as CSV rows atomically: ``columns`` in that order (keys outside them are
    left out; default the first row's keys), None as an empty cell, floats with six
    significant digits."""
    if not rows:
        raise InputError(f"no rows to write to {path}")
    columns = list(columns or rows[0])
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(
            {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows
        )
