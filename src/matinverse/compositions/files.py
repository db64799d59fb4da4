"""Formula CSV files: read a ``formula`` column; write ``formula,valid`` rows or rows of
named columns (designs) atomically."""

import csv
import os
from pathlib import Path

from matinverse.compositions.encoding import parse
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path


def read_formulas(path: str | os.PathLike) -> list[str | None]:
    """Formulas of a CSV file with a header whose first or named column is ``formula``;
    an empty cell is None (a sample that decoded to nothing). InputError names the line of
    a formula pymatgen cannot parse."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or "formula" not in header:
            raise InputError(f"{path}: expected a header with a 'formula' column")
        column = header.index("formula")
        out: list[str | None] = []
        for line, row in enumerate(reader, start=2):
            cell = row[column].strip() if len(row) > column else ""
            if cell:
                try:
                    parse(cell)
                except InputError as err:
                    raise InputError(f"{path} line {line}: {err}") from None
            out.append(cell or None)
    if not out:
        raise InputError(f"{path} has no formula rows")
    return out


def write_formulas(path: str | os.PathLike, rows: list[tuple[str | None, bool]]) -> None:
    """Write ``formula,valid`` rows (empty formula for None) atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["formula", "valid"])
        writer.writerows((formula or "", "true" if valid else "false") for formula, valid in rows)
