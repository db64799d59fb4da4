import hashlib

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from matinverse.crystals.data import (
    MGMNO_TENSOR,
    distinct_structures,
    known_structures,
    load_mgmno,
    load_nbo,
    nbo_files,
)
from matinverse.io.datasets import sha256


def test_nbo_structures_and_ids_follow_the_index(shared_data):
    data = load_nbo(shared_data)
    index = pd.read_csv(shared_data / "nbo" / "nbo_oqmd_index.csv")
    np.testing.assert_array_equal(data.structure_ids, index["structure_id"])
    np.testing.assert_array_equal(data.entry_ids, index["entry_id"])
    assert [s.composition.formula.replace(" ", "") for s in data.structures] == [
        f"Nb{nb}O{o}" for nb, o in zip(index["n_Nb"], index["n_O"], strict=True)
    ]
    firsts, counts = distinct_structures(data.structures)
    assert len(firsts) == index["match_group"].nunique() == 50 and counts.sum() == 267
    assert firsts[0] == 0 and counts[0] == (index["match_group"] == index["match_group"][0]).sum()


def test_download_checksums_match_the_shared_copy(shared_data):
    for _, _, file in nbo_files():
        assert sha256(shared_data / file.path) == file.sha256
    tensor = shared_data / MGMNO_TENSOR.path
    assert sha256(tensor) == MGMNO_TENSOR.sha256 and tensor.stat().st_size == MGMNO_TENSOR.size
    # the origin file's SHA-1 as SOURCE.md records it
    assert (
        hashlib.sha1(tensor.read_bytes()).hexdigest() == "f18a3fdf9a8f03c13791b74e63c8eccbd64dfae0"
    )


def test_mgmno_rows_names_and_compositions(shared_data):
    data = load_mgmno(shared_data)
    index = pd.read_csv(shared_data / "mgmno" / "unique_sc_mgmno_index.csv")
    assert data.tensor.shape == (2627, 30, 3) and data.names == list(index["source_name"])
    counts = [[s.composition[el] for el in ("Mg", "Mn", "O")] for s in data.structures]
    np.testing.assert_array_equal(counts, index[["n_Mg", "n_Mn", "n_O"]].to_numpy())


def test_known_mgmno_structures_are_the_rows_that_are_not_supercell_copies(shared_data):
    known = known_structures("Mg-Mn-O", shared_data)
    index = pd.read_csv(shared_data / "mgmno" / "unique_sc_mgmno_index.csv")
    originals = index[index["is_supercell_copy"] == 0]
    stems = [name.removesuffix(".vasp") for name in originals["source_name"]]
    assert len(known) == 1253 and [name for name, _ in known] == stems
    assert [s.composition.reduced_formula for _, s in known[:50]] == [
        Composition(f).reduced_formula for f in originals["formula"][:50]
    ]
