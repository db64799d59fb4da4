"""The porous-graphene lattice: a rhombic nx x ny supercell of graphene's primitive cell.

a1 = a (1, 0), a2 = a (1/2, sqrt(3)/2), a = 2.46 angstrom. Cell (i, j) holds atom A at
i a1 + j a2 and atom B at A + (a1 + a2) / 3 (bond length a / sqrt(3) = 1.42 angstrom).
A sheet is an (nx, ny) array of cell states: 0 = A and B are carbon, 1 = only A, 2 = only
B, 3 = both vacant. Bonds, periodic: A(i,j)-B(i,j), A(i,j)-B(i-1,j), A(i,j)-B(i,j-1).
Sites are numbered 2 (i ny + j) for A and 2 (i ny + j) + 1 for B.
"""

import numpy as np

from matinverse.errors import InputError

LATTICE_CONSTANT = 2.46  # angstrom
N_STATES = 4
# state -> (A is carbon, B is carbon)
OCCUPANCY = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=bool)


def check_states(states: np.ndarray) -> np.ndarray:
    """(N, nx, ny) (or one (nx, ny) sheet) integer states in 0..3 -> (N, nx, ny) uint8;
    InputError naming the problem otherwise."""
    states = np.asarray(states)
    if states.ndim == 2:
        states = states[None]
    if states.ndim != 3 or 0 in states.shape:
        raise InputError(f"sheets must be an (N, nx, ny) array, got shape {states.shape}")
    if not np.issubdtype(states.dtype, np.integer):
        if not np.issubdtype(states.dtype, np.floating) or np.any(states != np.round(states)):
            raise InputError(f"sheet states must be integers 0..3, got dtype {states.dtype}")
    if states.min() < 0 or states.max() >= N_STATES:
        raise InputError(f"sheet states must be 0..3, got {states.min()}..{states.max()}")
    return states.astype(np.uint8)


def carbon_sites(states: np.ndarray) -> np.ndarray:
    """(N, nx, ny) states -> (N, 2 nx ny) bool, True where the site holds a carbon."""
    return OCCUPANCY[states].reshape(len(states), -1)


def carbon_bonds(states: np.ndarray) -> np.ndarray:
    """(N, nx, ny) states -> (N, 3 nx ny) bool: which bonds of :func:`bonds` join two
    carbons."""
    _, nx, ny = states.shape
    pairs = bonds(nx, ny)
    carbon = carbon_sites(states)
    return carbon[:, pairs[:, 0]] & carbon[:, pairs[:, 1]]


def bond_matrices(states: np.ndarray) -> np.ndarray:
    """(N, nx, ny) states -> (N, nx ny, nx ny) float: entry (i, j) counts the bonds between
    carbons A of cell i and B of cell j (2 or 3 only for a bond to a periodic image in a
    sheet 1 or 2 cells wide). Row sums are the A atoms' carbon neighbours, column sums the
    B atoms'."""
    _, nx, ny = states.shape
    pairs = bonds(nx, ny)
    on = carbon_bonds(states)
    block = np.zeros((len(states), nx * ny, nx * ny))
    rows = np.arange(len(states))[:, None]
    np.add.at(block, (rows, pairs[:, 0] // 2, pairs[:, 1] // 2), on)
    return block


def bonds(nx: int, ny: int) -> np.ndarray:
    """(3 nx ny, 2) site pairs (A, B) of the periodic supercell's bonds (a pair may repeat
    when nx or ny is 1: the bond to a periodic image)."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    a = 2 * (i * ny + j)
    b_same = a + 1
    b_left = 2 * (((i - 1) % nx) * ny + j) + 1
    b_down = 2 * (i * ny + (j - 1) % ny) + 1
    return np.stack([np.repeat(a.ravel(), 3), np.stack([b_same, b_left, b_down], -1).ravel()], 1)


def cell_vectors(nx: int, ny: int) -> np.ndarray:
    """(2, 2) in-plane supercell vectors nx a1, ny a2 in angstrom."""
    a1 = LATTICE_CONSTANT * np.array([1.0, 0.0])
    a2 = LATTICE_CONSTANT * np.array([0.5, np.sqrt(3) / 2])
    return np.stack([nx * a1, ny * a2])


def site_positions(nx: int, ny: int) -> np.ndarray:
    """(2 nx ny, 2) in-plane positions of the A and B sites in angstrom."""
    a1, a2 = cell_vectors(1, 1)
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    a = i.ravel()[:, None] * a1 + j.ravel()[:, None] * a2
    return np.stack([a, a + (a1 + a2) / 3], 1).reshape(-1, 2)


def sheet_area(nx: int, ny: int) -> float:
    """Area of the supercell, nx ny a^2 sqrt(3) / 2, in square angstrom."""
    return nx * ny * LATTICE_CONSTANT**2 * np.sqrt(3) / 2
