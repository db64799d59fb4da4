"""Space-group symmetry imposed on a generated crystal: the decode that carries symmetry.

A slot generator samples crystals in P1, and those relax into low-symmetry minima. Here a
generated structure is projected onto a space group drawn as the database's random search
draws them (uniformly among those of 2-230 whose Wyckoff positions hold the composition):
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
ASSIGNMENT_TRIES = 100  # random walks through the Wyckoff positions before a group is redrawn
_IMAGES = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])


@lru_cache(maxsize=256)
def _group(group: int):
    from pyxtal.symmetry import Group

    return Group(group)


@lru_cache(maxsize=1024)
def _compatible_groups(counts: tuple[int, ...], groups: tuple[int, ...]) -> tuple[int, ...]:
    """Those of ``groups`` whose Wyckoff positions can hold ``counts`` atoms (pyxtal's check)."""
    return tuple(g for g in groups if _group(g).check_compatible(list(counts))[0])


def _draw_assignment(group, counts: tuple[int, ...], rng: np.random.Generator):
    """Wyckoff position indices of ``group`` per element holding ``counts`` atoms, drawn by
    filling each element's count with positions chosen uniformly among those that still
    fit (a position without free parameters at most once in all); None when
    :data:`ASSIGNMENT_TRIES` walks all dead-end."""
    free = [wp.get_dof() > 0 for wp in group]
    multiplicity = [wp.multiplicity for wp in group]
    for _ in range(ASSIGNMENT_TRIES):
        taken, assignment = set(), []
        for count in counts:
            sites = []
            while count > 0:
                options = [
                    i
                    for i in range(len(multiplicity))
                    if multiplicity[i] <= count and (free[i] or i not in taken)
                ]
                if not options:
                    break
                i = int(rng.choice(options))
                sites.append(i)
                count -= multiplicity[i]
                if not free[i]:
                    taken.add(i)
            if count > 0:
                break
            assignment.append(tuple(sites))
        else:
            return tuple(assignment)
    return None


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
    uniformly from those of ``groups`` whose Wyckoff positions hold its composition, with
    the best-fitting of :data:`WYCKOFF_CHOICES` drawn assignments; a draw is kept when the
    result passes the sanity check, and after :data:`GROUP_TRIES` draws (or when no group
    holds the composition) the structure is returned unchanged (group 1)."""
    composition = structure.composition
    elements = tuple(sorted(e.symbol for e in composition.elements))
    counts = tuple(int(composition[e]) for e in elements)
    reduced = structure.get_reduced_structure("niggli")
    symbols = [site.specie.symbol for site in reduced]
    compatible = _compatible_groups(counts, tuple(groups))
    for _ in range(GROUP_TRIES if compatible else 0):
        number = int(rng.choice(compatible))
        group = _group(number)
        assignments = {_draw_assignment(group, counts, rng) for _ in range(WYCKOFF_CHOICES)}
        assignments.discard(None)
        if not assignments:
            continue
        lattice, fractional = _fitted_cell(reduced, group.lattice_type)
        fits = [
            _placed(group, assignment, elements, (fractional, symbols), lattice)
            for assignment in sorted(assignments)
        ]
        _, species, coords = min(fits, key=lambda fit: fit[0])
        candidate = Structure(lattice, species, coords)
        if sanity(candidate).sane:
            return candidate, number
    return structure, 1
