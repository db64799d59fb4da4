"""Families of periodic L x L pore grids for training data (uint8, 1 = pore, 0 = solid).

Every generator takes ``(n, rng, size)`` and returns an (n, L, L) uint8 array with at
least one pore per grid; all randomness comes from the numpy Generator, so the output is
a deterministic function of the generator state. Neighbourhoods are 4-neighbour and the
grids are periodic (a torus), as in the lattice-DFT simulator.

Families (``FAMILIES``):

- ``random``: invasion percolation. Each cell gets an iid uniform priority; starting from
  the lowest-priority cell, the pore cluster repeatedly absorbs its lowest-priority
  (periodic) neighbour until it holds round(phi L^2) cells, phi ~ U(0.2, 0.95). The pore
  network is therefore a single connected component with the exact drawn porosity and
  the look of a random fill (ramified at low phi, scattered solid cells at high phi).
- ``clusters``: random-walk blobs. 1-8 blobs of varied sizes, each the set of cells
  visited by a random walk from a random seed cell, with 5-80 % of L^2 walk steps in
  total. Half the grids are solid blobs in pore space, half pore blobs in solid space.
- ``slits``: parallel slit pores along one axis. The 1D profile alternates pore widths
  in [1, L/2] and wall thicknesses in [1, L/4]; half the grids repeat one (width, wall)
  pair (the segment cut at the periodic seam may differ), half draw every segment anew.
- ``squares``: rectangular pores on a lattice of walls, ``pore = px[i] & py[j]`` with two
  such 1D profiles; half the grids use the same profile on both axes (square pores).
- ``mixtures``: two grids of base families (random, clusters, slits, squares), each under
  its own symmetry, combined by union or intersection of the pore sets, or one base grid
  with iid defects (each cell flipped with probability 2-10 %). A combination without
  pores falls back to the union (intersection) or to the base grid (defects).

Every grid finally gets a random torus symmetry: a translation and one of the 8
rotations/reflections of the square.
"""

import numpy as np
from numba import njit

from matinverse.errors import InputError

# Bump whenever a family's definition (and so the grids for a given seed) changes.
GENERATOR_VERSION = "grids-1"

FAMILIES = ("random", "clusters", "slits", "squares", "mixtures")

POROSITY_RANGE = (0.2, 0.95)  # porosity of the "random" family

_BASE = ("random", "clusters", "slits", "squares")  # families a mixture combines


def random_grids(n: int, rng: np.random.Generator, size: int = 20) -> np.ndarray:
    """(n, L, L) uint8 connected random pore networks, porosity ~ U(POROSITY_RANGE)."""
    cells = size * size
    lo = max(1, int(np.ceil(POROSITY_RANGE[0] * cells)))
    hi = max(lo, int(np.floor(POROSITY_RANGE[1] * cells)))
    porosity = rng.uniform(*POROSITY_RANGE, size=n)
    counts = np.clip(np.rint(porosity * cells), lo, hi).astype(np.int64)
    priority = rng.random((n, cells))
    out = np.zeros((n, size, size), np.uint8)
    _invade(priority, counts, size, out)
    return out


