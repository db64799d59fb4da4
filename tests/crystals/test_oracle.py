import itertools

import numpy as np
import pytest
from pymatgen.core import Composition, Lattice, Structure

from matinverse.crystals import oracle
from matinverse.errors import InputError


def slow_hull(x, e):
    """Binary A(1-x)B(x): energy above the lower hull by brute force over every pair of
    points that brackets x (and the point itself)."""
    out = []
    for xi, ei in zip(x, e, strict=True):
        best = ei
        for (xa, ea), (xb, eb) in itertools.product(zip(x, e, strict=True), repeat=2):
            if xa <= xi <= xb and xa < xb:
                best = min(best, ea + (eb - ea) * (xi - xa) / (xb - xa))
        out.append(ei - best)
    return np.array(out)


def test_hull_matches_a_brute_force_lower_hull():
    rng = np.random.default_rng(0)
    counts = [(4, 0), (0, 4)] + [tuple(int(v) for v in rng.integers(1, 9, 2)) for _ in range(40)]
    compositions = [Composition({"Nb": a, "O": b}) for a, b in counts]
    x = np.array([c.get_atomic_fraction("O") for c in compositions])
    e = -2.0 * x * (1 - x) + rng.normal(0, 0.15, len(x))
    e[:2] = 0.0
    got = oracle.energies_above_hull(compositions, e)
    np.testing.assert_allclose(got, slow_hull(x, e), atol=1e-9)
    assert got.min() >= -1e-9 and np.isclose(got[:2], 0).all()


def test_hull_needs_elemental_references():
    with pytest.raises(InputError, match="elemental reference for O"):
        oracle.energies_above_hull(["Nb", "NbO"], [0.0, -1.0])


