"""Figures of grids beside their isotherms (matplotlib, PNG)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from matinverse.io.atomic import atomic_path  # noqa: E402
from matinverse.porous.simulator import Isotherms  # noqa: E402


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
        ax_grid.imshow(grids[row], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax_grid.set_xticks([])
        ax_grid.set_yticks([])
        porosity = float(np.mean(grids[row]))
        label = titles[row] if titles else f"#{row}"
        ax_grid.set_title(f"{label}  porosity {porosity:.2f}", fontsize=9)
        ax_iso.plot(rh, isotherms.adsorption[row], "o-", ms=2.5, lw=1.2, label="adsorption")
        if isotherms.desorption is not None:
            ax_iso.plot(rh, isotherms.desorption[row], "s--", ms=2, lw=1, label="desorption")
        ax_iso.set_xlim(0, 1)
        ax_iso.set_ylim(-0.03, 1.03)
        ax_iso.set_ylabel(r"filling $\theta$")
        ax_iso.grid(alpha=0.3)
        if row == 0:
            ax_iso.legend(fontsize=8, loc="lower right")
    axes[-1, 1].set_xlabel("relative pressure RH")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)


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
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("relative pressure RH")
    ax.set_ylabel(r"filling $\theta$ (simulated)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    for i in range(k):
        axes[1 + i].imshow(design.grids[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[1 + i].set_xticks([])
        axes[1 + i].set_yticks([])
        axes[1 + i].set_title(f"#{i + 1}", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)
