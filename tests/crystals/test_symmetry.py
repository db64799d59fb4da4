"""The symmetry-carrying decode: a generated crystal projected onto a drawn space group."""

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from pyxtal.symmetry import Group

from matinverse.crystals import design, symmetry
from matinverse.crystals.validity import sanity


def _is_invariant(structure: Structure, group: int, tolerance: float = 1e-4) -> bool:
    """Slow reference: every operation of the group's general position maps every site onto
    a site of the same element (fractional coordinates of the standard setting)."""
    frac = structure.frac_coords
    species = [site.specie.symbol for site in structure]
    for operation in Group(group)[0].ops:
        images = frac @ operation.rotation_matrix.T + operation.translation_vector
        distances = structure.lattice.get_all_distances(images, frac)
        for k, row in enumerate(distances):
            if not any(d < tolerance and species[j] == species[k] for j, d in enumerate(row)):
                return False
    return True


@pytest.fixture(scope="module")
def generated_nbo():
    """Decoded samples of the shipped Nb-O generator (P1), three compositions."""
    g = design.load_generator("Nb-O")
    return [
        c.generated
        for composition in ("Nb3O3", "Nb2O4", "Nb4O10")
        for c in design.generate_crystals(g, composition, 6, seed=1, relax=False)
    ]


def test_the_imposed_group_is_a_symmetry_and_the_composition_is_kept(generated_nbo):
    rng = np.random.default_rng(0)
    groups = []
    for structure in generated_nbo:
        symmetric, group = symmetry.impose_symmetry(structure, rng)
        groups.append(group)
        assert symmetric.composition == structure.composition
        if group > 1:
            assert sanity(symmetric).sane and _is_invariant(symmetric, group)
            assert symmetric.volume == pytest.approx(structure.volume, rel=1e-9)
    assert sum(g > 1 for g in groups) >= len(groups) // 2 and len(set(groups)) > 3


def test_a_distorted_symmetric_crystal_projects_back_onto_itself():
    """NbO's vacancy-ordered rock salt (Pm-3m, Nb on 3c, O on 3d), strained and rattled by
    0.1 A, comes back as the ideal crystal when its own group is drawn."""
    ideal = Structure.from_spacegroup(
        "Pm-3m", Lattice.cubic(4.21), ["Nb", "O"], [[0, 0.5, 0.5], [0.5, 0, 0]]
    )
    rng = np.random.default_rng(3)
    distorted = Structure(
        Lattice.from_parameters(4.3, 4.15, 4.2, 91.0, 89.0, 90.5),
        ideal.species,
        ideal.frac_coords + rng.normal(0, 0.1 / 4.21, (6, 3)),
    )
    assert not _is_invariant(distorted, 221)
    symmetric, group = symmetry.impose_symmetry(distorted, rng, groups=[221])
    assert group == 221 and _is_invariant(symmetric, 221)
    assert StructureMatcher(ltol=0.01, stol=0.01, angle_tol=0.1).fit(symmetric, ideal)


@pytest.mark.parametrize(
    "lattice_type, lengths, angles",
    [
        ("monoclinic", None, (90, None, 90)),
        ("orthorhombic", None, (90, 90, 90)),
        ("tetragonal", "aab", (90, 90, 90)),
        ("hexagonal", "aab", (90, 90, 120)),
        ("cubic", "aaa", (90, 90, 90)),
    ],
)
def test_the_cell_is_made_to_fit_the_lattice_system_at_the_same_volume(
    lattice_type, lengths, angles
):
    parameters = np.array([4.1, 4.4, 6.0, 93.0, 97.0, 88.0])
    volume = Lattice.from_parameters(*parameters).volume
    fitted = symmetry._projected_lattice(parameters, lattice_type, volume)
    assert Lattice.from_parameters(*fitted).volume == pytest.approx(volume)
    for value, expected in zip(fitted[3:], angles, strict=True):
        assert expected is None or value == pytest.approx(expected)
    if lengths:
        same = [fitted[i] for i, letter in enumerate(lengths) if letter == "a"]
        assert max(same) == pytest.approx(min(same))


def test_a_composition_no_drawn_group_holds_is_kept_in_p1():
    """Fm-3m's smallest orbit holds 4 atoms, so 3 Nb and 3 O fit none of its positions."""
    structure = Structure(
        Lattice.cubic(4.2), ["Nb"] * 3 + ["O"] * 3, np.random.default_rng(0).random((6, 3))
    )
    kept, group = symmetry.impose_symmetry(structure, np.random.default_rng(0), groups=[225])
    assert group == 1 and kept is structure


def test_generate_with_symmetry_records_the_group_and_repeats_for_a_seed(run, tmp_path):
    g = design.load_generator("Nb-O")
    first, again = (
        design.generate_crystals(g, "Nb2O4", 4, seed=2, relax=False, symmetry=True)
        for _ in range(2)
    )
    assert [c.row["spacegroup"] for c in first] == [c.row["spacegroup"] for c in again]
    assert all(c.structure.composition.formula == "Nb2 O4" for c in first)
    assert all(
        StructureMatcher().fit(a.structure, b.structure) for a, b in zip(first, again, strict=True)
    )
    plain = design.generate_crystals(g, "Nb2O4", 4, seed=2, relax=False)
    assert all(c.row["spacegroup"] is None for c in plain)
    result = run("crystals", "generate", "--out", tmp_path / "g", "--system", "Nb-O",
                 "--composition", "Nb2O4", "--n", "3", "--no-relax", "--symmetry")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "g" / "summary.csv").read_text().splitlines()) == 4
