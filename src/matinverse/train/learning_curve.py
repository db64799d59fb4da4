"""Learning curves: test error against training-set size.

Nested random subsets of a training set (:func:`nested_subsets`), a record of the finished
points that a rerun resumes from (:class:`CurveRecord`), the power law error = a N^-b
fitted in log-log space (:func:`fit_power_law`) and the log-log plot (:func:`plot_curve`,
:func:`save_figure`).
"""

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path


def nested_subsets(n: int, sizes, seed: int = 0) -> list[np.ndarray]:
    """Row indices (into ``n`` rows) of one subset per size in ``sizes``: the first ``size``
    rows of one random permutation (``seed``), so every subset holds the smaller ones."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[:size] for size in sizes]


@dataclass(frozen=True)
class PowerLaw:
    """error = a N^-b, fitted by least squares on (log N, log error); ``r2``: the fit's
    coefficient of determination in log space, ``points``: how many points it used."""

    a: float
    b: float
    r2: float
    points: int

    def __call__(self, n) -> np.ndarray:
        return self.a * np.asarray(n, float) ** -self.b

    def as_dict(self) -> dict:
        return asdict(self)


def fit_power_law(n, error) -> PowerLaw | None:
    """Fit error = a N^-b to training-set sizes ``n`` and errors ``error`` (same length) on
    the points with a positive, finite error; None when fewer than two distinct sizes
    remain. R^2 is 1 for a perfect fit (and for two points)."""
    n, error = np.asarray(n, float), np.asarray(error, float)
    keep = (n > 0) & np.isfinite(error) & (error > 0)
    x, y = np.log(n[keep]), np.log(error[keep])
    if len(np.unique(x)) < 2:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residual = np.sum((y - (intercept + slope * x)) ** 2)
    total = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - residual / total if total > 0 else 1.0
    return PowerLaw(float(math.exp(intercept)), float(-slope), float(r2), int(keep.sum()))


class CurveRecord:
    """The finished points of learning curves (key -> point, a JSON-able dict), kept in a
    JSON file rewritten atomically after each point, so that a rerun skips them.

    With ``identity`` (what the points were computed for: model, settings, data) the file
    is ``{**identity, "points": {key: point}, **extra}`` and a file made for another
    identity is refused; without, it is the bare ``{key: point}`` mapping."""

    def __init__(self, path: str | os.PathLike, identity: dict | None = None):
        self.path, self.identity = Path(path), identity
        self.extra: dict[str, Any] = {}
        found = self._read()
        if identity is None:
            self.points = found
            return
        self.points = found.pop("points", {})
        mismatch = {k for k in identity if found and found.get(k) != identity[k]}
        if mismatch:
            raise InputError(
                f"{self.path} holds a curve made with other {', '.join(sorted(mismatch))}; "
                "use another --out"
            )

    def _read(self) -> dict:
        if not self.path.is_file():
            return {}
        try:
            found = json.loads(self.path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{self.path} is not a learning-curve record: {err}") from None
        if not isinstance(found, dict):
            raise InputError(f"{self.path} is not a learning-curve record")
        return found

    def __contains__(self, key: str) -> bool:
        return key in self.points

    def add(self, key: str, point: dict) -> None:
        """Record a finished point and write the file."""
        self.points[key] = point
        self.write()

    def write(self, **extra) -> None:
        """Write the file (atomically), with ``extra`` entries besides the points (ignored
        without an identity)."""
        self.extra.update(extra)
        document = self.points
        if self.identity is not None:
            document = {**self.identity, "points": self.points, **self.extra}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(document, indent=1))


def plot_curve(ax, n, error, label: str, marker: str = "o", fit: PowerLaw | None = None):
    """Draw test errors against training-set sizes on log-log ``ax`` (a matplotlib Axes),
    and ``fit`` as a dashed line of the same colour over the sizes' range."""
    (line,) = ax.loglog(n, error, marker=marker, label=label)
    if fit is not None:
        grid = np.geomspace(min(n), max(n), 50)
        ax.loglog(
            grid,
            fit(grid),
            ls="--",
            lw=1,
            color=line.get_color(),
            label=f"{fit.a:.3g} N^{-fit.b:.3f} (R² {fit.r2:.3f})",
        )


def save_figure(figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write a matplotlib figure as PNG (atomically)."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
