"""The fixed-slot crystal representation of the Composition-Conditioned Crystal GAN (Kim et
al., ACS Cent. Sci. 6, 1412 (2020)), and augmentation by its invariances.

A structure is an (R, 3) array: row 0 holds the lattice lengths a, b, c divided by
``LENGTH_SCALE`` (30 angstrom), row 1 the angles alpha, beta, gamma divided by 180 degrees,
then one row per slot, grouped by element in the layout's order. An occupied slot holds a
fractional coordinate f in [0, 1) mapped into a 15 angstrom box, u = (10 f + 2.5) / 15, so
u lies in [1/6, 5/6]; an empty slot is 0. A slot is occupied when its row sums to more than
0.4. The cell is rebuilt with a along x and b in the xy plane (ASE's ``cellpar_to_cell``).

Layouts: Mg-Mn-O is the published tensor's (8 Mg, 8 Mn, 12 O slots: 30 rows); Nb-O has 8 Nb
and 16 O slots (26 rows), which hold every OQMD Nb-O structure of up to 24 atoms (258 of
the 267; the 9 left out are Nb2O5 cells of 28 and 56 atoms).
"""

from dataclasses import dataclass

import numpy as np
from ase.geometry import cellpar_to_cell
from pymatgen.core import Composition, Lattice, Structure

from matinverse.errors import InputError

LENGTH_SCALE = 30.0  # angstrom
ANGLE_SCALE = 180.0  # degrees
OCCUPIED_ROW_SUM = 0.4


@dataclass(frozen=True)
class SlotLayout:
    """``elements`` of a chemical system and how many ``slots`` each has."""

    elements: tuple[str, ...]
    slots: tuple[int, ...]

    @property
    def rows(self) -> int:
        """Rows of an encoded structure: 2 cell rows plus one per slot."""
        return 2 + sum(self.slots)

    def element_rows(self) -> list[slice]:
        """The row range of each element's slots, in ``elements`` order."""
        ends = 2 + np.cumsum(self.slots)
        return [slice(end - n, end) for end, n in zip(ends, self.slots, strict=True)]

    def check(self, composition: Composition | str) -> Composition:
        """``composition`` as a Composition; InputError when it holds an element outside the
        system or more atoms of an element than its slots hold."""
        composition = Composition(composition)
        system = "-".join(self.elements)
        outside = sorted({el.symbol for el in composition} - set(self.elements))
        if outside:
            raise InputError(f"{composition.formula}: {', '.join(outside)} not in system {system}")
        for element, n in zip(self.elements, self.slots, strict=True):
            if composition[element] > n:
                raise InputError(
                    f"{composition.formula}: {composition[element]:g} {element} atoms, but the "
                    f"{system} layout holds at most {n}"
                )
        return composition

    def encode(self, structure: Structure) -> np.ndarray:
        """(rows, 3) float64 of ``structure`` (sites of an element fill its slots in site
        order). InputError when the composition does not fit (:meth:`check`)."""
        self.check(structure.composition)
        x = np.zeros((self.rows, 3))
        lattice = structure.lattice
        x[0] = np.array(lattice.abc) / LENGTH_SCALE
        x[1] = np.array(lattice.angles) / ANGLE_SCALE
        species = np.array([site.specie.symbol for site in structure])
        frac = np.mod(structure.frac_coords, 1.0)
        for element, rows in zip(self.elements, self.element_rows(), strict=True):
            f = frac[species == element]
            x[rows.start : rows.start + len(f)] = (10 * f + 2.5) / 15
        return x

    def decode(self, x: np.ndarray) -> Structure:
        """The Structure of one (rows, 3) array (inverse of :meth:`encode`)."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.rows, 3):
            raise InputError(f"expected a ({self.rows}, 3) array, got {x.shape}")
        cell = cellpar_to_cell(np.concatenate([x[0] * LENGTH_SCALE, x[1] * ANGLE_SCALE]))
        species, coords = [], []
        for element, rows in zip(self.elements, self.element_rows(), strict=True):
            u = x[rows][occupied(x[rows])]
            species += [element] * len(u)
            coords.append(1.5 * u - 0.25)
        return Structure(Lattice(cell), species, np.concatenate(coords))


def occupied(slots: np.ndarray) -> np.ndarray:
    """(..., S) bool: slot rows (..., S, 3) that hold an atom."""
    return slots.sum(-1) > OCCUPIED_ROW_SUM


MGMNO = SlotLayout(("Mg", "Mn", "O"), (8, 8, 12))
NBO = SlotLayout(("Nb", "O"), (8, 16))
LAYOUTS = {"Mg-Mn-O": MGMNO, "Nb-O": NBO}


def layout_of(system: str) -> SlotLayout:
    """The slot layout of a system name; InputError for an unknown one."""
    if system not in LAYOUTS:
        raise InputError(f"unknown system {system!r}; choose from {', '.join(LAYOUTS)}")
    return LAYOUTS[system]


def translate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, R, 3) arrays with every structure's atoms moved by one random fractional shift
    (mod 1); empty slots stay 0."""
    x = np.array(x, dtype=float)
    slots = x[:, 2:]
    f = 1.5 * slots - 0.25
    shift = rng.random((len(x), 1, 3))
    moved = (10 * np.mod(f + shift, 1.0) + 2.5) / 15
    x[:, 2:] = np.where(occupied(slots)[..., None], moved, 0.0)
    return x


def permute_slots(
    x: np.ndarray, layout: SlotLayout, rng: np.random.Generator, occupied_only: bool = False
) -> np.ndarray:
    """(N, R, 3) arrays with each element's slots (empty ones included) shuffled at random,
    independently per structure; ``occupied_only`` shuffles the occupied slots among
    themselves and keeps them first, as :meth:`SlotLayout.encode` puts them."""
    x = np.array(x, dtype=float)
    for rows in layout.element_rows():
        n = rows.stop - rows.start
        keys = rng.random((len(x), n))
        if occupied_only:
            keys += ~occupied(x[:, rows])  # empty slots sort after the occupied ones
        order = np.argsort(keys, axis=1)
        x[:, rows] = np.take_along_axis(x[:, rows], order[..., None], axis=1)
    return x


def permute_axes(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, R, 3) arrays with the cell axes of each structure permuted at random (lengths,
    the angles opposite them and the fractional coordinates alike). An odd permutation
    yields the mirror image, which is the same crystal unless the crystal is chiral; the
    interatomic distances are unchanged either way."""
    x = np.array(x, dtype=float)
    order = np.array([rng.permutation(3) for _ in range(len(x))])
    return np.take_along_axis(x, order[:, None, :], axis=2)
