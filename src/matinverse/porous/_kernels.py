"""Compiled (numba) kernels of the lattice-DFT simulator.

A grid is reduced to its pore sites: ``neighbours`` (n, 4) int64 holds, for each pore
site, the indices of its pore neighbours (-1 where the neighbour is solid), and
``n_solid`` (n,) the number of solid neighbours. With ``coupling = beta w_ff`` and
``field0 = beta (mu + w_mf n_solid)`` the mean-field fixed-point problem reads

    rho_i = F_i(rho) = 1 / (1 + exp(-(field0_i + coupling sum_{j in nn(i), pore} rho_j))).

F is order-preserving (coupling > 0). From a sub-solution (rho <= F(rho)) plain Jacobi
rises monotonically to the least fixed point above it; from a super-solution it falls to
the greatest one below. That fixed point defines the adsorption (desorption) branch.

``exact`` solver: monotone Gauss-Seidel (same limit as Jacobi, with a lower/upper bound
kept at every sweep) plus Newton steps (preconditioned CG on the symmetric form
(diag(1/d) - A) dx = r / d, d = coupling s (1 - s)). A Newton result is accepted only
with a certificate that it is the fixed point Jacobi reaches: it lies on the right side of
the current Gauss-Seidel bound, and F is a contraction on the box between them (a
positive vector v with M v < v for the non-negative bound M >= |dF/drho| over the box,
Collatz-Wielandt), so the box holds one fixed point. Otherwise more Gauss-Seidel sweeps
shrink the box and Newton is tried again.
"""

import math

import numpy as np
from numba import njit

# status codes of solve_point
CONVERGED = 0
NOT_CONVERGED = 1


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


@njit(cache=True)
def _neighbour_sum(neighbours, x, out):
    for i in range(neighbours.shape[0]):
        s = 0.0
        for q in range(4):
            j = neighbours[i, q]
            if j >= 0:
                s += x[j]
        out[i] = s


@njit(cache=True)
def _gauss_seidel(neighbours, field0, coupling, x, max_sweeps, accuracy):
    """Monotone in-place Gauss-Seidel sweeps on x.

    Returns (sweeps, converged, contraction): converged when the geometric estimate of
    the remaining max-norm error, delta q / (1 - q), is below ``accuracy``.
    """
    n = neighbours.shape[0]
    previous = 0.0
    q = 1.0
    for sweep in range(max_sweeps):
        delta = 0.0
        for i in range(n):
            s = 0.0
            for k in range(4):
                j = neighbours[i, k]
                if j >= 0:
                    s += x[j]
            v = 1.0 / (1.0 + math.exp(-(field0[i] + coupling * s)))
            d = abs(v - x[i])
            if d > delta:
                delta = d
            x[i] = v
        if delta == 0.0:
            return sweep + 1, True, 0.0
        if sweep > 0:
            q = delta / previous
            if q < 0.9 and delta * q / (1.0 - q) < accuracy:
                return sweep + 1, True, q
        previous = delta
    return max_sweeps, False, q


@njit(cache=True)
def _pcg(neighbours, d, rhs, x, max_iter, rtol, r, z, p, ap):
    """Solve (diag(1/d) - A) x = rhs by CG preconditioned with diag(d).

    Returns (iterations, ok); ok is False when the matrix is not positive definite.
    """
    n = neighbours.shape[0]
    rz = 0.0
    for i in range(n):
        x[i] = 0.0
        r[i] = rhs[i]
        z[i] = d[i] * r[i]
        p[i] = z[i]
        rz += r[i] * z[i]
    rz0 = rz
    if rz0 == 0.0:
        return 0, True
    for it in range(max_iter):
        _neighbour_sum(neighbours, p, ap)
        pap = 0.0
        for i in range(n):
            ap[i] = p[i] / d[i] - ap[i]
            pap += p[i] * ap[i]
        if pap <= 0.0:
            return it, False
        alpha = rz / pap
        rz_new = 0.0
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * ap[i]
            z[i] = d[i] * r[i]
            rz_new += r[i] * z[i]
        if rz_new < rtol * rtol * rz0:
            return it + 1, True
        beta = rz_new / rz
        rz = rz_new
        for i in range(n):
            p[i] = z[i] + beta * p[i]
    return max_iter, True


