import numpy as np
import pytest
from ase.io import read
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from matinverse.crystals.data import load_mgmno, load_nbo
from matinverse.crystals.slots import (
    MGMNO,
    NBO,
    occupied,
    permute_axes,
    permute_slots,
    translate,
)
from matinverse.errors import InputError


@pytest.fixture(scope="module")
def mgmno(shared_data):
    return load_mgmno(shared_data)


def sorted_slots(x, layout):
    """Each element's slot rows in lexicographic order (of values rounded to 1e-9), cell rows
    first."""
    keys = np.round(x, 9)
    parts = [x[:2]] + [x[r][np.lexsort(keys[r].T[::-1])] for r in layout.element_rows()]
    return np.concatenate(parts)


def test_decoding_the_tensor_gives_the_shipped_extxyz(mgmno, shared_data):
    frames = read(shared_data / "mgmno" / "unique_sc_mgmno_decoded.extxyz", index=":")
    assert len(frames) == len(mgmno.structures) == 2627
    for atoms, structure in zip(frames, mgmno.structures, strict=True):
        assert atoms.get_chemical_symbols() == [site.specie.symbol for site in structure]
        np.testing.assert_allclose(structure.lattice.matrix, atoms.cell.array, atol=1e-6)
        delta = structure.lattice.get_fractional_coords(atoms.positions) - structure.frac_coords
        delta -= np.round(delta)
        assert np.abs(structure.lattice.get_cartesian_coords(delta)).max() < 1e-6


def test_encode_inverts_decode_on_every_row(mgmno):
    for x, structure in zip(mgmno.tensor, mgmno.structures, strict=True):
        again = MGMNO.encode(structure)
        np.testing.assert_allclose(sorted_slots(again, MGMNO), sorted_slots(x, MGMNO), atol=1e-12)


def test_the_nbo_layout_holds_oqmd_up_to_24_atoms(shared_data):
    data = load_nbo(shared_data)
    small = [s for s in data.structures if len(s) <= 24]
    assert len(small) == 258
    for structure in small:
        back = NBO.decode(NBO.encode(structure))
        assert back.composition == structure.composition
        np.testing.assert_allclose(back.lattice.parameters, structure.lattice.parameters)
        delta = back.frac_coords - structure.frac_coords
        np.testing.assert_allclose(delta - np.round(delta), 0, atol=1e-9)
    with pytest.raises(InputError, match="holds at most 8"):
        NBO.encode(next(s for s in data.structures if len(s) == 56))


def test_compositions_that_do_not_fit_are_refused():
    with pytest.raises(InputError, match="Mg not in system Nb-O"):
        NBO.check("MgNbO3")
    with pytest.raises(InputError, match="13 O atoms"):
        MGMNO.check("Mg4Mn4O13")
    assert MGMNO.check("Mg4Mn4O12").num_atoms == 20
    cell = Structure(Lattice.cubic(4.0), ["Fe", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(InputError, match="Fe"):
        MGMNO.encode(cell)
    with pytest.raises(InputError, match=r"\(30, 3\)"):
        MGMNO.decode(np.zeros((26, 3)))


def distances(structure):
    return np.sort(structure.distance_matrix, axis=None)


@pytest.mark.parametrize("augment", ["translate", "permute_slots", "permute_axes"])
def test_augmentation_keeps_the_structure(mgmno, augment):
    rng = np.random.default_rng(0)
    rows = rng.choice(len(mgmno.tensor), 24, replace=False)
    x = mgmno.tensor[rows]
    moved = {
        "translate": lambda: translate(x, rng),
        "permute_slots": lambda: permute_slots(x, MGMNO, rng),
        "permute_axes": lambda: permute_axes(x, rng),
    }[augment]()
    assert not np.allclose(moved, x)
    np.testing.assert_array_equal(occupied(moved[:, 2:]).sum(1), occupied(x[:, 2:]).sum(1))
    matcher = StructureMatcher()
    for before, after in zip(x, moved, strict=True):
        a, b = MGMNO.decode(before), MGMNO.decode(after)
        assert a.composition == b.composition
        np.testing.assert_allclose(distances(a), distances(b), atol=1e-8)
        if augment != "permute_axes":  # an odd axis permutation mirrors a chiral crystal
            assert matcher.fit(a, b)
