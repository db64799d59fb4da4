"""The two crystal-structure data sets: Nb-O from OQMD and Mg-Mn-O of the
Composition-Conditioned Crystal GAN.

Files are found locally or downloaded from their origin repositories at fixed commits (see
:mod:`matinverse.io.datasets`); the local layout is ``<root>/nbo/oqmd_poscar/<entry>/<id>``
and ``<root>/mgmno/unique_sc_mgmno.npy``.

- Nb-O: 267 OQMD POSCARs (CC-BY 4.0; cite Saal et al., JOM 65, 1501 (2013) and Kirklin et
  al., npj Comput. Mater. 1, 15010 (2015)) as collected by ShuboLiu/NbO-Crystal-GAN. OQMD
  keeps several relaxation stages per entry, so only 50 of them are distinct structures.
- Mg-Mn-O: the (2627, 30, 3) training tensor of kaist-amsg/Composition-Conditioned-Crystal-GAN
  (Kim et al., ACS Cent. Sci. 6, 1412 (2020); Materials Project-derived, no licence in the
  origin repository): 1253 relaxed structures, then 1374 supercell copies. Its file names
  (a pickle at the origin) are read from the local text copy ``mgmno/
  unique_sc_mgmno_name_list.txt`` only.
"""

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

from matinverse.crystals.slots import MGMNO, layout_of
from matinverse.errors import InputError
from matinverse.io.datasets import DataFile, fetch

NBO_ORIGIN = (
    "https://raw.githubusercontent.com/ShuboLiu/NbO-Crystal-GAN/"
    "ab9f208a283fa60e70edf500c60070423313a3cc/POSCAR"
)
MGMNO_ORIGIN = (
    "https://raw.githubusercontent.com/kaist-amsg/Composition-Conditioned-Crystal-GAN/"
    "35cf6d0a51a272262d3efbd8f242381390d59c34/Composition_Conditioned_Crystal_GAN/"
    "preparing_dataset"
)
MGMNO_TENSOR = DataFile(
    "mgmno/unique_sc_mgmno.npy",
    f"{MGMNO_ORIGIN}/unique_sc_mgmno.npy",
    "c1c7ba253128eceeb911e6ff17d89f36a4a613ba82c26d609019aba7c104cbb4",
    1891568,
)
# a text copy of the origin's pickled name list: read locally only (no download, no checksum)
MGMNO_NAMES = DataFile("mgmno/unique_sc_mgmno_name_list.txt", url="", sha256="", size=0)
MGMNO_SHAPE = (2627, 30, 3)


def nbo_files() -> list[tuple[int, int, DataFile]]:
    """(entry id, structure id, POSCAR DataFile) of the 267 Nb-O structures, in the order of
    the origin's id list (package file ``nbo_poscars.csv``)."""
    text = resources.files("matinverse.crystals").joinpath("nbo_poscars.csv").read_text()
    return [
        (
            int(row["entry_id"]),
            int(row["structure_id"]),
            DataFile(
                f"nbo/oqmd_poscar/{row['entry_id']}/{row['structure_id']}",
                f"{NBO_ORIGIN}/{row['entry_id']}/{row['structure_id']}",
                row["sha256"],
                int(row["bytes"]),
            ),
        )
        for row in csv.DictReader(text.splitlines())
    ]


@dataclass
class NbOData:
    """structures (N,) as the POSCARs give them; structure_ids, entry_ids (N,) int64 (OQMD)."""

    structures: list[Structure]
    structure_ids: np.ndarray
    entry_ids: np.ndarray


def load_nbo(
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NbOData:
    """The 267 OQMD Nb-O structures."""
    files = nbo_files()
    structures = [
        Structure.from_str(fetch(f, data_dir, progress).read_text(), fmt="poscar")
        for _, _, f in files
    ]
    return NbOData(
        structures,
        np.array([s for _, s, _ in files], dtype=np.int64),
        np.array([e for e, _, _ in files], dtype=np.int64),
    )


def distinct_structures(structures: list[Structure]) -> tuple[list[int], np.ndarray]:
    """Indices of the first of each distinct structure (pymatgen StructureMatcher, default
    tolerances) and (D,) int64 how many of ``structures`` each one stands for."""
    groups = StructureMatcher().group_structures(structures)
    index = {id(s): i for i, s in enumerate(structures)}
    firsts = sorted((min(index[id(s)] for s in group), len(group)) for group in groups)
    return [i for i, _ in firsts], np.array([n for _, n in firsts], dtype=np.int64)


@dataclass
class MgMnOData:
    """tensor (N, 30, 3) float64 as stored (:data:`matinverse.crystals.slots.MGMNO`);
    structures (N,) decoded from it; names (N,) the origin's file names."""

    tensor: np.ndarray
    structures: list[Structure]
    names: list[str]


def load_mgmno(
    data_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MgMnOData:
    """The 2627 Mg-Mn-O training rows of the Composition-Conditioned Crystal GAN."""
    tensor = np.load(fetch(MGMNO_TENSOR, data_dir, progress), allow_pickle=False)
    if tensor.shape != MGMNO_SHAPE:
        raise InputError(f"{MGMNO_TENSOR.path} has shape {tensor.shape}, expected {MGMNO_SHAPE}")
    names = fetch(MGMNO_NAMES, data_dir, download=False).read_text().splitlines()
    if len(names) != len(tensor):
        raise InputError(f"{MGMNO_NAMES.path} has {len(names)} names for {len(tensor)} rows")
    return MgMnOData(tensor, [MGMNO.decode(x) for x in tensor], names)


def nbo_references(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Structure]]:
    """The 50 distinct OQMD Nb-O structures as (``oqmd-<structure id>``, Structure)."""
    data = load_nbo(data_dir)
    firsts, _ = distinct_structures(data.structures)
    return [(f"oqmd-{data.structure_ids[i]}", data.structures[i]) for i in firsts]


def mgmno_references(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Structure]]:
    """The 1,253 distinct Mg-Mn-O structures of the GAN's training tensor (its first row of
    each file name; later rows are supercell copies) as (file stem, Structure)."""
    data = load_mgmno(data_dir)
    seen, out = set(), []
    for name, structure in zip(data.names, data.structures, strict=True):
        if name not in seen:
            seen.add(name)
            out.append((Path(name).stem, structure))
    return out


def known_structures(system: str, data_dir: str | os.PathLike | None = None):
    """The known structures of a system as (name, Structure): :func:`nbo_references` or
    :func:`mgmno_references`."""
    layout_of(system)
    return nbo_references(data_dir) if system == "Nb-O" else mgmno_references(data_dir)


def training_structures(system: str, data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """(N, R, 3) encoded training structures of a system: the Mg-Mn-O tensor as published,
    or the distinct OQMD Nb-O structures that fit the slots."""
    layout = layout_of(system)
    if system == "Mg-Mn-O":
        return load_mgmno(data_dir).tensor
    fits = []
    for _, structure in nbo_references(data_dir):
        try:
            fits.append(layout.encode(structure))
        except InputError:
            continue
    return np.stack(fits)
