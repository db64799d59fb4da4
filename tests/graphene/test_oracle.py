"""The porous-graphene lattice and the Hueckel + dangling-bond oracle, against geometry, a
slow reference built from ASE's neighbour list, symmetries and the issue's sanity figure."""

import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.graphene.atoms import sheet_to_atoms
from matinverse.graphene.lattice import (
    bonds,
    carbon_sites,
    check_states,
    sheet_area,
    site_positions,
)
from matinverse.graphene.oracle import AseOracle, HueckelOracle, energy_density


def reference_levels(sheet: np.ndarray):
    """Ascending levels of the dense Hueckel Hamiltonian of one sheet, the slow way: bonds
    from ASE's neighbour list on the exported atoms (cutoff between the 1.42 and 2.46
    angstrom neighbour shells); and the neighbour list's first indices."""
    from ase.neighborlist import neighbor_list

    atoms = sheet_to_atoms(sheet)
    first, second = neighbor_list("ij", atoms, 1.8)
    h = np.zeros((len(atoms), len(atoms)))
    for i, j in zip(first, second, strict=True):
        h[i, j] += -2.7
    return np.sort(np.linalg.eigvalsh(h)), first


def reference_energy(sheet: np.ndarray, e_ref: float | None = None) -> tuple[float, float]:
    """(E_pi, E) of one sheet from :func:`reference_levels` by explicit filling."""
    levels, first = reference_levels(sheet)
    n = len(levels)
    e_pi, electrons = 0.0, n
    for level in levels:
        if electrons <= 0:
            break
        take = min(2, electrons)
        e_pi += take * level
        electrons -= take
    dangling = sum(3 - np.count_nonzero(first == i) for i in range(n))
    if e_ref is None:
        return e_pi, float("nan")
    return e_pi, e_pi + 1.5 * dangling - n * e_ref


def test_every_bond_is_a_nearest_neighbour_pair_and_every_site_has_three():
    nx, ny = 5, 4
    pairs = bonds(nx, ny)
    positions = site_positions(nx, ny)
    cell = np.array([[nx * 2.46, 0], [ny * 1.23, ny * 2.46 * np.sqrt(3) / 2]])
    delta = positions[pairs[:, 1]] - positions[pairs[:, 0]]
    images = np.array([[i, j] for i in (-1, 0, 1) for j in (-1, 0, 1)]) @ cell
    length = np.linalg.norm(delta[:, None] + images[None], axis=-1).min(1)
    np.testing.assert_allclose(length, 2.46 / np.sqrt(3), rtol=1e-12)
    assert np.array_equal(
        np.bincount(pairs.ravel(), minlength=2 * nx * ny), np.full(2 * nx * ny, 3)
    )
    assert sheet_area(nx, ny) == pytest.approx(abs(np.linalg.det(cell)))


@pytest.mark.parametrize("shape", [(3, 4), (4, 4), (5, 3)])
def test_oracle_matches_the_slow_reference(shape):
    rng = np.random.default_rng(sum(shape))
    sheets = rng.choice(4, size=(6, *shape), p=[0.6, 0.15, 0.15, 0.1]).astype(np.uint8)
    oracle = HueckelOracle(batch=4)
    e_ref = reference_energy(np.zeros(shape, np.uint8))[0] / (2 * shape[0] * shape[1])
    assert oracle.reference_energy(*shape) == pytest.approx(e_ref, abs=1e-10)
    # odd electron counts (one electron singly in a level) are among them
    assert (carbon_sites(sheets).sum(1) % 2 == 1).any()
    pi = oracle.pi_energies(sheets)
    energies = oracle.energies(sheets)
    for sheet, p, e in zip(sheets, pi, energies, strict=True):
        want_pi, want = reference_energy(sheet, e_ref)
        assert p == pytest.approx(want_pi, abs=1e-8)
        assert e == pytest.approx(want, abs=1e-8)


def test_pristine_is_zero_and_a_vacancy_costs_the_issue_figure():
    oracle = HueckelOracle()
    sheets = np.zeros((4, 14, 16), np.uint8)
    sheets[1, 3, 4] = 1  # B removed: single vacancy
    sheets[2, 3, 4] = 2  # A removed: the other sublattice, same energy
    sheets[3, 3, 4] = 3  # divacancy
    energies = oracle.energies(sheets)
    assert energies[0] == pytest.approx(0, abs=1e-9)
    assert energies[1] == pytest.approx(7.7, abs=0.05)  # DFT: about 7.5-7.8 eV
    assert energies[2] == pytest.approx(energies[1], abs=1e-9)
    # divacancy: 4 dangling bonds (6 eV) instead of two vacancies' 6 (9 eV)
    assert 6 < energies[3] < 2 * energies[1]
    # graphene's pi energy per electron: -1.575 |t| in the large-sheet limit
    assert oracle.reference_energy(14, 16) == pytest.approx(-1.5746 * 2.7, rel=2e-3)
    np.testing.assert_allclose(energy_density(energies, 14, 16), energies / sheet_area(14, 16))