def cluster_grids(n: int, rng: np.random.Generator, size: int = 20) -> np.ndarray:
    """(n, L, L) uint8 grids of random-walk blobs (solid in pore, or pore in solid)."""
    cells = size * size
    max_blobs = 8
    total = np.maximum(1, np.rint(rng.uniform(0.05, 0.8, n) * cells)).astype(np.int64)
    blobs = np.minimum(rng.integers(1, max_blobs + 1, n), total)
    # blob sizes: random weights (up to 1:10) over the walk steps, each blob >= 1 step
    weight = rng.uniform(0.1, 1.0, (n, max_blobs)) * (np.arange(max_blobs) < blobs[:, None])
    steps = np.floor(weight / weight.sum(1, keepdims=True) * (total - blobs)[:, None])
    steps = (steps.astype(np.int64) + 1) * (weight > 0)
    ends = np.cumsum(steps, axis=1)  # (n, B)
    starts = ends - steps
    seeds = rng.integers(0, size, (n, max_blobs, 2))
    longest = int(ends[:, -1].max()) if n else 0
    moves = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])[rng.integers(0, 4, (n, longest))]
    path = np.cumsum(moves, axis=1)  # (n, T, 2)
    t = np.arange(longest)
    blob = (t[None, :, None] >= ends[:, None, :]).sum(-1)  # (n, T) blob of each step
    valid = blob < blobs[:, None]
    blob = np.minimum(blob, max_blobs - 1)
    first = np.take_along_axis(starts, blob, axis=1)  # (n, T) first step of that blob
    rows = np.arange(n)[:, None]
    pos = seeds[rows, blob] + path - path[rows, first]
    flat = (pos[..., 0] % size) * size + pos[..., 1] % size
    mask = np.zeros((n, cells), bool)
    mask[np.broadcast_to(rows, flat.shape)[valid], flat[valid]] = True
    solid_blobs = rng.random(n) < 0.5
    pores = np.where(solid_blobs[:, None], ~mask, mask)
    return pores.reshape(n, size, size).astype(np.uint8)


def slit_grids(n: int, rng: np.random.Generator, size: int = 20) -> np.ndarray:
    """(n, L, L) uint8 grids of parallel slit pores along the second axis."""
    profile = _profiles(n, rng, size)
    return np.broadcast_to(profile[:, :, None], (n, size, size)).astype(np.uint8)


def square_grids(n: int, rng: np.random.Generator, size: int = 20) -> np.ndarray:
    """(n, L, L) uint8 grids of square or rectangular pores on a periodic wall lattice."""
    px = _profiles(n, rng, size)
    py = _profiles(n, rng, size)
    square = rng.random(n) < 0.5
    py = np.where(square[:, None], px, py)
    return (px[:, :, None] & py[:, None, :]).astype(np.uint8)


def mixture_grids(n: int, rng: np.random.Generator, size: int = 20) -> np.ndarray:
    """(n, L, L) uint8 unions/intersections of two base-family grids, or a grid with defects."""
    base = np.arange(len(_BASE))
    a = random_symmetry(_grids_of(rng.choice(base, n), _BASE, rng, size), rng).astype(bool)
    b = random_symmetry(_grids_of(rng.choice(base, n), _BASE, rng, size), rng).astype(bool)
    op = rng.integers(0, 3, n)  # 0 union, 1 intersection, 2 defects
    flip = rng.random((n, size, size)) < rng.uniform(0.02, 0.1, n)[:, None, None]
    union = a | b
    inter = a & b
    inter = np.where(inter.any(axis=(1, 2))[:, None, None], inter, union)
    defect = a ^ flip
    defect = np.where(defect.any(axis=(1, 2))[:, None, None], defect, a)
    out = np.where(
        (op == 0)[:, None, None], union, np.where((op == 1)[:, None, None], inter, defect)
    )
    return out.astype(np.uint8)


_GENERATORS = {
    "random": random_grids,
    "clusters": cluster_grids,
    "slits": slit_grids,
    "squares": square_grids,
    "mixtures": mixture_grids,
}


