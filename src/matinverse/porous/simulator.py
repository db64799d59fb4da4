"""Mean-field lattice density functional theory of adsorption in periodic 2D pore grids.

The model of the nanoporous seed work: an L x L periodic grid of cells, eta_i = 1 pore,
0 solid, 4 nearest neighbours; the fluid density rho_i solves

    rho_i = eta_i / (1 + exp(-beta [mu + sum_{j in nn(i)} (w_ff rho_j + w_mf (1 - eta_j))]))

with w_ff = k_B T_c, w_mf = y w_ff, beta = 1 / (k_B T), mu(RH) = mu_sat + k_B T ln RH,
mu_sat = -2 k_B T_c (energies in kcal/mol). The adsorption branch starts from rho = eta at
RH = 0 (which drains it) and warm-starts each pressure from the previous state; the
desorption branch continues from the RH = 1 state downwards. The output is the filling
theta(RH) = sum_i rho_i / sum_i eta_i.
"""

from dataclasses import asdict, dataclass, field

import numpy as np

from matinverse.errors import InputError
from matinverse.porous import _kernels

BOLTZMANN = 0.0019872041  # kcal/mol/K

METHODS = ("exact", "jacobi")


def default_relative_pressure() -> np.ndarray:
    """RH = 0, 0.025, ..., 1.0 (41 points)."""
    return np.linspace(0.0, 1.0, 41)


