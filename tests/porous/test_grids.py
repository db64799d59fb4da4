import time
from collections import deque

import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.porous import grids as G


def periodic_components(grid):
    """Number of 4-connected pore components of a periodic grid (breadth-first flood fill)."""
    size = grid.shape[0]
    seen = np.zeros_like(grid, bool)
    count = 0
    for start in zip(*np.nonzero(grid), strict=True):
        if seen[start]:
            continue
        count += 1
        seen[start] = True
        queue = deque([start])
        while queue:
            i, j = queue.popleft()
            for a, b in (((i + 1) % size, j), ((i - 1) % size, j), (i, (j + 1) % size),
                         (i, (j - 1) % size)):  # fmt: skip
                if grid[a, b] and not seen[a, b]:
                    seen[a, b] = True
                    queue.append((a, b))
    return count


def test_flood_fill_is_periodic():
    grid = np.zeros((5, 5), np.uint8)
    grid[2, 0] = grid[2, 4] = 1  # neighbours through the seam
    assert periodic_components(grid) == 1
    grid[0, 2] = 1
    assert periodic_components(grid) == 2


@pytest.mark.parametrize("name", G.FAMILIES)
@pytest.mark.parametrize("size", [4, 9, 20])
def test_family_shapes_values_and_pores(name, size):
    out = G._GENERATORS[name](300, np.random.default_rng(1), size)
    assert out.shape == (300, size, size)
    assert out.dtype == np.uint8
    assert set(np.unique(out)) <= {0, 1}
    assert out.reshape(300, -1).sum(1).min() >= 1  # every grid has a pore


def test_generate_grids_spreads_families_evenly():
    grids, family = G.generate_grids(53, np.random.default_rng(0), size=10)
    assert grids.shape == (53, 10, 10) and grids.dtype == np.uint8
    assert grids.flags.c_contiguous
    assert family.shape == (53,) and family.dtype == np.int8
    counts = np.bincount(family, minlength=len(G.FAMILIES))
    assert counts.min() == 10 and counts.max() == 11 and counts.sum() == 53
    assert set(np.unique(grids)) <= {0, 1}


def test_families_subset_and_bad_names():
    _, family = G.generate_grids(20, np.random.default_rng(0), 8, families=["slits", "random"])
    assert set(family.tolist()) == {G.FAMILIES.index("slits"), G.FAMILIES.index("random")}
    for bad in (["slit"], [], ["random", "random"]):
        with pytest.raises(InputError):
            G.generate_grids(5, np.random.default_rng(0), 8, families=bad)
    with pytest.raises(InputError):
        G.generate_grids(5, np.random.default_rng(0), size=3)
    assert G.generate_grids(0, np.random.default_rng(0), 8)[0].shape == (0, 8, 8)


def test_random_porosity_range_and_spread():
    out = G.random_grids(2000, np.random.default_rng(2), 20)
    porosity = out.mean(axis=(1, 2))
    assert porosity.min() >= 0.2 and porosity.max() <= 0.95
    assert porosity.min() < 0.22 and porosity.max() > 0.93
    assert abs(np.median(porosity) - 0.575) < 0.05


def test_random_pore_networks_are_connected():
    grids, family = G.generate_grids(400, np.random.default_rng(3), size=12)
    chosen = grids[family == G.FAMILIES.index("random")]
    assert len(chosen) == 80
    assert all(periodic_components(g) == 1 for g in chosen)
    direct = G.random_grids(50, np.random.default_rng(4), 20)
    assert all(periodic_components(g) == 1 for g in direct)


def test_slits_and_squares_structure():
    grids, family = G.generate_grids(200, np.random.default_rng(5), size=20)
    for g in grids[family == G.FAMILIES.index("slits")]:
        rows_equal = (g == g[:1]).all()
        cols_equal = (g == g[:, :1]).all()
        assert rows_equal or cols_equal
        assert 0 < g.mean() < 1
    for g in grids[family == G.FAMILIES.index("squares")]:
        rows, cols = g.any(1), g.any(0)
        np.testing.assert_array_equal(g, np.outer(rows, cols))
        assert not rows.all() and not cols.all()  # walls on both axes


def test_symmetry_moves_features():
    # slits come out in both orientations and at many offsets
    grids = G.random_symmetry(G.slit_grids(200, np.random.default_rng(6), 20),
                              np.random.default_rng(7))  # fmt: skip
    horizontal = [(g == g[:, :1]).all() for g in grids]
    assert 0.3 < np.mean(horizontal) < 0.7
    assert len({g[:, 0].tobytes() for g in grids}) > 50


def test_deterministic_for_a_seed():
    a = G.generate_grids(100, np.random.default_rng(11), 20)
    b = G.generate_grids(100, np.random.default_rng(11), 20)
    c = G.generate_grids(100, np.random.default_rng(12), 20)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_cheap_relative_to_simulation():
    G.generate_grids(10, np.random.default_rng(0))  # compile / load the numba kernel
    t0 = time.perf_counter()
    G.generate_grids(2000, np.random.default_rng(0))
    assert (time.perf_counter() - t0) / 2000 < 0.5e-3