def test_energy_is_invariant_under_translation_and_inversion():
    rng = np.random.default_rng(1)
    sheet = rng.choice(4, size=(6, 7), p=[0.7, 0.1, 0.1, 0.1]).astype(np.uint8)
    # inversion through a bond centre maps A(i, j) to B(-i, -j): states 1 and 2 swap
    inverted = np.roll(sheet[::-1, ::-1], 1, axis=(0, 1))
    inverted = np.choose(inverted, [0, 2, 1, 3]).astype(np.uint8)
    variants = np.stack([sheet, np.roll(sheet, 2, 0), np.roll(sheet, -3, 1), inverted])
    energies = HueckelOracle().energies(variants)
    np.testing.assert_allclose(energies, energies[0], atol=1e-9)


def test_any_ase_calculator_can_be_the_oracle():
    from ase.calculators.lj import LennardJones

    sigma = 1.42 / 2 ** (1 / 6)  # pair minimum at the bond length
    oracle = AseOracle(lambda: LennardJones(sigma=sigma, epsilon=1.0, rc=3.0))
    sheets = np.zeros((2, 4, 4), np.uint8)
    sheets[1, 1, 1] = 1
    energies = oracle.energies(sheets)
    assert energies[0] == pytest.approx(0, abs=1e-9) and energies[1] > 0.5


@pytest.mark.parametrize(
    "states, message",
    [
        (np.zeros((2, 3, 4, 5)), "(N, nx, ny)"),
        (np.full((1, 3, 3), 4), "0..3"),
        (np.full((1, 3, 3), 0.5), "integers"),
        (np.zeros((0, 3, 3)), "(N, nx, ny)"),
    ],
)
def test_bad_sheets_are_refused(states, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_states(states)


def test_analysis_counts_holes_coordination_and_levels():
    from matinverse.graphene.analysis import hole_sizes, hueckel_levels, undercoordinated_fraction

    sheets = np.zeros((3, 6, 6), np.uint8)
    sheets[1, 2, 2] = 3  # one divacancy: a hole of 2 atoms
    sheets[2, 0, 0] = 1  # a single vacancy (B) ...
    sheets[2, 3, 3] = 2  # ... and another (A) far from it
    sizes = hole_sizes(sheets)
    assert [sorted(s.tolist()) for s in sizes] == [[], [2], [1, 1]]
    under = undercoordinated_fraction(sheets)
    np.testing.assert_allclose(under, [0, 4 / 70, 6 / 70])
    # levels: N_C of them, symmetric about 0 (bipartite), filling them gives E_pi
    levels = hueckel_levels(sheets[2])
    assert len(levels) == 70 and np.allclose(levels, -levels[::-1])
    pi = HueckelOracle().pi_energies(sheets[2:])[0]
    occupied = np.clip(70 - 2 * np.arange(70), 0, 2)
    assert (occupied * levels).sum() == pytest.approx(pi, abs=1e-8)
    # the same levels as the full Hamiltonian of the slow reference
    np.testing.assert_allclose(levels, reference_levels(sheets[2])[0], atol=1e-9)


@pytest.mark.parametrize("shape", [(1, 5), (2, 3), (7, 8)])
def test_coordination_counts_the_bond_matrix(shape):
    """Carbon neighbours per site = the bond matrix's row (A) and column (B) sums, also for
    sheets 1 or 2 cells wide, where a bond to a periodic image repeats."""
    from matinverse.graphene.analysis import coordination
    from matinverse.graphene.lattice import bond_matrices, carbon_sites

    sheets = np.random.default_rng(0).integers(0, 4, (5, *shape)).astype(np.uint8)
    block = bond_matrices(sheets)
    count = coordination(sheets)
    np.testing.assert_array_equal(count[:, 0::2], block.sum(2))
    np.testing.assert_array_equal(count[:, 1::2], block.sum(1))
    assert np.all(count[~carbon_sites(sheets)] == 0)
    assert np.all(coordination(np.zeros((1, 4, 4), np.uint8)) == 3)
