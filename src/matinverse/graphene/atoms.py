"""Sheets as ASE Atoms (carbons only; in-plane periodic cell, vacuum along z) and export."""

import os
from pathlib import Path

import numpy as np

from matinverse.errors import InputError
from matinverse.graphene.lattice import carbon_sites, cell_vectors, check_states, site_positions
from matinverse.io.atomic import atomic_path

EXPORT_FORMATS = {".xyz": "extxyz", ".extxyz": "extxyz", ".cif": "cif"}


def sheet_to_atoms(sheet: np.ndarray, vacuum: float = 15.0, info: dict | None = None):
    """(nx, ny) states -> ase.Atoms of the carbons: cell (nx a1, ny a2, vacuum z), periodic
    in-plane only, the sheet at z = vacuum / 2; ``info`` goes to ``atoms.info``."""
    from ase import Atoms

    sheet = check_states(sheet)[0]
    nx, ny = sheet.shape
    cell = np.zeros((3, 3))
    cell[:2, :2] = cell_vectors(nx, ny)
    cell[2, 2] = vacuum
    xy = site_positions(nx, ny)[carbon_sites(sheet[None])[0]]
    positions = np.column_stack([xy, np.full(len(xy), vacuum / 2)])
    atoms = Atoms(symbols=["C"] * len(xy), positions=positions, cell=cell, pbc=(True, True, False))
    atoms.info.update(info or {})
    return atoms


def export_format(path: str | os.PathLike, sheets: int) -> str:
    """ASE format name for writing ``sheets`` sheets to ``path``; InputError if the suffix
    is not one of EXPORT_FORMATS or a CIF would hold more than one sheet."""
    fmt = EXPORT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"export to .xyz, .extxyz or .cif, got {Path(path).name}")
    if fmt == "cif" and sheets != 1:
        raise InputError(f"a CIF file holds one sheet, got {sheets}")
    return fmt


def write_sheets(path: str | os.PathLike, sheets: np.ndarray, infos: list[dict] | None = None):
    """Write sheets (N, nx, ny) to one extxyz file (all frames; ``infos`` per frame) or, for
    a .cif path, one CIF (a single sheet); written under a temporary name, then renamed."""
    from ase.io import write

    sheets = check_states(sheets)
    fmt = export_format(path, len(sheets))
    infos = infos or [{}] * len(sheets)
    frames = [sheet_to_atoms(s, info=i) for s, i in zip(sheets, infos, strict=True)]
    with atomic_path(path) as tmp:
        write(tmp, frames, format=fmt)
