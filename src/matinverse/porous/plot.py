"""Figures of grids beside their isotherms (matplotlib, PNG)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from matinverse.io.atomic import atomic_path  # noqa: E402
from matinverse.porous.simulator import Isotherms  # noqa: E402


def _draw_grid(ax, grid: np.ndarray, title: str) -> None:
    """A 0/1 grid: pore white, solid black, no ticks."""
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def _isotherm_axes(ax, ylabel: str) -> None:
    """Axes for fillings theta in [0, 1] against relative pressure in [0, 1]."""
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _save(fig, path: str | Path, dpi: int) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return Path(path)


def plot_grids_and_isotherms(
    grids: np.ndarray, isotherms: Isotherms, path: str | Path, titles: list[str] | None = None
) -> Path:
    """Write a PNG with one row per grid: the grid (pore white, solid black) and its
    adsorption (and desorption) filling theta against relative pressure.

    grids (N, L, L) 0/1; isotherms with adsorption (N, P). Returns the path written.
    """
    n = len(grids)
    fig, axes = plt.subplots(
        n, 2, figsize=(6.4, 2.6 * n), squeeze=False, gridspec_kw={"width_ratios": [1, 1.6]}
    )
    rh = np.asarray(isotherms.relative_pressure)
    for row in range(n):
        ax_grid, ax_iso = axes[row]
        label = titles[row] if titles else f"#{row}"
        _draw_grid(ax_grid, grids[row], f"{label}  porosity {float(np.mean(grids[row])):.2f}")
        ax_iso.plot(rh, isotherms.adsorption[row], "o-", ms=2.5, lw=1.2, label="adsorption")
        if isotherms.desorption is not None:
            ax_iso.plot(rh, isotherms.desorption[row], "s--", ms=2, lw=1, label="desorption")
        _isotherm_axes(ax_iso, r"filling $\theta$")
        if row == 0:
            ax_iso.legend(fontsize=8, loc="lower right")
    axes[-1, 1].set_xlabel("relative pressure RH")
    return _save(fig, path, dpi=110)


def plot_design(
    design, rh: np.ndarray, path: str | Path, title: str = "", n_grids: int = 3
) -> Path:
    """Write a PNG of one design result: the target and the simulated isotherms of the
    best candidates (with their exact MAE), and the best ``n_grids`` grids."""
    k = min(n_grids, len(design.grids))
    fig, axes = plt.subplots(
        1, 1 + k, figsize=(4.2 + 2.0 * k, 3.0), gridspec_kw={"width_ratios": [2.2] + [1] * k}
    )
    ax = axes[0]
    ax.plot(rh, design.target, "k-", lw=2.2, label="target")
    for i in range(k):
        ax.plot(
            rh, design.adsorption[i], "o-", ms=2.5, lw=1, label=f"#{i + 1} MAE {design.mae[i]:.4f}"
        )
    _isotherm_axes(ax, r"filling $\theta$ (simulated)")
    ax.set_xlabel("relative pressure RH")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    for i in range(k):
        _draw_grid(axes[1 + i], design.grids[i], f"#{i + 1}")
    return _save(fig, path, dpi=100)
