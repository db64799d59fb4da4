"""Cheap sanity checks of a decoded crystal before the oracle sees it."""

from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure

MIN_DISTANCE = 1.0  # A: closer atoms are unphysical (the O2 bond is 1.21 A)
DENSITY_RANGE = (1.0, 12.0)  # g/cm^3: every Nb-O and Mg-Mn-O solid lies well inside


@dataclass(frozen=True)
class Sanity:
    """Shortest interatomic distance (A, periodic images included), density (g/cm^3) and
    whether both lie in range."""

    min_distance: float
    density: float
    sane: bool


def sanity(
    structure: Structure,
    min_distance: float = MIN_DISTANCE,
    density_range: tuple[float, float] = DENSITY_RANGE,
) -> Sanity:
    if len(structure) > 1:
        distances = structure.distance_matrix + np.diag([np.inf] * len(structure))
        shortest = float(distances.min())
    else:
        shortest = np.inf
    # an atom's distance to its own periodic images is the shortest lattice vector
    shortest = min(shortest, _shortest_lattice_vector(structure))
    density = float(structure.density) if structure.volume > 0 else np.inf
    ok = shortest >= min_distance and density_range[0] <= density <= density_range[1]
    return Sanity(shortest, density, bool(ok))


def _shortest_lattice_vector(structure: Structure) -> float:
    """Length of the shortest nonzero lattice vector (A), from the LLL-reduced cell."""
    reduced = structure.lattice.get_lll_reduced_lattice()
    m = reduced.matrix
    best = np.inf
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            for k in (-1, 0, 1):
                if i or j or k:
                    best = min(best, float(np.linalg.norm(i * m[0] + j * m[1] + k * m[2])))
    return best
