"""Compiled (numba) kernels of the lattice-DFT simulator.

With ``coupling = beta w_ff`` and ``field0 = beta (mu + w_mf n_solid)`` the mean-field
fixed-point problem on pore sites reads

    rho_i = F_i(rho) = 1 / (1 + exp(-(field0_i + coupling sum_{j in nn(i)} rho_j))).

F is order-preserving (coupling > 0): from a sub-solution (rho <= F(rho)) Jacobi rises
monotonically to the least fixed point above it, from a super-solution it falls to the
greatest one below. That limit defines the adsorption (desorption) branch.

``jacobi_isotherms`` is the seed's plain Jacobi with its stopping rule (mean (delta rho)^2 <
tolerance), which near condensation stops far from the limit. ``exact_isotherms`` reaches the
same limit by red-black Gauss-Seidel: every update is F_i of a state that lies between the
start and the limit, so the iterates stay between them and rise (fall) to the same fixed point,
at twice the asymptotic rate of Jacobi. It stops when a certified bracket encloses the limit:
the iterate on one side, a super-solution (sub-solution) built from it on the other.
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


# 1 / n! for n = 12, 11, ..., 0 (Horner order of the Taylor polynomials of exp)
_INVERSE_FACTORIALS = tuple(1.0 / math.factorial(n) for n in range(12, -1, -1))


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _exp_taylor(x, degree, squarings):
    """exp(x) = (Taylor_degree(x / 2^squarings))^(2^squarings): multiplies and adds only."""
    x = x * (0.5**squarings)
    p = 0.0
    for n in range(12 - degree, 13):
        p = p * x + _INVERSE_FACTORIALS[n]
    for _ in range(squarings):
        p = p * p
    return p


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _sigmoid(h):
    """1 / (1 + exp(-h)) for any h, absolute error < 2e-14.

    exp(-h) = (Taylor_6(-h / 256))^(2^8), h clamped to [-500, 500] (where the sigmoid is 0 or
    1 to far below rounding): only multiplies, adds and min/max, so loops over it compile to
    SIMD code (math.exp does not). The relative error of exp is up to 1e-7 at |h| = 40, but
    the sigmoid's absolute error, e^-|h| times that, stays at rounding level for every h.
    """
    return 1.0 / (1.0 + _exp_taylor(-min(max(h, -500.0), 500.0), 6, 8))


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _sigmoid_fine(h):
    """1 / (1 + exp(-h)) for h in about [-300, 300], relative error < 1e-13 (also where it is
    tiny, unlike _sigmoid): exp(-h) = (Taylor_12(-h / 512))^(2^9)."""
    return 1.0 / (1.0 + _exp_taylor(-h, 12, 9))


# The periodic L x L lattice (L even) is bipartite: red sites (i + j even) only neighbour black
# ones. Each colour is stored as two "planes", the sites of even rows (p = 0) and of odd rows
# (p = 1), each plane a flat array of (L/2 + 2) x (L/2 + 2) cells with a periodic halo of one
# cell: row i = 2 m + p, column j = 2 kk + p (red) or 2 kk + 1 - p (black) sits at flat index
# (m + 1) (L/2 + 2) + kk + 1. The four neighbours of a site of parity p then sit, in the planes
# of the other colour, at fixed flat offsets: plane 1 - p at f - w and f (p = 0) or f and f + w
# (p = 1), plane p at f - 1 and f, or f and f + 1 (see _half_sweep); w = L/2 + 2. A half sweep
# is one flat loop over each plane, which numba compiles to SIMD code.

# The super-solution (sub-solution) check allows F(u) - u up to this much per site: rounding of
# the sigmoid and of the sums. It widens the certified bracket by about _ROUNDING / (1 - q).
_ROUNDING = 1e-12
# A pressure point whose largest possible h (all rho = 1) is below this uses _sigmoid_fine:
# every rho is then below 2e-9 and only its relative accuracy means anything.
_FINE_BELOW = -20.0
_MARGIN = 0.5  # first extrapolation margin of the bracket, multiplied by 4 after a failed check


@njit(cache=True)
def _halo(plane, k):
    """Fill the periodic halo of one flat (k + 2) x (k + 2) plane from its interior."""
    w = k + 2
    for i in range(1, k + 1):
        plane[i * w] = plane[i * w + k]
        plane[i * w + k + 1] = plane[i * w + 1]
    for j in range(w):
        plane[j] = plane[k * w + j]
        plane[(k + 1) * w + j] = plane[w + j]


@njit(cache=True)
def _to_planes(values, red, black, halo):
    """(L, L) values, L even -> red, black (2, (L/2 + 2)^2) planes; halos periodic copies
    (``halo``) or zero."""
    size = values.shape[0]
    k = size // 2
    w = k + 2
    red[:, :] = 0.0
    black[:, :] = 0.0
    for i in range(size):
        p = i % 2
        row = (i // 2 + 1) * w
        for j in range(size):
            if (i + j) % 2 == 0:
                red[p, row + (j - p) // 2 + 1] = values[i, j]
            else:
                black[p, row + (j - 1 + p) // 2 + 1] = values[i, j]
    if halo:
        for p in range(2):
            _halo(red[p], k)
            _halo(black[p], k)


@njit(cache=True)
def _from_planes(red, black, values):
    """Inverse of _to_planes: red, black planes -> the (L, L) values (L even)."""
    size = values.shape[0]
    w = size // 2 + 2
    for i in range(size):
        p = i % 2
        row = (i // 2 + 1) * w
        for j in range(size):
            if (i + j) % 2 == 0:
                values[i, j] = red[p, row + (j - p) // 2 + 1]
            else:
                values[i, j] = black[p, row + (j - 1 + p) // 2 + 1]


@njit(cache=True, fastmath=True, error_model="numpy")
def _relax(x, field, mask, a0, a1, b, coupling, fine):
    """In place, x[f] = mask[f] sigmoid(field[f] + coupling (a0[f] + a1[f] + b[f] + b[f + 1]))
    for f < len(x): the arguments are views shifted to these offsets (constant offsets, and x
    the only array written, let numba vectorise the loop). Returns the sum of the changes over
    sites (mask > 0; halo cells get garbage, refreshed by the caller). ``fine``: use
    _sigmoid_fine instead of _sigmoid."""
    total = 0.0
    if fine:
        for f in range(x.shape[0]):
            v = mask[f] * _sigmoid_fine(field[f] + coupling * (a0[f] + a1[f] + b[f] + b[f + 1]))
            total += mask[f] * (v - x[f])
            x[f] = v
    else:
        for f in range(x.shape[0]):
            v = mask[f] * _sigmoid(field[f] + coupling * (a0[f] + a1[f] + b[f] + b[f + 1]))
            total += mask[f] * (v - x[f])
            x[f] = v
    return total


@njit(cache=True, fastmath=True, error_model="numpy")
def _excess(x, field, mask, a0, a1, b, coupling, sign, fine):
    """max over sites (mask > 0, else 0) of sign (F_f - x[f]); arguments as in _relax."""
    worst = 0.0
    for f in range(x.shape[0]):
        h = field[f] + coupling * (a0[f] + a1[f] + b[f] + b[f + 1])
        v = _sigmoid_fine(h) if fine else _sigmoid(h)
        worst = max(worst, mask[f] * sign * (v - x[f]))
    return worst


@njit(cache=True, inline="always")
def _plane_views(x, other, field, mask, colour, p, k):
    """Plane p of one colour (0 red, 1 black) as the views _relax and _excess take: (x, field,
    mask, a0, a1, b) over the interior rows, neighbours in ``other`` at constant offsets."""
    w = k + 2
    lo, hi = w, (k + 1) * w
    oa = lo - w if p == 0 else lo
    ob = lo - 1 if (colour + p) % 2 == 0 else lo
    a, b = other[1 - p], other[p]
    return x[p, lo:hi], field[p, lo:hi], mask[p, lo:hi], a[oa:], a[oa + w :], b[ob:]


@njit(cache=True)
def _half_sweep(x, other, field, mask, coupling, colour, k, fine):
    """Update one colour (0 red, 1 black) from the other in place, x = F(x, other), both
    planes, halos refreshed (``fine`` as in _relax). Returns the sum of the changes over its
    sites."""
    total = 0.0
    for p in range(2):
        total += _relax(*_plane_views(x, other, field, mask, colour, p, k), coupling, fine)
        _halo(x[p], k)
    return total


@njit(cache=True)
def _colour_excess(x, other, field, mask, coupling, sign, colour, k, fine):
    """Largest sign (F(x, other) - x) over the sites of one colour (0 if none is positive)."""
    worst = 0.0
    for p in range(2):
        views = _plane_views(x, other, field, mask, colour, p, k)
        worst = max(worst, _excess(*views, coupling, sign, fine))
    return worst


@njit(cache=True, fastmath=True)
def _total(planes, mask):
    """Sum of the site values (mask > 0) of both planes of one colour."""
    total = 0.0
    for p in range(2):
        for f in range(planes.shape[1]):
            total += mask[p, f] * planes[p, f]
    return total


@njit(cache=True)
def _bracket(red, candidate, u, field, mask, coupling, sign, scale, k, fine):
    """The other side of the bracket, in u (4 planes): u_red = red + sign scale max(sign
    (candidate - red), 0), u_black = F_black(u_red). Returns the largest sign (F_red(u_black)
    - u_red): at most _ROUNDING means u is a super-solution (sign 1) or sub-solution (sign -1)."""
    for p in range(2):
        for f in range(red.shape[1]):
            step = max(sign * (candidate[p, f] - red[p, f]), 0.0)
            u[p, f] = red[p, f] + sign * scale * step
    _half_sweep(u[2:], u[:2], field[2:], mask[2:], coupling, 1, k, fine)
    return _colour_excess(u[:2], u[2:], field, mask, coupling, sign, 0, k, fine)


@njit(cache=True)
def _solve_point(
    state, previous_red, bound, field, mask, coupling, sign, accuracy, n_pore, max_sweeps, k, fine
):
    """Red-black Gauss-Seidel from a sub-solution (sign 1) or super-solution (sign -1) to the
    least fixed point above (greatest below) it, until a certified bracket of half-width
    <= ``accuracy`` in theta encloses it.

    state, bound: (4, (k + 2)^2) arrays, rows red p = 0, 1 then black p = 0, 1; field, mask
    alike (mask 0 on solid sites and halos); previous_red (2, (k + 2)^2) work space. On return
    state holds the iterate (same side as the start) and bound the other side of the bracket.
    ``fine`` selects _sigmoid_fine. Returns (sweeps, theta at the bracket's middle); sweeps =
    -1 after ``max_sweeps``.
    """
    red, black = state[:2], state[2:]
    previous = np.inf
    margin = _MARGIN
    theta = 0.0
    done = -1
    for sweep in range(max_sweeps):
        previous_red[:, :] = red
        progress = sign * _half_sweep(red, black, field, mask, coupling, 0, k, fine)
        if progress <= 0.0 and sweep > 0:  # a fixed point to rounding (black is F_black(red))
            bound[:, :] = state
            theta = (_total(red, mask) + _total(black, mask[2:])) / n_pore
            done = sweep + 1
            break
        if 0.0 < progress < previous:
            q = progress / previous
            scale = (1.0 + margin) / (1.0 - q)
            if scale * progress <= accuracy * n_pore:
                # bracket around the state before this red update: previous_red, black
                worst = _bracket(
                    previous_red, red, bound, field, mask, coupling, sign, scale, k, fine
                )
                inner = _total(previous_red, mask) + _total(black, mask[2:])
                other = _total(bound[:2], mask) + _total(bound[2:], mask[2:])
                half_width = 0.5 * sign * (other - inner) / n_pore
                if worst <= _ROUNDING and half_width + _ROUNDING / (1.0 - q) <= accuracy:
                    theta = 0.5 * (inner + other) / n_pore
                    done = sweep + 1
                    break
                margin *= 4.0
        previous = progress
        _half_sweep(black, red, field[2:], mask[2:], coupling, 1, k, fine)
    if done < 0:
        theta = (_total(red, mask) + _total(black, mask[2:])) / n_pore
    return done, theta


@njit(cache=True)
def exact_isotherms(
    grids,
    mus,
    beta,
    w_ff,
    w_mf,
    accuracy,
    max_sweeps,
    desorption,
    ads,
    des,
    target,
    budget,
    densities,
):
    """Adsorption (and desorption) filling of each grid at the fixed points that warm-started
    Jacobi converges to, each certified within ``accuracy`` in theta.

    grids (N, L, L) uint8; mus (P,) kcal/mol, increasing; ads, des (N, P) out. An odd L is
    solved on its 2L x 2L periodic tiling (same fixed points, bipartite lattice). Grid g's
    adsorption branch stops early, its remaining points NaN, once the sum of
    |ads - target| (target (P,)) over the points done exceeds budget[g] (inf: never; only
    without desorption). ``densities`` (N, P, L, L), unless empty, receives the adsorption
    branch's site densities rho. Returns the number of points that hit ``max_sweeps``.
    """
    failures = 0
    coupling = beta * w_ff
    n_points = mus.shape[0]
    size = grids.shape[1]
    big = size if size % 2 == 0 else 2 * size
    k = big // 2
    plane = (k + 2) * (k + 2)
    eta = np.empty((big, big))
    wall = np.empty((big, big))
    mask = np.empty((4, plane))
    wall_planes = np.empty((4, plane))
    field = np.empty((4, plane))
    state = np.empty((4, plane))
    previous_red = np.empty((2, plane))
    bound = np.empty((4, plane))
    rho = np.empty((big, big))
    for g in range(grids.shape[0]):
        for i in range(big):
            for j in range(big):
                eta[i, j] = grids[g, i % size, j % size]
        n_pore = eta.sum()
        for i in range(big):
            for j in range(big):
                n_solid = 4.0 - eta[(i + 1) % big, j] - eta[(i - 1) % big, j]
                wall[i, j] = w_mf * (n_solid - eta[i, (j + 1) % big] - eta[i, (j - 1) % big])
        _to_planes(eta, mask[:2], mask[2:], False)
        _to_planes(wall, wall_planes[:2], wall_planes[2:], True)
        field_top = -np.inf  # largest wall term over pore sites
        for i in range(big):
            for j in range(big):
                if eta[i, j] > 0.0:
                    field_top = max(field_top, wall[i, j])
        _to_planes(eta, state[:2], state[2:], True)
        steps = 2 * n_points - 1 if desorption else n_points
        spent = 0.0
        # adsorption k = 0..P-1 (the first point falls from rho = eta, the others rise), then
        # desorption k = P-2..0 falling from the RH = 1 state; a change of direction continues
        # from the other side of the last bracket
        for step in range(steps):
            point = step if step < n_points else 2 * n_points - 2 - step
            field[:, :] = beta * (mus[point] + wall_planes)
            sign = 1.0 if 0 < step < n_points else -1.0
            # every h below _FINE_BELOW (rho <= 1): all rho tiny, keep their relative accuracy
            fine = beta * (mus[point] + field_top) + 4.0 * coupling < _FINE_BELOW
            done, theta = _solve_point(
                state,
                previous_red,
                bound,
                field,
                mask,
                coupling,
                sign,
                accuracy,
                n_pore,
                max_sweeps,
                k,
                fine,
            )
            if done < 0:
                failures += 1
            next_sign = 1.0 if step + 1 < n_points else -1.0
            if next_sign != sign:
                state[:, :] = bound
            if step < n_points and densities.shape[0] > 0:
                _from_planes(state[:2], state[2:], rho)
                densities[g, point] = rho[:size, :size]
            if step < n_points:
                ads[g, point] = theta
                spent += abs(theta - target[point])
                if spent > budget[g] and not desorption:
                    ads[g, point + 1 :] = np.nan
                    break
            else:
                des[g, point] = theta
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


@njit(cache=True)
def flip_response(eta, rho, mus, beta, w_ff, w_mf, theta, dtheta):
    """Linear response of the adsorption filling to each cell's type by implicit
    differentiation of the fixed point rho = eta sigmoid(h(rho, eta)).

    eta (L, L) 0/1 floats; rho (P, L, L) adsorption-branch densities; out theta (P,),
    dtheta (P, L, L) = d theta / d eta. Per pressure the adjoint lam = 1/n + A C lam (A the
    periodic 4-neighbour adjacency, C = diag(w_ff d rho / d h) on pores) is solved as the
    symmetric positive definite system (I - C^1/2 A C^1/2) z = C^1/2 / n by conjugate
    gradients (positive definite because the fixed point is stable), lam = 1/n + A C^1/2 z.
    """
    size = eta.shape[0]
    n = size * size
    nbr = np.empty((n, 4), np.int64)
    for i in range(size):
        for j in range(size):
            f = i * size + j
            nbr[f, 0] = ((i + 1) % size) * size + j
            nbr[f, 1] = ((i - 1) % size) * size + j
            nbr[f, 2] = i * size + (j + 1) % size
            nbr[f, 3] = i * size + (j - 1) % size
    e = eta.ravel()
    n_pore = e.sum()
    walls = np.zeros(n)
    for f in range(n):
        for q in range(4):
            walls[f] += 1.0 - e[nbr[f, q]]
    sig, gain, root = np.empty(n), np.empty(n), np.empty(n)
    z, res, direction, s_dir, lam = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for p in range(mus.shape[0]):
        r = rho[p].ravel()
        for f in range(n):
            total = 0.0
            for q in range(4):
                total += r[nbr[f, q]]
            h = beta * (mus[p] + w_ff * total + w_mf * walls[f])
            sig[f] = 1.0 / (1.0 + math.exp(-min(max(h, -500.0), 500.0)))
            gain[f] = e[f] * sig[f] * (1.0 - sig[f]) * beta
            root[f] = math.sqrt(w_ff * gain[f])
        # conjugate gradients on (I - S) z = b, S = root A root, from z = 0
        rr = 0.0
        for f in range(n):
            z[f] = 0.0
            res[f] = root[f] / n_pore
            direction[f] = res[f]
            rr += res[f] * res[f]
        stop = 1e-24 * rr
        for _ in range(4 * n):
            if rr <= stop:
                break
            d_s = 0.0
            for f in range(n):
                acc = 0.0
                for q in range(4):
                    acc += root[nbr[f, q]] * direction[nbr[f, q]]
                s_dir[f] = direction[f] - root[f] * acc
                d_s += direction[f] * s_dir[f]
            alpha = rr / d_s
            rr_new = 0.0
            for f in range(n):
                z[f] += alpha * direction[f]
                res[f] -= alpha * s_dir[f]
                rr_new += res[f] * res[f]
            for f in range(n):
                direction[f] = res[f] + (rr_new / rr) * direction[f]
            rr = rr_new
        for f in range(n):
            acc = 0.0
            for q in range(4):
                acc += root[nbr[f, q]] * z[nbr[f, q]]
            lam[f] = 1.0 / n_pore + acc
        theta[p] = r.sum() / n_pore
        for f in range(n):
            acc = 0.0
            for q in range(4):
                g = nbr[f, q]
                acc += gain[g] * lam[g]
            dtheta[p].ravel()[f] = lam[f] * sig[f] - w_mf * acc - theta[p] / n_pore