@njit(cache=True)
def _newton(neighbours, field0, coupling, bound, direction, x, step_tol, work):
    """Newton iterations from ``bound``; x is kept on the ``direction`` side of it."""
    n = neighbours.shape[0]
    h, d, rhs, dx, r, z, p, ap = (
        work[0],
        work[1],
        work[2],
        work[3],
        work[4],
        work[5],
        work[6],
        work[7],
    )
    for i in range(n):
        x[i] = bound[i]
    for _ in range(30):
        _neighbour_sum(neighbours, x, h)
        for i in range(n):
            e = math.exp(-(field0[i] + coupling * h[i]))
            d[i] = coupling * e / ((1.0 + e) * (1.0 + e))
            rhs[i] = (1.0 / (1.0 + e) - x[i]) / d[i]
        _, ok = _pcg(neighbours, d, rhs, dx, 400, 1e-4, r, z, p, ap)
        if not ok:
            return False
        step = 0.0
        for i in range(n):
            y = min(max(x[i] + dx[i], 0.0), 1.0)
            if direction > 0:
                y = max(y, bound[i])
            else:
                y = min(y, bound[i])
            step = max(step, abs(y - x[i]))
            x[i] = y
        if step < step_tol:
            return True
    return False


@njit(cache=True)
def _unique_fixed_point_in_box(neighbours, field0, coupling, a, b, work, v):
    """True when F is a contraction on the box between a and b (one fixed point there).

    v (n,) is a positive start vector for the Collatz-Wielandt bound, kept between calls.
    """
    n = neighbours.shape[0]
    ha, hb, g, w = work[0], work[1], work[2], work[3]
    _neighbour_sum(neighbours, a, ha)
    _neighbour_sum(neighbours, b, hb)
    worst_row = 0.0
    for i in range(n):
        lo = field0[i] + coupling * min(ha[i], hb[i])
        hi = field0[i] + coupling * max(ha[i], hb[i])
        t = 0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi))
        e = math.exp(-t)
        g[i] = coupling * e / ((1.0 + e) * (1.0 + e))  # max of dF_i/drho_j over the box
        count = 0
        for k in range(4):
            if neighbours[i, k] >= 0:
                count += 1
        worst_row = max(worst_row, g[i] * count)
    if worst_row < 1.0:
        return True
    for _ in range(40):  # shifted power iteration keeps v > 0 (the lattice is bipartite)
        _neighbour_sum(neighbours, v, w)
        ratio = 0.0
        for i in range(n):
            w[i] *= g[i]
            ratio = max(ratio, w[i] / v[i])
        if ratio < 1.0:
            return True
        top = 0.0
        for i in range(n):
            w[i] += v[i]
            top = max(top, w[i])
        for i in range(n):
            v[i] = max(w[i] / top, 1e-8)
    return False


@njit(cache=True)
def solve_point(neighbours, field0, coupling, bound, direction, accuracy, x, work, v):
    """Fixed point reached by Jacobi from ``bound`` (a sub-solution for direction +1, a
    super-solution for -1), written to x. ``bound`` is overwritten (tightened)."""
    n = neighbours.shape[0]
    sweeps = 4
    for _ in range(64):
        _, converged, q = _gauss_seidel(neighbours, field0, coupling, bound, sweeps, accuracy)
        if converged:
            for i in range(n):
                x[i] = bound[i]
            return CONVERGED
        if q > 0.3 and _newton(
            neighbours, field0, coupling, bound, direction, x, 0.1 * accuracy, work
        ):
            if _unique_fixed_point_in_box(neighbours, field0, coupling, bound, x, work, v):
                return CONVERGED
        sweeps = min(2 * sweeps, 256)
    for i in range(n):
        x[i] = bound[i]
    return NOT_CONVERGED


@njit(cache=True)
def exact_isotherms(grids, mus, beta, w_ff, w_mf, accuracy, desorption, ads, des):
    """Adsorption (and desorption) filling of each grid, solved by solve_point.

    grids (N, L, L) uint8; mus (P,) kcal/mol in the order visited; ads, des (N, P) out.
    Returns the number of points that hit the iteration limit.
    """
    failures = 0
    coupling = beta * w_ff
    n_points = mus.shape[0]
    for g in range(grids.shape[0]):
        neighbours, n_solid = pore_topology(grids[g])
        n = neighbours.shape[0]
        work = np.empty((8, n))
        v = np.ones(n)
        field0 = np.empty(n)
        bound = np.ones(n)
        x = np.empty(n)
        # RH = 0: drain from rho = eta (a super-solution) to the greatest fixed point below
        for k in range(n_points):
            for i in range(n):
                field0[i] = beta * (mus[k] + w_mf * n_solid[i])
            direction = -1 if k == 0 else 1
            failures += solve_point(
                neighbours, field0, coupling, bound, direction, accuracy, x, work, v
            )
            bound[:] = x
            ads[g, k] = x.sum() / n
        if desorption:
            des[g, n_points - 1] = ads[g, n_points - 1]
            for k in range(n_points - 2, -1, -1):
                for i in range(n):
                    field0[i] = beta * (mus[k] + w_mf * n_solid[i])
                failures += solve_point(
                    neighbours, field0, coupling, bound, -1, accuracy, x, work, v
                )
                bound[:] = x
                des[g, k] = x.sum() / n
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
