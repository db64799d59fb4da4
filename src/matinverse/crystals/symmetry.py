"""Space-group symmetry imposed on a generated crystal: the decode that carries symmetry.

A slot generator samples crystals in P1, and those relax into low-symmetry minima. Here a
generated structure is projected onto a space group drawn as the database's random search
draws them (uniformly from 2-230, kept when the composition fits its Wyckoff positions):
the generated cell onto the group's lattice system (the axis order that needs the least
change, the volume kept) and the generated atoms onto the orbits of a Wyckoff assignment
of the composition (each orbit seeded by the generated atom whose orbit lies closest to
the generated atoms, the assignment the closest of a few drawn). The composition is kept
exactly.
"""

from collections.abc import Sequence
from functools import lru_cache
from itertools import permutations

import numpy as np
from pymatgen.core import Lattice, Structure
from scipy.optimize import linear_sum_assignment

from matinverse.crystals.validity import sanity

GROUP_TRIES = 20  # space groups drawn before the generated crystal is kept in P1
WYCKOFF_CHOICES = 8  # Wyckoff assignments of a group compared for their fit
_IMAGES = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])


@lru_cache(maxsize=4096)
def _wyckoff_assignments(group: int, counts: tuple[int, ...]) -> tuple:
    """The Wyckoff position indices of ``group`` per element that hold ``counts`` atoms
    (at most 2,000 assignments; empty when none)."""
    from pyxtal.symmetry import Group

    _, _, indices = Group(group).list_wyckoff_combinations(list(counts), Nmax=2000)
    return tuple(tuple(tuple(site) for site in assignment) for assignment in indices)


@lru_cache(maxsize=256)
def _group(group: int):
    from pyxtal.symmetry import Group

    return Group(group)


def _projected_lattice(parameters: np.ndarray, lattice_type: str, volume: float) -> np.ndarray:
    """(a, b, c, alpha, beta, gamma) in A and degrees made to fit ``lattice_type`` (pyxtal's
    names, standard settings: monoclinic b unique, hexagonal and trigonal on hexagonal
    axes), rescaled to ``volume`` A^3."""
    a, b, c, alpha, beta, gamma = parameters
    if lattice_type == "monoclinic":
        alpha = gamma = 90.0
    elif lattice_type == "orthorhombic":
        alpha = beta = gamma = 90.0
    elif lattice_type == "tetragonal":
        a = b = (a + b) / 2
        alpha = beta = gamma = 90.0
    elif lattice_type in ("hexagonal", "trigonal"):
        a = b = (a + b) / 2
        alpha, beta, gamma = 90.0, 90.0, 120.0
    elif lattice_type == "cubic":
        a = b = c = (a + b + c) / 3
        alpha = beta = gamma = 90.0
    lattice = Lattice.from_parameters(a, b, c, alpha, beta, gamma)
    scale = (volume / lattice.volume) ** (1 / 3)
    return np.array([a * scale, b * scale, c * scale, alpha, beta, gamma])


def _fitted_cell(reduced: Structure, lattice_type: str) -> tuple[Lattice, np.ndarray]:
    """The lattice of ``lattice_type`` closest to the (Niggli-reduced) structure's cell over
    the six axis orders, and the structure's fractional coordinates (N, 3) in that order."""
    lengths = np.array(reduced.lattice.abc)
    angles = np.array(reduced.lattice.angles)
    best = None
    for order in permutations(range(3)):
        parameters = np.concatenate([lengths[list(order)], angles[list(order)]])
        fitted = _projected_lattice(parameters, lattice_type, reduced.volume)
        change = np.sum(np.abs(fitted[:3] - parameters[:3]) / parameters[:3]) + np.sum(
            np.abs(np.radians(fitted[3:] - parameters[3:]))
        )
        if best is None or change < best[0]:
            best = (change, fitted, order)
    _, fitted, order = best
    return Lattice.from_parameters(*fitted), reduced.frac_coords[:, list(order)] % 1.0


def _on_site(wyckoff, point: np.ndarray, lattice: Lattice) -> np.ndarray:
    """The point of the Wyckoff position's first orbit member closest to ``point``
    (fractional; its orthogonal projection in fractional space, over the nearest images)."""
    operation = wyckoff.ops[0]
    rotation, translation = operation.rotation_matrix, operation.translation_vector
    u, s, _ = np.linalg.svd(rotation)
    basis = u[:, s > 1e-6]
    projector = basis @ basis.T
    images = point + _IMAGES
    projected = translation + (images - translation) @ projector.T
    distances = np.linalg.norm(lattice.get_cartesian_coords(projected - images), axis=1)
    return projected[np.argmin(distances)] % 1.0


def _orbit(wyckoff, point: np.ndarray) -> np.ndarray:
    """(multiplicity, 3) fractional coordinates of the orbit of a point on ``wyckoff``."""
    return np.asarray(wyckoff.apply_ops(point), dtype=float) % 1.0


def _placed(group, assignment, elements, coords, lattice: Lattice):
    """(cost in A, species, fractional coordinates) of a Wyckoff assignment fitted to the
    generated atoms: per element, orbits in order of falling multiplicity, each seeded by
    the unused generated atom whose orbit matches unused generated atoms best (summed
    distance of an optimal one-to-one match)."""
    cost, species, placed = 0.0, [], []
    for element, sites in zip(elements, assignment, strict=True):
        free = [k for k, e in enumerate(coords[1]) if e == element]
        for index in sorted(sites, key=lambda i: -group[i].multiplicity):
            wyckoff = group[index]
            best = None
            for seed in free:
                orbit = _orbit(wyckoff, _on_site(wyckoff, coords[0][seed], lattice))
                distances = lattice.get_all_distances(orbit, coords[0][free])
                rows, columns = linear_sum_assignment(distances)
                total = distances[rows, columns].sum()
                if best is None or total < best[0]:
                    best = (total, orbit, [free[c] for c in columns])
            total, orbit, matched = best
            cost += total
            free = [k for k in free if k not in matched]
            species += [element] * len(orbit)
            placed.append(orbit)
    return cost, species, np.concatenate(placed)


def impose_symmetry(
    structure: Structure, rng: np.random.Generator, groups: Sequence[int] = range(2, 231)
) -> tuple[Structure, int]:
    """(structure, space group number): ``structure`` projected onto a space group drawn
    uniformly from ``groups`` among those whose Wyckoff positions hold its composition, with
    the best-fitting of :data:`WYCKOFF_CHOICES` drawn assignments; a draw is kept when the
    result passes the sanity check, and after :data:`GROUP_TRIES` draws the structure is
    returned unchanged (group 1)."""
    composition = structure.composition
    elements = tuple(sorted(e.symbol for e in composition.elements))
    counts = tuple(int(composition[e]) for e in elements)
    reduced = structure.get_reduced_structure("niggli")
    symbols = [site.specie.symbol for site in reduced]
    for _ in range(GROUP_TRIES):
        number = int(rng.choice(groups))
        assignments = _wyckoff_assignments(number, counts)
        if not assignments:
            continue
        group = _group(number)
        lattice, fractional = _fitted_cell(reduced, group.lattice_type)
        picks = rng.choice(len(assignments), min(WYCKOFF_CHOICES, len(assignments)), False)
        fits = [
            _placed(group, assignments[k], elements, (fractional, symbols), lattice) for k in picks
        ]
        _, species, coords = min(fits, key=lambda fit: fit[0])
        candidate = Structure(lattice, species, coords)
        if sanity(candidate).sane:
            return candidate, number
    return structure, 1