def bcc(a, element="Nb"):
    return Structure(Lattice.cubic(a), [element] * 2, [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_energy_is_invariant_under_supercells_rotations_and_translations():
    s = Structure(Lattice.from_parameters(3.1, 3.4, 4.2, 80, 95, 100), ["Nb", "O", "O"],
                  [[0, 0, 0], [0.3, 0.5, 0.1], [0.7, 0.2, 0.6]])  # fmt: skip
    e = oracle.energy_per_atom(s)
    moved = s.copy()
    moved.translate_sites(range(len(s)), [0.37, -0.21, 0.05])
    supercell = s * (2, 1, 1)
    atoms = s.to_ase_atoms()
    atoms.rotate(37, "z", rotate_cell=True)
    for other in (moved, supercell, atoms):
        assert oracle.energy_per_atom(other) == pytest.approx(e, abs=1e-4)


def test_relaxation_lowers_the_energy_and_ends_force_free_at_the_right_lattice():
    start = bcc(3.6)
    result = oracle.relax(start, fmax=0.01)
    assert result.converged and result.steps > 0
    assert result.energy_per_atom < oracle.energy_per_atom(start)
    assert result.structure.lattice.abc == pytest.approx([3.31] * 3, abs=0.05)  # expt 3.30 A
    atoms = result.structure.to_ase_atoms()
    atoms.calc = oracle.chgnet_calculator()
    assert np.abs(atoms.get_forces()).max() < 0.01


def test_a_rattle_takes_a_symmetric_saddle_to_a_minimum_and_leaves_a_minimum_alone():
    from ase.build import bulk
    from ase.calculators.lj import LennardJones

    lj = LennardJones(sigma=1.0, epsilon=1.0, rc=2.5, smooth=True)
    # simple cubic is a stationary point of any pair potential by symmetry, not a minimum
    cubic = bulk("Ar", "sc", a=1.12, cubic=True) * (2, 2, 2)
    plain = oracle.relax(cubic, lj)
    assert plain.converged and plain.structure.lattice.abc == pytest.approx([2.2] * 3, abs=0.1)
    escaped = oracle.relax_to_minimum(cubic, lj)
    assert escaped.converged and escaped.rattles >= 1
    # close packing: about -7.6 epsilon per atom for this cutoff, against -4.9 for cubic
    assert escaped.energy_per_atom < plain.energy_per_atom - 2.0
    assert escaped.steps > plain.steps
    fcc = bulk("Ar", "fcc", a=1.55, cubic=True)
    kept = oracle.relax_to_minimum(fcc, lj, rounds=2)
    assert kept.rattles == 0 and kept.energy_per_atom == pytest.approx(
        oracle.relax(fcc, lj).energy_per_atom, abs=1e-9
    )  # the rattled relaxation found nothing lower, so the first one stands
    assert oracle.relax_to_minimum(cubic, lj, rattle=0).energy_per_atom == plain.energy_per_atom


def test_basin_hops_keep_trying_and_find_a_deeper_minimum_of_a_disordered_cell():
    from ase import Atoms
    from ase.build import bulk
    from ase.calculators.lj import LennardJones

    lj = LennardJones(sigma=1.0, epsilon=1.0, rc=2.5, smooth=True)
    rng = np.random.default_rng(1)
    glass = Atoms("Ar12", cell=np.eye(3) * 2.5, scaled_positions=rng.random((12, 3)), pbc=True)
    plain = oracle.relax(glass, lj, cell=False)  # a disordered local minimum in a fixed box
    hopped = oracle.relax_to_minimum(
        glass, lj, cell=False, rattle=0.3, rounds=6, patience=6, seed=0
    )
    assert hopped.converged and hopped.rattles >= 1
    assert hopped.energy_per_atom < plain.energy_per_atom - 0.05  # epsilon per atom
    atoms = hopped.structure.to_ase_atoms()
    atoms.calc = lj
    assert atoms.get_potential_energy() / len(atoms) == pytest.approx(hopped.energy_per_atom)
    # at a minimum that no hop improves, patience decides how many hops are tried
    fcc = bulk("Ar", "fcc", a=1.55, cubic=True)
    once = oracle.relax_to_minimum(fcc, lj, rattle=0.05, rounds=3, patience=1)
    thrice = oracle.relax_to_minimum(fcc, lj, rattle=0.05, rounds=3, patience=3)
    assert once.rattles == thrice.rattles == 0 and thrice.steps > once.steps


def test_phonons_tell_bcc_niobium_stable_and_simple_cubic_unstable():
    stable = oracle.phonon_check(oracle.relax(bcc(3.31)).structure)
    assert stable.stable and abs(stable.min_frequency) < 1e-3  # acoustic modes at Gamma
    assert stable.supercell == (3, 3, 3) and stable.mesh == oracle.PHONON_MESH
    simple = Structure(Lattice.cubic(2.71), ["Nb"], [[0, 0, 0]])
    unstable = oracle.phonon_check(oracle.relax(simple).structure)
    assert not unstable.stable and unstable.min_frequency < -1.0


def test_a_cation_exchange_swaps_two_unlike_metals_and_nothing_else():
    atoms = Structure(
        Lattice.cubic(4.2), ["Mg", "Mn", "Mn", "O", "O", "O"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]],
    ).to_ase_atoms()  # fmt: skip
    start = atoms.positions.copy()
    assert oracle.exchange_cations(atoms, np.random.default_rng(0))
    moved = np.flatnonzero(np.abs(atoms.positions - start).sum(1) > 0)
    assert len(moved) == 2 and {atoms.get_chemical_symbols()[i] for i in moved} == {"Mg", "Mn"}
    np.testing.assert_array_equal(atoms.positions[moved], start[moved[::-1]])
    niobia = Structure(Lattice.cubic(4.2), ["Nb", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    atoms = niobia.to_ase_atoms()
    assert not oracle.exchange_cations(atoms, np.random.default_rng(0))
    np.testing.assert_array_equal(atoms.positions, niobia.cart_coords)


def test_hops_with_exchanges_reach_the_ordered_alloy_that_displacements_cannot():
    from ase.build import bulk
    from ase.calculators.emt import EMT

    box = bulk("Cu", "fcc", a=3.7, cubic=True) * (2, 1, 1)  # 8 sites in a fixed box

    def alloy(gold):
        atoms = box.copy()
        atoms.set_chemical_symbols(["Au" if i in gold else "Cu" for i in range(len(atoms))])
        return atoms

    # slow reference: every placement of the two Au atoms, relaxed
    energies = {
        pair: oracle.relax(alloy(pair), EMT(), cell=False).energy_per_atom
        for pair in itertools.combinations(range(len(box)), 2)
    }
    worst = max(energies, key=energies.get)  # Au-Au rows, the segregated arrangement
    levels = sorted(set(np.round(list(energies.values()), 4)))
    assert len(levels) >= 3
    plain = oracle.relax_to_minimum(
        alloy(worst), EMT(), cell=False, rattle=0.05, rounds=4, patience=4, seed=0
    )
    assert plain.energy_per_atom == pytest.approx(energies[worst], abs=1e-4)
    swapped = oracle.relax_to_minimum(
        alloy(worst), EMT(), cell=False, rattle=0.05, rounds=6, patience=6, seed=0, exchange=1.0
    )
    assert swapped.converged and swapped.rattles >= 1
    assert swapped.energy_per_atom <= levels[1] + 1e-3 < levels[2]  # one of the two most ordered
    assert swapped.structure.composition == plain.structure.composition
