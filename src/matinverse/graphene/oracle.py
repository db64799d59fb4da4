"""Energy oracles of porous graphene sheets, in eV relative to pristine graphene.

:class:`HueckelOracle` is the built-in model: E = E_pi + 1.5 eV x N_dangling - N_C e_ref,
where E_pi is the Hueckel pi energy (hopping -2.7 eV between bonded carbons, Gamma point of
the periodic supercell, N_C electrons filling the lowest levels two by two, an odd one
singly in the next), N_dangling the sum over carbons of (3 - bonded carbons) and e_ref the
pi energy per atom of the pristine sheet of the same supercell. :class:`AseOracle` takes
any ASE calculator instead (E = E_calc - N_C e_ref, e_ref from the calculator's pristine
sheet). Both give ``energies(states) -> (N,) eV``; :func:`energy_density` turns energies
into the label, eV per square angstrom.
"""

from collections.abc import Callable

import numpy as np

from matinverse.graphene.lattice import (
    bond_matrices,
    carbon_bonds,
    carbon_sites,
    check_states,
    sheet_area,
)

HOPPING = -2.7  # eV, between bonded carbons
DANGLING_BOND = 1.5  # eV per missing carbon neighbour of a carbon


def energy_density(energies: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """Energies (N,) eV of nx x ny sheets -> (N,) eV per square angstrom."""
    return np.asarray(energies, dtype=float) / sheet_area(nx, ny)


class HueckelOracle:
    """The built-in oracle (see the module docstring). ``batch`` sheets are decomposed
    together (numpy's batched SVD)."""

    name = "hueckel"

    def __init__(self, batch: int = 64):
        self.batch = batch
        self._reference: dict[tuple[int, int], float] = {}

    def pi_energies(
        self, states: np.ndarray, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """(N, nx, ny) states -> (N,) Hueckel pi energies in eV; progress(done, N) after
        every batch.

        The lattice is bipartite (bonds join A and B only), so the levels are +-t s_k for
        the singular values s_k of the A-B bond matrix, plus zero levels. N_C electrons
        fill the r negative levels (r = the rank) two by two and put the remaining
        N_C - 2 r, one each, into the N_C - 2 r zero levels: E_pi = 2 t sum_k s_k, with no
        case for an odd electron (it sits at zero energy). A singular value decomposition
        of the (nx ny) x (nx ny) bond matrix costs an eighth of diagonalising the full
        Hamiltonian."""
        states = check_states(states)
        out = np.empty(len(states))
        for start in range(0, len(states), self.batch):
            block = bond_matrices(states[start : start + self.batch])
            singular = np.linalg.svd(block, compute_uv=False)
            out[start : start + len(block)] = 2 * HOPPING * singular.sum(1)
            if progress is not None:
                progress(start + len(block), len(states))
        return out

    def reference_energy(self, nx: int, ny: int) -> float:
        """e_ref: pi energy per atom of the pristine nx x ny sheet, eV."""
        if (nx, ny) not in self._reference:
            pristine = np.zeros((1, nx, ny), np.uint8)
            self._reference[(nx, ny)] = float(self.pi_energies(pristine)[0]) / (2 * nx * ny)
        return self._reference[(nx, ny)]

    def energies(
        self, states: np.ndarray, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """(N, nx, ny) states -> (N,) energies in eV relative to pristine graphene;
        progress(done, N) after every batch."""
        states = check_states(states)
        _, nx, ny = states.shape
        carbons = carbon_sites(states).sum(1)
        # each carbon-carbon bond removes one dangling bond from both of its carbons
        dangling = 3 * carbons - 2 * carbon_bonds(states).sum(1)
        return (
            self.pi_energies(states, progress)
            + DANGLING_BOND * dangling
            - carbons * self.reference_energy(nx, ny)
        )


class AseOracle:
    """Any ASE calculator as the oracle: E = E_calc(sheet) - N_C e_ref, with e_ref the
    calculator's energy per atom of the pristine sheet of the same supercell.
    ``calculator_factory`` returns a fresh calculator (some keep state between systems)."""

    name = "ase"

    def __init__(self, calculator_factory: Callable[[], object], vacuum: float = 15.0):
        self.calculator_factory = calculator_factory
        self.vacuum = vacuum
        self._reference: dict[tuple[int, int], float] = {}

    def _energy(self, sheet: np.ndarray) -> float:
        from matinverse.graphene.atoms import sheet_to_atoms

        atoms = sheet_to_atoms(sheet, self.vacuum)
        atoms.calc = self.calculator_factory()
        return float(atoms.get_potential_energy())

    def reference_energy(self, nx: int, ny: int) -> float:
        if (nx, ny) not in self._reference:
            pristine = np.zeros((nx, ny), np.uint8)
            self._reference[(nx, ny)] = self._energy(pristine) / (2 * nx * ny)
        return self._reference[(nx, ny)]

    def energies(self, states: np.ndarray) -> np.ndarray:
        states = check_states(states)
        _, nx, ny = states.shape
        reference = self.reference_energy(nx, ny)
        counts = carbon_sites(states).sum(1)
        return np.array(
            [
                self._energy(sheet) - count * reference
                for sheet, count in zip(states, counts, strict=True)
            ]
        )
