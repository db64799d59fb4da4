"""Target isotherms: synthetic curve families and the TARGETS.csv reader.

Curves are (n, P) fillings theta at the relative pressures ``rh`` (P,), start at 0 at
RH = 0 (the simulator's RH = 0 state is drained) and never decrease.

- ``piecewise_linear_curves``: 1-3 random interior breakpoints, sorted random levels.
- ``step_curves``: a sharp step from ``low`` to ``high`` at RH ``at``.
- ``multistep_curves``: 2-3 steps of random heights at random pressures.
- ``smooth_curves``: cumulative sums of random positive increments (random monotone).
"""

from pathlib import Path

import numpy as np

from matinverse.errors import InputError


def piecewise_linear_curves(n: int, rng: np.random.Generator, rh: np.ndarray) -> np.ndarray:
    """(n, P) monotone piecewise-linear curves from 0 at RH = 0 to a level in [0.3, 1]."""
    out = np.empty((n, len(rh)))
    for i in range(n):
        k = rng.integers(1, 4)
        knots = np.concatenate([[0.0], np.sort(rng.uniform(0.05, 0.95, k)), [1.0]])
        top = rng.uniform(0.3, 1.0)
        levels = np.concatenate([[0.0], np.sort(rng.uniform(0, top, k)), [top]])
        out[i] = np.interp(rh, knots, levels)
    return out


def step_curves(
    at: np.ndarray, rh: np.ndarray, low: np.ndarray | float = 0.0, high: np.ndarray | float = 1.0
) -> np.ndarray:
    """(n, P) curves equal to ``low`` below RH ``at`` (n,) and ``high`` from it on."""
    at = np.atleast_1d(np.asarray(at, dtype=float))
    low = np.broadcast_to(np.asarray(low, dtype=float), at.shape)[:, None]
    high = np.broadcast_to(np.asarray(high, dtype=float), at.shape)[:, None]
    return np.where(rh[None, :] >= at[:, None] - 1e-12, high, low)


def multistep_curves(n: int, rng: np.random.Generator, rh: np.ndarray) -> np.ndarray:
    """(n, P) curves with 2-3 sharp steps of random heights, ending in [0.5, 1]."""
    out = np.zeros((n, len(rh)))
    for i in range(n):
        k = rng.integers(2, 4)
        at = np.sort(rng.choice(rh[1:-1], size=k, replace=False))
        heights = rng.dirichlet(np.ones(k)) * rng.uniform(0.5, 1.0)
        out[i] = step_curves(at, rh, 0.0, heights).sum(axis=0)
    return out


def smooth_curves(n: int, rng: np.random.Generator, rh: np.ndarray) -> np.ndarray:
    """(n, P) random monotone curves: cumulative random increments, ending in [0.3, 1]."""
    inc = rng.gamma(rng.uniform(0.1, 2.0, (n, 1)), size=(n, len(rh) - 1))
    curves = np.concatenate([np.zeros((n, 1)), np.cumsum(inc, axis=1)], axis=1)
    return curves / curves[:, -1:] * rng.uniform(0.3, 1.0, (n, 1))


def synthetic_curves(n: int, rng: np.random.Generator, rh: np.ndarray) -> np.ndarray:
    """(n, P) mixture of the four synthetic families in equal parts (shuffled)."""
    parts = np.array_split(np.arange(n), 4)
    out = np.concatenate(
        [
            piecewise_linear_curves(len(parts[0]), rng, rh),
            step_curves(rng.choice(rh[1:-1], len(parts[1])), rh, 0.0, 1.0)
            * rng.uniform(0.5, 1.0, (len(parts[1]), 1)),
            multistep_curves(len(parts[2]), rng, rh),
            smooth_curves(len(parts[3]), rng, rh),
        ]
    )
    return out[rng.permutation(n)]


def check_target(values, n_points: int = 41) -> np.ndarray:
    """One target curve (n_points,) of fillings as a float array; InputError when it is
    empty, has another length, or holds NaN, infinite or values outside [0, 1]."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise InputError("the target curve is empty")
    if values.shape != (n_points,):
        raise InputError(f"expected {n_points} values, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise InputError("NaN or infinite value")
    if values.min() < 0 or values.max() > 1:
        raise InputError("values must lie in [0, 1]")
    return values


def read_targets(path: Path, n_points: int = 41) -> np.ndarray:
    """(T, n_points) targets from a CSV: one curve per line, no header, '#' lines ignored.

    Raises InputError naming the first malformed line (wrong count, not a number, NaN,
    outside [0, 1]) or an empty file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"targets file not found: {path}")
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read targets file {path}: {err}") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            try:
                values = [float(f) for f in text.split(",")]
            except ValueError:
                raise InputError(f"not a number in {text[:60]!r}") from None
            rows.append(check_target(values, n_points))
        except InputError as err:
            raise InputError(f"{path} line {number}: {err}") from None
    if not rows:
        raise InputError(f"{path}: no target curves (only comments or blank lines)")
    return np.stack(rows)