@dataclass(frozen=True)
class LatticeDFT:
    """Constants and solver of the lattice-DFT adsorption model.

    temperature, critical_temperature in K; wall_ratio is y = w_mf / w_ff;
    relative_pressure is the increasing RH grid in [0, 1]; mu_at_zero (kcal/mol) is the
    chemical potential used at RH = 0.

    method "exact" (default) returns the fixed point that warm-started Jacobi converges to,
    reached by red-black Gauss-Seidel (every update lies between the start and that fixed point,
    so it cannot change branch) and stopped when a certified bracket (the iterate on one side,
    a super- or sub-solution built from it on the other) puts theta within ``accuracy`` of it.
    method "jacobi" is the seed's plain Jacobi iteration, stopped when the mean over
    the L*L sites of (delta rho)^2 falls below ``tolerance``; near condensation this stops
    far from the fixed point (critical slowing down), so its theta can differ from the exact
    one by more than 0.1 (it can stop just before a condensation step).
    """

    temperature: float = 298.0
    critical_temperature: float = 647.0
    wall_ratio: float = 1.5
    relative_pressure: tuple[float, ...] = field(
        default_factory=lambda: tuple(default_relative_pressure().tolist())
    )
    mu_at_zero: float = -90.0
    method: str = "exact"
    tolerance: float = 1e-10
    accuracy: float = 1e-9
    max_sweeps: int = 1_000_000

    def __post_init__(self):
        rh = np.asarray(self.relative_pressure, dtype=float)
        if rh.ndim != 1 or rh.size < 1:
            raise InputError("relative_pressure must be a non-empty 1D sequence")
        if np.any(~np.isfinite(rh)) or np.any(rh < 0) or np.any(rh > 1):
            raise InputError("relative_pressure values must lie in [0, 1]")
        if np.any(np.diff(rh) <= 0):
            raise InputError("relative_pressure must be strictly increasing")
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("temperature", "critical_temperature", "tolerance", "accuracy"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise InputError(f"{name} must be a positive number")

    @property
    def w_ff(self) -> float:
        """Fluid-fluid attraction, kcal/mol."""
        return BOLTZMANN * self.critical_temperature

    @property
    def w_mf(self) -> float:
        """Wall(matrix)-fluid attraction, kcal/mol."""
        return self.wall_ratio * self.w_ff

    @property
    def beta(self) -> float:
        """1 / (k_B T), mol/kcal."""
        return 1.0 / (BOLTZMANN * self.temperature)

    @property
    def mu_saturation(self) -> float:
        return -2.0 * BOLTZMANN * self.critical_temperature

    def chemical_potential(self) -> np.ndarray:
        """mu at each relative pressure (P,), kcal/mol."""
        rh = np.asarray(self.relative_pressure, dtype=float)
        mu = np.full(rh.shape, self.mu_at_zero)
        positive = rh > 0
        mu[positive] = self.mu_saturation + BOLTZMANN * self.temperature * np.log(rh[positive])
        return mu

    def constants(self) -> dict:
        """All model constants as plain numbers (for storing beside data)."""
        out = asdict(self)
        out["relative_pressure"] = list(self.relative_pressure)
        out.update(boltzmann=BOLTZMANN, w_ff=self.w_ff, w_mf=self.w_mf, beta=self.beta)
        return out

    def simulate(self, grids, desorption: bool = False) -> "Isotherms":
        """Isotherms of a batch of grids.

        grids: (N, L, L) or (L, L) array of 0/1 (bool or integer), 1 = pore.
        Returns Isotherms with adsorption (and desorption) of shape (N, P).
        """
        return self._simulate(validate_grids(grids), desorption)

    def simulate_within(self, grids, target, bound: float) -> "Isotherms":
        """Adsorption isotherms of grids (N, L, L) whose mean absolute error against
        ``target`` (P,) is at most ``bound``; a grid's simulation stops (its remaining
        points NaN) as soon as its error over the points done proves it above the bound,
        which saves the costly late points of a grid that loses (branch and bound)."""
        target = np.asarray(target, dtype=float)
        if target.shape != (len(self.relative_pressure),):
            raise InputError(
                f"target must have {len(self.relative_pressure)} points, got {target.shape}"
            )
        if self.method != "exact":
            raise InputError("simulate_within needs method 'exact'")
        grids = validate_grids(grids)
        budget = np.full(grids.shape[0], bound * target.size)
        return self._simulate(grids, False, target, budget)

    def densities(self, grids) -> np.ndarray:
        """Site densities rho (N, P, L, L) of the adsorption branch (0 on solid sites)."""
        grids = validate_grids(grids)
        out = np.empty((grids.shape[0], len(self.relative_pressure)) + grids.shape[1:])
        self._simulate(grids, False, densities=out)
        return out

    def flip_response(self, grid) -> tuple[np.ndarray, np.ndarray]:
        """The adsorption isotherm theta (P,) of one grid (L, L) and its linear response to
        each cell's type, dtheta/deta (P, L, L), by implicit differentiation of the fixed
        point (one adjoint linear solve per pressure): flipping cell k changes theta_p by
        about dtheta[p, k] (1 - 2 eta_k). Near a condensation step the response is large and
        only first-order: a guide to rank flips, not a substitute for simulating them."""
        grid = validate_grids(grid)
        if grid.shape[0] != 1:
            raise InputError(f"flip_response takes one grid, got {grid.shape[0]}")
        rho = self.densities(grid)[0]
        theta = np.empty(len(self.relative_pressure))
        dtheta = np.empty_like(rho)
        eta = grid[0].astype(float)
        _kernels.flip_response(
            eta, rho, self.chemical_potential(), self.beta, self.w_ff, self.w_mf, theta, dtheta
        )
        return theta, dtheta

    def _simulate(self, grids, desorption, target=None, budget=None, densities=None) -> "Isotherms":
        """simulate() on validated grids, with the early stop of simulate_within() and the
        densities of densities()."""
        n, p = grids.shape[0], len(self.relative_pressure)
        ads = np.empty((n, p))
        des = np.empty((n, p)) if desorption else np.empty((0, p))
        mus = self.chemical_potential()
        args = (grids, mus, self.beta, self.w_ff, self.w_mf)
        if self.method == "exact":
            if target is None:
                target, budget = np.zeros(p), np.full(n, np.inf)
            if densities is None:
                densities = np.empty((0, 0) + grids.shape[1:])
            failures = _kernels.exact_isotherms(
                *args,
                self.accuracy,
                self.max_sweeps,
                desorption,
                ads,
                des,
                target,
                budget,
                densities,
            )
        else:
            failures = _kernels.jacobi_isotherms(
                *args, self.tolerance, self.max_sweeps, desorption, ads, des
            )
        if failures:
            raise RuntimeError(f"{failures} pressure points did not converge")
        rh = np.asarray(self.relative_pressure, dtype=float)
        return Isotherms(rh, ads, des if desorption else None)


@dataclass
class Isotherms:
    """relative_pressure (P,); adsorption (N, P) and optional desorption (N, P) fillings."""

    relative_pressure: np.ndarray
    adsorption: np.ndarray
    desorption: np.ndarray | None = None


def validate_grids(grids) -> np.ndarray:
    """Check and convert to a C-contiguous (N, L, L) uint8 array of 0/1 (1 = pore).

    Raises InputError naming the problem: wrong shape, non-square, NaN, a value other
    than 0/1, or a grid without a pore site.
    """
    arr = np.asarray(grids)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"grids must have shape (N, L, L), got {arr.shape}")
    if arr.shape[1] != arr.shape[2]:
        raise InputError(f"grids must be square, got {arr.shape[1]} x {arr.shape[2]}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"grids array is empty (shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"grids must be numeric or boolean, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise InputError("grids contain NaN")
    if not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))].flat[0]
        raise InputError(f"grid values must be 0 (solid) or 1 (pore), found {bad!r}")
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    empty = np.flatnonzero(arr.reshape(arr.shape[0], -1).sum(axis=1) == 0)
    if empty.size:
        raise InputError(f"grid {empty[0]} has no pore site (theta is undefined)")
    return arr


def simulate(grids, desorption: bool = False, model: LatticeDFT | None = None) -> Isotherms:
    """Isotherms of grids (N, L, L) 0/1 with the default (or given) LatticeDFT model."""
    return (model or LatticeDFT()).simulate(grids, desorption=desorption)