def random_symmetry(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply to each (L, L) grid a random translation and rotation/reflection (torus maps)."""
    n, size = grids.shape[0], grids.shape[1]
    shift = rng.integers(0, size, (n, 2))
    sign = np.where(rng.random((n, 2)) < 0.5, -1, 1)
    transpose = rng.random(n) < 0.5
    i = np.arange(size)
    rows = (shift[:, :1] + sign[:, :1] * i) % size  # (n, L)
    cols = (shift[:, 1:] + sign[:, 1:] * i) % size
    out = grids[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return np.where(transpose[:, None, None], out.transpose(0, 2, 1), out)


def generate_grids(
    n: int, rng: np.random.Generator, size: int = 20, families=None
) -> tuple[np.ndarray, np.ndarray]:
    """Draw n grids, the families spread evenly (as equal counts as n allows, in random order).

    families: names from FAMILIES (default all). Returns grids (n, L, L) uint8 (1 = pore)
    and family (n,) int8, an index into FAMILIES.
    """
    if not isinstance(n, int | np.integer) or n < 0:
        raise InputError(f"n must be a non-negative integer, got {n!r}")
    if not isinstance(size, int | np.integer) or size < 4:
        raise InputError(f"grid size must be an integer >= 4, got {size!r}")
    chosen = np.array([FAMILIES.index(f) for f in check_families(families)])
    k = len(chosen)
    family = np.concatenate(
        [np.repeat(chosen, n // k), rng.choice(chosen, n % k, replace=False)]
    ).astype(np.int8)
    family = rng.permutation(family)
    grids = random_symmetry(_grids_of(family, FAMILIES, rng, int(size)), rng)
    return np.ascontiguousarray(grids, dtype=np.uint8), family


def check_families(families=None) -> tuple[str, ...]:
    """Validated tuple of family names (default: all of FAMILIES); InputError otherwise."""
    if families is None:
        return FAMILIES
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",")]
    names = tuple(families)
    unknown = [f for f in names if f not in FAMILIES]
    if unknown or not names or len(set(names)) != len(names):
        raise InputError(
            f"families must be distinct names from {', '.join(FAMILIES)}, got {list(names)}"
        )
    return names


def _grids_of(index: np.ndarray, names, rng: np.random.Generator, size: int) -> np.ndarray:
    """Grids for per-sample family indices into ``names`` (generated family by family)."""
    out = np.empty((len(index), size, size), np.uint8)
    for f, name in enumerate(names):
        where = np.flatnonzero(index == f)
        if where.size:
            out[where] = _GENERATORS[name](where.size, rng, size)
    return out


def _profiles(n: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """(n, L) bool 1D periodic profiles alternating pore (True) and wall segments.

    Pore widths in [1, L/2], walls in [1, L/4]; half the profiles repeat one pair, the
    others draw each segment uniformly up to the profile's own maxima. The first segment
    is a pore narrower than L, so every profile has pore and wall cells.
    """
    wmax = rng.integers(1, max(1, size // 2) + 1, n)
    tmax = rng.integers(1, max(1, size // 4) + 1, n)
    segment_max = np.stack([wmax, tmax], 1)[:, np.arange(size) % 2]  # (n, L): pore, wall...
    regular = rng.random(n) < 0.5
    drawn = np.floor(rng.random((n, size)) * segment_max).astype(np.int64) + 1
    lengths = np.where(regular[:, None], segment_max, drawn)
    ends = np.cumsum(lengths, axis=1)
    segment = (np.arange(size)[None, :, None] >= ends[:, None, :]).sum(-1)  # (n, L)
    return segment % 2 == 0


@njit(cache=True)
def _invade(priority, counts, size, out):
    """Invasion percolation: grid g gets counts[g] connected pore cells (in place in out)."""
    cells = size * size
    key = np.empty(cells)
    val = np.empty(cells, np.int64)
    seen = np.zeros(cells, np.bool_)
    for g in range(priority.shape[0]):
        u = priority[g]
        seen[:] = False
        start = np.argmin(u)
        seen[start] = True
        key[0] = u[start]
        val[0] = start
        heap = 1
        for _ in range(counts[g]):
            cell = val[0]
            heap -= 1  # pop the minimum: move the last entry to the root and sift down
            k, v = key[heap], val[heap]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= heap:
                    break
                if c + 1 < heap and key[c + 1] < key[c]:
                    c += 1
                if key[c] >= k:
                    break
                key[i], val[i] = key[c], val[c]
                i = c
            key[i], val[i] = k, v
            r, q = cell // size, cell % size
            out[g, r, q] = 1
            for nb in (
                ((r + 1) % size) * size + q,
                ((r - 1) % size) * size + q,
                r * size + (q + 1) % size,
                r * size + (q - 1) % size,
            ):
                if seen[nb]:
                    continue
                seen[nb] = True
                i = heap  # push: sift up
                heap += 1
                while i > 0:
                    p = (i - 1) // 2
                    if key[p] <= u[nb]:
                        break
                    key[i], val[i] = key[p], val[p]
                    i = p
                key[i], val[i] = u[nb], nb
