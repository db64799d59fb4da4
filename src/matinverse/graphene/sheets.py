"""Random porous sheets: holes of random size punched at random places.

A hole removes every carbon within a radius of its centre (periodic minimum image); the
number of holes is uniform in ``holes`` (inclusive) and each radius uniform in ``radius``
(angstrom). A radius below the bond length (1.42) removes one atom or none, so holes range
from single vacancies to pores of a few nanometres.
"""

import numpy as np

from matinverse.errors import InputError
from matinverse.graphene.lattice import OCCUPANCY, cell_vectors, site_positions

GENERATOR_VERSION = 1
# state of a cell from (A present, B present), the inverse of lattice.OCCUPANCY
_STATE_OF = np.zeros((2, 2), np.uint8)
_STATE_OF[OCCUPANCY[:, 0].astype(int), OCCUPANCY[:, 1].astype(int)] = np.arange(len(OCCUPANCY))


def random_sheets(
    n: int,
    rng: np.random.Generator,
    nx: int = 14,
    ny: int = 16,
    holes: tuple[int, int] = (1, 6),
    radius: tuple[float, float] = (0.8, 5.0),
) -> np.ndarray:
    """(n, nx, ny) uint8 states of random porous sheets (see the module docstring)."""
    if nx < 2 or ny < 2:
        raise InputError(f"sheets need at least 2 x 2 cells, got {nx} x {ny}")
    if not (0 <= holes[0] <= holes[1]) or not (0 < radius[0] <= radius[1]):
        raise InputError(f"bad hole settings: count {holes}, radius {radius}")
    cell = cell_vectors(nx, ny)
    positions = site_positions(nx, ny)
    images = np.array([[i, j] for i in (-1, 0, 1) for j in (-1, 0, 1)]) @ cell
    out = np.empty((n, nx, ny), np.uint8)
    for k in range(n):
        carbon = np.ones(len(positions), bool)
        for _ in range(rng.integers(holes[0], holes[1] + 1)):
            centre = rng.uniform(0, 1, 2) @ cell
            r = rng.uniform(*radius)
            delta = positions - centre
            distance = np.linalg.norm(delta[:, None] + images[None], axis=-1).min(1)
            carbon &= distance > r
        pairs = carbon.reshape(nx, ny, 2)
        out[k] = _STATE_OF[pairs[..., 0].astype(int), pairs[..., 1].astype(int)]
    return out
