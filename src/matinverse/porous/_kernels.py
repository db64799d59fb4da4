"""Compiled (numba) kernels of the lattice-DFT simulator.

With ``coupling = beta w_ff`` and ``field0 = beta (mu + w_mf n_solid)`` the mean-field
fixed-point problem on pore sites reads

    rho_i = F_i(rho) = 1 / (1 + exp(-(field0_i + coupling sum_{j in nn(i)} rho_j))).

F is order-preserving (coupling > 0): from a sub-solution (rho <= F(rho)) Jacobi rises
monotonically to the least fixed point above it, from a super-solution it falls to the
greatest one below. That limit defines the adsorption (desorption) branch.

``jacobi_isotherms`` is the seed's plain Jacobi with its stopping rule (mean (delta rho)^2 <
tolerance), which near condensation stops far from the limit. ``exact_isotherms`` runs the
same iteration (so it cannot change branch) on padded full grids with a SIMD-friendly
sigmoid, and stops only when the estimated distance to the limit is below ``accuracy``.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def pore_topology(eta):
    """(L, L) 0/1 grid -> neighbours (n, 4) int64 (-1 = solid), n_solid (n,) float64."""
    size = eta.shape[0]
    index = -np.ones((size, size), np.int64)
    n = 0
    for i in range(size):
        for j in range(size):
            if eta[i, j]:
                index[i, j] = n
                n += 1
    neighbours = -np.ones((n, 4), np.int64)
    n_solid = np.zeros(n)
    for i in range(size):
        for j in range(size):
            k = index[i, j]
            if k < 0:
                continue
            rows = ((i + 1) % size, (i - 1) % size, i, i)
            cols = (j, j, (j + 1) % size, (j - 1) % size)
            for q in range(4):
                m = index[rows[q], cols[q]]
                if m >= 0:
                    neighbours[k, q] = m
                else:
                    n_solid[k] += 1.0
    return neighbours, n_solid


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _sigmoid(h):
    """1 / (1 + exp(-h)) for h in about [-300, 300], relative error < 1e-13.

    exp(-h) = (Taylor_12(-h / 512))^(2^9): only multiplies and adds, so loops over it
    compile to SIMD code (math.exp does not).
    """
    x = -h * (1.0 / 512.0)
    p = 1.0 / 479001600.0
    p = p * x + 1.0 / 39916800.0
    p = p * x + 1.0 / 3628800.0
    p = p * x + 1.0 / 362880.0
    p = p * x + 1.0 / 40320.0
    p = p * x + 1.0 / 5040.0
    p = p * x + 1.0 / 720.0
    p = p * x + 1.0 / 120.0
    p = p * x + 1.0 / 24.0
    p = p * x + 1.0 / 6.0
    p = p * x + 0.5
    p = p * x + 1.0
    p = p * x + 1.0
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return 1.0 / (1.0 + p)


@njit(cache=True, fastmath=True, error_model="numpy")
def _padded_sweep(rho, new, field0, eta, coupling):
    """One Jacobi sweep on padded (L+2, L+2) arrays (periodic halo); returns ||delta rho||_2."""
    size = eta.shape[0]
    sq = 0.0
    for i in range(size):
        up, row, down, out = rho[i], rho[i + 1], rho[i + 2], new[i + 1]
        f, e = field0[i], eta[i]
        for j in range(size):
            h = f[j] + coupling * (up[j + 1] + down[j + 1] + row[j] + row[j + 2])
            out[j + 1] = e[j] * _sigmoid(h)
        for j in range(size):
            d = out[j + 1] - row[j + 1]
            sq += d * d
        out[0] = out[size]
        out[size + 1] = out[1]
    new[0, :] = new[size, :]
    new[size + 1, :] = new[1, :]
    return math.sqrt(sq)


@njit(cache=True, fastmath=True, error_model="numpy")
def _exact_point(rho, work, field0, eta, coupling, accuracy, max_sweeps):
    """Jacobi sweeps on padded rho (in place; work is a second buffer) until the geometric
    estimate of the remaining error, ||delta|| q / (1 - q) with q the ratio of successive
    ||delta||_2, is below ``accuracy``. Returns the sweeps done, or -1 at ``max_sweeps``."""
    current, spare = rho, work
    previous = 0.0
    done = -1
    for sweep in range(max_sweeps):
        delta = _padded_sweep(current, spare, field0, eta, coupling)
        current, spare = spare, current
        if delta == 0.0 or (
            sweep > 0 and delta < previous and delta * delta / (previous - delta) < accuracy
        ):
            done = sweep + 1
            break
        previous = delta
    if current is not rho:
        rho[:, :] = current
    return done


@njit(cache=True)
def exact_isotherms(grids, mus, beta, w_ff, w_mf, accuracy, max_sweeps, desorption, ads, des):
    """Adsorption (and desorption) filling of each grid at the fixed points that warm-started
    Jacobi converges to, to an estimated error ||rho - rho*||_2 < accuracy.

    grids (N, L, L) uint8; mus (P,) kcal/mol, increasing; ads, des (N, P) out.
    Returns the number of points that hit ``max_sweeps``.
    """
    failures = 0
    coupling = beta * w_ff
    n_points = mus.shape[0]
    size = grids.shape[1]
    field0 = np.empty((size, size))
    wall = np.empty((size, size))
    rho = np.empty((size + 2, size + 2))
    work = np.empty((size + 2, size + 2))
    for g in range(grids.shape[0]):
        eta = grids[g].astype(np.float64)
        n_pore = eta.sum()
        for i in range(size):
            for j in range(size):
                n_solid = 4.0 - eta[(i + 1) % size, j] - eta[(i - 1) % size, j]
                wall[i, j] = w_mf * (n_solid - eta[i, (j + 1) % size] - eta[i, (j - 1) % size])
        for i in range(size + 2):
            for j in range(size + 2):
                rho[i, j] = eta[(i - 1) % size, (j - 1) % size]
        work[:, :] = rho
        desorbing = n_points - 2 if desorption else -1
        # adsorption k = 0..P-1, then desorption k = P-2..0 from the RH = 1 state
        for step in range(n_points + desorbing + 1):
            k = step if step < n_points else 2 * n_points - 2 - step
            field0[:, :] = beta * (mus[k] + wall)
            if _exact_point(rho, work, field0, eta, coupling, accuracy, max_sweeps) < 0:
                failures += 1
            theta = rho[1 : size + 1, 1 : size + 1].sum() / n_pore
            if step < n_points:
                ads[g, k] = theta
            else:
                des[g, k] = theta
        if desorption:
            des[g, n_points - 1] = ads[g, n_points - 1]
    return failures


@njit(cache=True)
def _jacobi_point(neighbours, field0, coupling, rho, new, tolerance, n_sites, max_sweeps):
    n = neighbours.shape[0]
    for sweep in range(max_sweeps):
        sq = 0.0
        for i in range(n):
            s = 0.0
            for k in range(4):
                j = neighbours[i, k]
                if j >= 0:
                    s += rho[j]
            v = 1.0 / (1.0 + math.exp(-(field0[i] + coupling * s)))
            sq += (v - rho[i]) ** 2
            new[i] = v
        for i in range(n):
            rho[i] = new[i]
        if sq / n_sites < tolerance:
            return sweep + 1
    return -1


@njit(cache=True)
def jacobi_isotherms(grids, mus, beta, w_ff, w_mf, tolerance, max_sweeps, desorption, ads, des):
    """The seed's plain Jacobi: all sites at once, stop when mean over the L*L sites of
    (delta rho)^2 < tolerance. Same arguments as exact_isotherms; returns the number of
    points that hit ``max_sweeps``."""
    failures = 0
    coupling = beta * w_ff
    n_points = mus.shape[0]
    n_sites = grids.shape[1] * grids.shape[2]
    for g in range(grids.shape[0]):
        neighbours, n_solid = pore_topology(grids[g])
        n = neighbours.shape[0]
        field0 = np.empty(n)
        rho = np.ones(n)
        new = np.empty(n)
        for k in range(n_points):
            for i in range(n):
                field0[i] = beta * (mus[k] + w_mf * n_solid[i])
            if (
                _jacobi_point(
                    neighbours, field0, coupling, rho, new, tolerance, n_sites, max_sweeps
                )
                < 0
            ):
                failures += 1
            ads[g, k] = rho.sum() / n
        if desorption:
            des[g, n_points - 1] = ads[g, n_points - 1]
            for k in range(n_points - 2, -1, -1):
                for i in range(n):
                    field0[i] = beta * (mus[k] + w_mf * n_solid[i])
                if (
                    _jacobi_point(
                        neighbours, field0, coupling, rho, new, tolerance, n_sites, max_sweeps
                    )
                    < 0
                ):
                    failures += 1
                des[g, k] = rho.sum() / n
    return failures
