"""Tests of the lattice-DFT adsorption simulator against physics and a slow scalar reference.

The reference below is written independently of the package: plain Python loops over the
full L x L grid (solid sites included, rho = eta / (1 + exp(...))), explicit periodic
neighbour indices, no numba and no numpy vectorisation.
"""

import math

import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.porous import Isotherms, LatticeDFT, simulate, validate_grids

K_B = 0.0019872041  # kcal/mol/K
T_ROOM = 298.0
T_CRIT = 647.0
N_POINTS = 41


# --------------------------------------------------------------------------- helpers


def model_constants(temperature=T_ROOM, wall_ratio=1.5):
    """(beta, w_ff, w_mf, mu_sat) of the model, computed from its definition."""
    w_ff = K_B * T_CRIT
    return 1.0 / (K_B * temperature), w_ff, wall_ratio * w_ff, -2.0 * K_B * T_CRIT


def chemical_potentials(relative_pressure, temperature=T_ROOM):
    _, _, _, mu_sat = model_constants(temperature)
    return [
        -90.0 if rh == 0 else mu_sat + K_B * temperature * math.log(rh) for rh in relative_pressure
    ]


def default_rh():
    return [k / 40 for k in range(N_POINTS)]


def reference_isotherms(grid, tolerance, desorption=True, max_sweeps=500_000):
    """Slow scalar plain-Jacobi isotherms of one grid: (adsorption, desorption) lists.

    Stops each pressure point when the mean over all L*L sites of (delta rho)^2 is below
    ``tolerance``; warm-starts from the previous point; desorption continues downwards
    from the RH = 1 state.
    """
    size = len(grid)
    eta = [[int(grid[i][j]) for j in range(size)] for i in range(size)]
    n_pore = sum(sum(row) for row in eta)
    beta, w_ff, w_mf, _ = model_constants()
    mus = chemical_potentials(default_rh())

    def solve(rho, mu):
        for _ in range(max_sweeps):
            new = [[0.0] * size for _ in range(size)]
            square_sum = 0.0
            for i in range(size):
                for j in range(size):
                    h = 0.0
                    for a, b in (
                        ((i + 1) % size, j),
                        ((i - 1) % size, j),
                        (i, (j + 1) % size),
                        (i, (j - 1) % size),
                    ):
                        h += w_ff * rho[a][b] + w_mf * (1 - eta[a][b])
                    new[i][j] = eta[i][j] / (1.0 + math.exp(-beta * (mu + h)))
                    square_sum += (new[i][j] - rho[i][j]) ** 2
            rho = new
            if square_sum / (size * size) < tolerance:
                return rho
        raise RuntimeError("reference Jacobi did not converge")

    def theta(rho):
        return sum(sum(row) for row in rho) / n_pore

    rho = [[float(eta[i][j]) for j in range(size)] for i in range(size)]
    adsorption = []
    for mu in mus:
        rho = solve(rho, mu)
        adsorption.append(theta(rho))
    des = [0.0] * N_POINTS
    des[-1] = adsorption[-1]
    if desorption:
        for k in range(N_POINTS - 2, -1, -1):
            rho = solve(rho, mus[k])
            des[k] = theta(rho)
    return np.array(adsorption), np.array(des)


def bulk_branch(stop, relative_pressure=None):
    """Scalar mean-field lattice gas rho = 1/(1 + exp(-beta (mu + 4 w_ff rho))) along the
    adsorption branch: start from rho = 1 at the first point, warm-start each next one;
    iterate rho <- F(rho) until stop(delta) is true."""
    beta, w_ff, _, _ = model_constants()
    rhos, rho = [], 1.0
    for mu in chemical_potentials(relative_pressure or default_rh()):
        for _ in range(100_000):
            new = 1.0 / (1.0 + math.exp(-beta * (mu + 4.0 * w_ff * rho)))
            delta, rho = new - rho, new
            if stop(delta):
                break
        else:
            raise RuntimeError("bulk fixed point did not converge")
        rhos.append(rho)
    return np.array(rhos)


def random_grid(size, porosity, seed):
    grid = (np.random.default_rng(seed).random((size, size)) < porosity).astype(np.uint8)
    grid[0, 0] = 1  # at least one pore
    return grid


def slit(size, width):
    grid = np.zeros((size, size), np.uint8)
    grid[:width] = 1
    return grid


def checkerboard(size):
    i, j = np.indices((size, size))
    return ((i + j) % 2 == 0).astype(np.uint8)


def isolated_pores(size, spacing):
    i, j = np.indices((size, size))
    return ((i % spacing == 0) & (j % spacing == 0)).astype(np.uint8)


def thin_grid(size, seed):
    """Random grid thinned until every pore site has at least 2 solid neighbours."""
    grid = random_grid(size, 0.6, seed)
    while True:
        solid = sum(1 - np.roll(grid, shift, axis) for shift in (1, -1) for axis in (0, 1)) * grid
        crowded = (grid == 1) & (solid < 2)
        if not crowded.any():
            return grid
        i, j = np.argwhere(crowded)[0]
        grid[i, j] = 0


def single_pore_theta(relative_pressure, temperature=T_ROOM, wall_ratio=1.5):
    """Filling of a pore cell with 4 solid neighbours: 1 / (1 + exp(-beta (mu + 4 w_mf)))."""
    beta, _, w_mf, _ = model_constants(temperature, wall_ratio)
    mus = chemical_potentials(relative_pressure, temperature)
    return np.array([1.0 / (1.0 + math.exp(-beta * (mu + 4.0 * w_mf))) for mu in mus])


EXACT = LatticeDFT()
JACOBI = LatticeDFT(method="jacobi")
BOTH_METHODS = pytest.mark.parametrize("model", [EXACT, JACOBI], ids=["exact", "jacobi"])


# ------------------------------------------------- 1, 2: against the scalar reference


@pytest.mark.parametrize(
    ("size", "porosity", "seed"),
    [(6, 0.5, 0), (7, 0.7, 1), (8, 0.6, 2), (8, 0.85, 3), (10, 0.4, 4)],
)
def test_plain_jacobi_equals_scalar_reference(size, porosity, seed):
    grid = random_grid(size, porosity, seed)
    ads, des = reference_isotherms(grid, tolerance=1e-10)
    result = JACOBI.simulate(grid, desorption=True)
    np.testing.assert_allclose(result.adsorption[0], ads, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.desorption[0], des, rtol=0, atol=1e-12)


EXACT_CASES = {
    "random-0.3": random_grid(8, 0.3, 10),
    "random-0.5": random_grid(8, 0.5, 11),
    "random-0.7": random_grid(8, 0.7, 12),
    "random-0.9": random_grid(8, 0.9, 1),  # a wide hysteresis loop
    "slit-2": slit(8, 2),
    "slit-4": slit(8, 4),
    "high-porosity-0.95": random_grid(10, 0.95, 13),
    "all-pore": np.ones((6, 6), np.uint8),
    "odd-size-7": random_grid(7, 0.8, 14),  # odd L: solved on the 2L x 2L tiling
    "odd-size-9": random_grid(9, 0.6, 15),
}


@pytest.mark.parametrize("name", list(EXACT_CASES))
def test_exact_equals_tightly_converged_scalar_reference(name):
    grid = EXACT_CASES[name]
    ads, des = reference_isotherms(grid, tolerance=1e-24)
    result = EXACT.simulate(grid, desorption=True)
    np.testing.assert_allclose(result.adsorption[0], ads, rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.desorption[0], des, rtol=0, atol=1e-8)


def test_reference_cases_cover_condensation_and_hysteresis():
    """The exact-vs-reference cases must include real condensation and hysteresis."""
    for name in ("random-0.9", "slit-2", "slit-4"):
        ads, des = reference_isotherms(EXACT_CASES[name], tolerance=1e-10)
        assert np.diff(ads).max() > 0.3, name
        assert (des - ads).max() > 0.5, name


def test_tight_jacobi_equals_exact_on_many_grids(many_grids, many_exact):
    tight = LatticeDFT(method="jacobi", tolerance=1e-26).simulate(many_grids, desorption=True)
    np.testing.assert_allclose(tight.adsorption, many_exact.adsorption, rtol=0, atol=1e-8)
    np.testing.assert_allclose(tight.desorption, many_exact.desorption, rtol=0, atol=1e-8)


def test_plain_jacobi_stops_below_the_adsorption_fixed_point(many_grids, many_exact):
    """Jacobi rises monotonically from a sub-solution, so it never overshoots."""
    jacobi = JACOBI.simulate(many_grids).adsorption
    gap = many_exact.adsorption[:, 1:] - jacobi[:, 1:]
    assert gap.min() > -1e-9
    assert gap.max() < 0.2


# ----------------------------------------------------------------- 3: symmetries


def transformed_copies(grid):
    """All L*L periodic translations, then the 8 rotations/reflections (identity included)."""
    size = grid.shape[0]
    copies = [np.roll(grid, (a, b), axis=(0, 1)) for a in range(size) for b in range(size)]
    for k in range(4):
        rotated = np.rot90(grid, k)
        copies += [rotated, rotated[:, ::-1]]
    return np.array(copies)


@BOTH_METHODS
def test_theta_invariant_under_translations_rotations_reflections(model):
    grid = random_grid(20, 0.75, 21)
    batch = transformed_copies(grid)
    assert batch.shape == (20 * 20 + 8, 20, 20)
    result = model.simulate(batch, desorption=True)
    assert (result.desorption[0] - result.adsorption[0]).max() > 0.05  # non-trivial isotherm
    for branch in (result.adsorption, result.desorption):
        np.testing.assert_allclose(branch, np.broadcast_to(branch[0], branch.shape), atol=1e-9)


# ------------------------------------------------------- 4: bulk mean-field lattice gas


def test_all_pore_grid_exact_is_the_bulk_mean_field_lattice_gas():
    result = EXACT.simulate(np.ones((10, 10)), desorption=True)
    bulk = bulk_branch(stop=lambda delta: abs(delta) < 1e-16)
    np.testing.assert_allclose(result.adsorption[0], bulk, rtol=0, atol=1e-9)


def test_all_pore_grid_jacobi_is_the_bulk_iteration_with_the_same_stop():
    # for a uniform state, the mean over sites of (delta rho)^2 is delta^2
    result = JACOBI.simulate(np.ones((9, 9)), desorption=True)
    bulk = bulk_branch(stop=lambda delta: delta * delta < 1e-10)
    np.testing.assert_allclose(result.adsorption[0], bulk, rtol=0, atol=1e-13)


@BOTH_METHODS
def test_all_pore_grid_stays_on_the_gas_branch_up_to_saturation(model):
    """Without walls there is no capillary condensation below saturation.

    mu_sat = -2 w_ff is the particle-hole symmetric point, i.e. bulk gas-liquid coexistence
    sits exactly at RH = 1, and the mean-field gas spinodal lies far above it (RH ~ 3.7 at
    298 K), so warm-started adsorption follows the (meta)stable gas branch up to RH = 1 and
    the desorption branch, which starts from that gas state, retraces it.
    """
    result = model.simulate(np.ones((8, 8)), desorption=True)
    ads, des = result.adsorption[0], result.desorption[0]
    assert np.diff(ads).max() < 0.01  # no jump
    assert 0.005 < ads[-1] < 0.05  # dilute gas at saturation, reported as computed
    # no hysteresis (plain Jacobi stops ~1e-5 short of the fixed point on either side)
    np.testing.assert_allclose(des, ads, rtol=0, atol=1e-9 if model is EXACT else 1e-4)
    # at RH = 1 the liquid root 1 - theta coexists with the gas root theta
    beta, w_ff, _, mu_sat = model_constants()
    for rho in (ads[-1], 1.0 - ads[-1]):
        residual = 1.0 / (1.0 + math.exp(-beta * (mu_sat + 4.0 * w_ff * rho))) - rho
        assert abs(residual) < 1e-5


SLITS = np.array([slit(20, width) for width in (2, 3, 4, 5)])


@pytest.fixture(scope="module")
def slit_isotherms():
    return EXACT.simulate(SLITS, desorption=True)


def test_slit_pores_condense_with_a_jump_and_kelvin_ordering(slit_isotherms):
    rh = slit_isotherms.relative_pressure
    condensation = []
    for ads in slit_isotherms.adsorption:
        k = int(np.argmax(ads > 0.9))  # first point where the pore is filled
        assert k > 0
        assert ads[k - 1] < 0.6  # a jump from low to high between consecutive points
        condensation.append(rh[k])
    # Kelvin: wider pores condense at higher pressure, all below saturation
    assert np.all(np.diff(condensation) > 0)
    assert condensation[0] < 0.3
    assert condensation[-1] >= 0.9  # width 5 condenses near saturation
    widest = slit_isotherms.adsorption[-1]
    k = int(np.argmax(widest > 0.9))
    assert rh[k - 1] >= 0.9 and widest[k - 1] < 0.6 and widest[k] > 0.95


def test_slit_pores_desorption_stays_high_below_condensation(slit_isotherms):
    for ads, des in zip(slit_isotherms.adsorption, slit_isotherms.desorption, strict=True):
        k = int(np.argmax(ads > 0.9))
        assert ads[k - 1] < 0.6 and des[k - 1] > 0.9  # hysteresis loop at k - 1
        evaporation = int(np.argmax(des > 0.9))
        assert evaporation < k - 1  # desorption stays filled well below condensation
        assert des[0] < 1e-30  # and drains at RH = 0


# ---------------------------------------------------------------- 5: isolated pores


@pytest.mark.parametrize(
    "grid",
    [checkerboard(10), 1 - checkerboard(10), np.roll(isolated_pores(12, 4), 1, axis=0)],
    ids=["checker", "checker-odd-sites", "4x4-odd-sites"],
)
@BOTH_METHODS
def test_isolated_pores_follow_the_single_site_formula(model, grid):
    result = model.simulate(grid, desorption=True)
    expected = single_pore_theta(default_rh())
    np.testing.assert_allclose(result.adsorption[0], expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(result.desorption[0], expected, rtol=1e-12, atol=0)
    # field beta (mu + 4 w_mf) = 4 beta w_ff + ln RH = 8.68 + ln RH: filled at low RH
    rh = result.relative_pressure
    assert result.adsorption[0][rh == 0.025][0] > 0.99
    assert np.all(result.adsorption[0][rh >= 0.05 - 1e-12] > 0.995)
    assert result.adsorption[0][-1] < 1.0  # reported as computed, not forced to 1


# ------------------------------------------------------------------ 6: hysteresis


@BOTH_METHODS
def test_slit_pores_adsorption_below_desorption(model):
    grids = np.array([slit(16, width) for width in range(1, 17)])
    result = model.simulate(grids, desorption=True)
    assert np.all(result.adsorption <= result.desorption + 1e-9)
    loops = (result.desorption - result.adsorption).max(axis=1)
    assert loops[1] > 0.5  # width 2: a real hysteresis loop
    no_loop = 1e-9 if model is EXACT else 1e-4  # Jacobi stops ~1e-5 short on either side
    assert loops[0] < no_loop and loops[-1] < no_loop  # width 1 and the all-pore grid


# ----------------------------------------------------------- 7: monotone branches


@pytest.fixture(scope="module")
def many_grids():
    rng = np.random.default_rng(2024)
    porosity = np.linspace(0.2, 0.97, 48)[:, None, None]
    grids = (rng.random((48, 14, 14)) < porosity).astype(np.uint8)
    grids[:, 0, 0] = 1
    return grids


@pytest.fixture(scope="module")
def many_exact(many_grids):
    return EXACT.simulate(many_grids, desorption=True)


@BOTH_METHODS
def test_branches_monotone_bounded_and_ordered_on_random_grids(model, many_grids):
    result = model.simulate(many_grids, desorption=True)
    assert result.adsorption.shape == result.desorption.shape == (48, N_POINTS)
    assert np.all(np.diff(result.adsorption, axis=1) >= -1e-12)
    assert np.all(np.diff(result.desorption, axis=1) >= -1e-12)
    assert np.all(result.adsorption <= result.desorption + 1e-9)
    assert np.all((result.adsorption >= 0) & (result.desorption <= 1))
    np.testing.assert_array_equal(result.desorption[:, -1], result.adsorption[:, -1])


# ------------------------------------------------- 8: outputs, custom pressures, T


def test_default_pressure_grid_and_theta_at_zero(many_exact):
    rh = many_exact.relative_pressure
    assert rh.shape == (N_POINTS,)
    np.testing.assert_allclose(rh, default_rh(), rtol=0, atol=1e-15)
    assert rh[0] == 0.0 and rh[-1] == 1.0
    theta0 = many_exact.adsorption[:, 0]
    assert np.all(theta0 > 0)  # mu = -90 drains the pores, but theta is not forced to 0
    assert np.all(theta0 < 1e-50)


@BOTH_METHODS
def test_custom_pressures_and_temperature_on_isolated_pores(model):
    rh = (0.0, 0.01, 0.1, 0.5, 0.9, 1.0)
    for temperature in (250.0, 298.0, 350.0):
        custom = LatticeDFT(
            temperature=temperature, relative_pressure=rh, method=model.method
        ).simulate(checkerboard(8), desorption=True)
        assert custom.adsorption.shape == custom.desorption.shape == (1, len(rh))
        np.testing.assert_array_equal(custom.relative_pressure, rh)
        np.testing.assert_allclose(
            custom.adsorption[0], single_pore_theta(rh, temperature), rtol=1e-12, atol=0
        )


def test_custom_pressure_subset_reproduces_the_exact_branches(many_grids, many_exact):
    """The exact adsorption fixed point does not depend on the warm-start path (the least
    fixed point above the RH = 0 state), nor does desorption given the RH = 1 state."""
    idx = [0, 8, 12, 20, 28, 36, 40]
    rh = tuple(np.linspace(0.0, 1.0, N_POINTS)[idx].tolist())
    subset = LatticeDFT(relative_pressure=rh).simulate(many_grids, desorption=True)
    np.testing.assert_allclose(subset.adsorption, many_exact.adsorption[:, idx], atol=1e-8)
    np.testing.assert_allclose(subset.desorption, many_exact.desorption[:, idx], atol=1e-8)


@pytest.mark.parametrize("accuracy", [1e-3, 1e-6])
def test_exact_honours_a_loose_accuracy(many_grids, accuracy):
    """theta is certified within ``accuracy`` of the fixed point, also when the bracket is
    wide (a stopping estimate, unlike a bracket, can be off by more than it claims)."""
    tight = LatticeDFT(method="jacobi", tolerance=1e-26).simulate(many_grids, desorption=True)
    loose = LatticeDFT(accuracy=accuracy).simulate(many_grids, desorption=True)
    for got, ref in ((loose.adsorption, tight.adsorption), (loose.desorption, tight.desorption)):
        error = np.abs(got - ref)
        assert error.max() <= accuracy
        assert error.max() > 1e-3 * accuracy  # it did stop early


def test_exact_near_a_condensation_fold():
    """Pressures 0.0025 apart across the condensation of a width-3 slit: just below the fold
    the filled-in-walls state converges slowly, just above it the iteration crawls through the
    fold's ghost before condensing. Both must land where tight Jacobi does."""
    rh = (0.0,) + tuple(np.round(np.arange(0.3, 0.37, 0.0025), 4).tolist())
    grid = slit(12, 3)
    exact = LatticeDFT(relative_pressure=rh).simulate(grid, desorption=True)
    tight = LatticeDFT(relative_pressure=rh, method="jacobi", tolerance=1e-26).simulate(
        grid, desorption=True
    )
    assert np.diff(exact.adsorption[0]).max() > 0.3  # the condensation step is inside the grid
    np.testing.assert_allclose(exact.adsorption, tight.adsorption, rtol=0, atol=1e-8)
    np.testing.assert_allclose(exact.desorption, tight.desorption, rtol=0, atol=1e-8)


def test_exact_first_pressure_above_zero(many_grids):
    """The first point falls from rho = eta (the greatest fixed point below it), the next
    ones rise: a pressure grid starting inside the hysteresis range must match Jacobi."""
    rh = (0.3, 0.5, 0.7, 0.9, 1.0)
    exact = LatticeDFT(relative_pressure=rh).simulate(many_grids, desorption=True)
    tight = LatticeDFT(relative_pressure=rh, method="jacobi", tolerance=1e-26).simulate(
        many_grids, desorption=True
    )
    np.testing.assert_allclose(exact.adsorption, tight.adsorption, rtol=0, atol=1e-8)
    np.testing.assert_allclose(exact.desorption, tight.desorption, rtol=0, atol=1e-8)
    low = LatticeDFT(relative_pressure=(0.0,) + rh).simulate(many_grids).adsorption[:, 1:]
    assert (exact.adsorption - low).max() > 0.5  # starting filled keeps some grids filled


@BOTH_METHODS
def test_higher_temperature_lowers_filling_on_wall_dominated_grid(model):
    """With mu = mu_sat + k_B T ln RH the field of a pore site is
    beta w_ff (sum_j rho_j - 2 + y n_solid) + ln RH; with >= 2 solid neighbours per pore
    the bracket is positive, so raising T lowers F everywhere and the filling at every
    RH > 0. (Not true for grids with bulk-like regions, where the gas density rises with T.)
    """
    grid = thin_grid(14, 5)
    assert grid.sum() > 30
    cold = LatticeDFT(method=model.method).simulate(grid).adsorption[0]
    hot = LatticeDFT(method=model.method, temperature=340.0).simulate(grid).adsorption[0]
    assert np.all(hot[1:] <= cold[1:] + 1e-9)
    mid = N_POINTS // 2  # RH = 0.5
    assert cold[mid] - hot[mid] > 1e-4


def test_stronger_walls_raise_filling(many_grids, many_exact):
    strong = LatticeDFT(wall_ratio=2.0).simulate(many_grids).adsorption
    weak = LatticeDFT(wall_ratio=1.0).simulate(many_grids).adsorption
    assert np.all(strong >= many_exact.adsorption - 1e-9)
    assert np.all(weak <= many_exact.adsorption + 1e-9)
    assert (strong - weak)[:, 1:].min() > 0


# ------------------------------------------------------------ 9: input validation


@pytest.mark.parametrize(
    ("grids", "message"),
    [
        (np.zeros((5, 5)), "no pore site"),
        (np.array([np.ones((4, 4)), np.zeros((4, 4))]), "grid 1 has no pore site"),
        (np.full((4, 4), 2), "0 (solid) or 1 (pore)"),
        (np.full((4, 4), 0.5), "0 (solid) or 1 (pore)"),
        (-np.ones((4, 4), int), "0 (solid) or 1 (pore)"),
        (np.ones((4, 5)), "square"),
        (np.ones((2, 3, 4)), "square"),
        (np.where(np.eye(4) > 0, np.nan, 1.0), "NaN"),
        (np.ones(4), "shape"),
        (np.ones((1, 1, 4, 4)), "shape"),
        (np.ones((0, 4, 4)), "empty"),
        (np.array([["1", "0"], ["0", "1"]]), "numeric"),
    ],
    ids=[
        "no-pore",
        "no-pore-in-batch",
        "value-2",
        "value-0.5",
        "value-minus-1",
        "non-square",
        "non-square-batch",
        "nan",
        "1d",
        "4d",
        "empty-batch",
        "strings",
    ],
)
def test_bad_grids_raise_input_error_naming_the_problem(grids, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_grids(grids)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        simulate(grids)


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"relative_pressure": (0.5, 0.2)},
        {"relative_pressure": (0.0, 1.5)},
        {"relative_pressure": ()},
        {"method": "newton"},
        {"temperature": -1.0},
        {"tolerance": 0.0},
    ],
)
def test_bad_model_parameters_raise_input_error(kwargs):
    with pytest.raises(InputError):
        LatticeDFT(**kwargs)


def test_bool_integer_float_and_single_grids_accepted():
    grid = random_grid(10, 0.6, 7)
    reference = simulate(grid[None], desorption=True)
    assert isinstance(reference, Isotherms)
    for variant in (
        grid.astype(bool),
        grid.astype(np.int64),
        grid.astype(np.int8),
        grid.astype(float),
        grid.tolist(),
    ):
        converted = validate_grids(variant)
        assert converted.shape == (1, 10, 10) and converted.dtype == np.uint8
        result = simulate(variant, desorption=True)
        np.testing.assert_array_equal(result.adsorption, reference.adsorption)
        np.testing.assert_array_equal(result.desorption, reference.desorption)
    single = simulate(grid)
    assert single.adsorption.shape == (1, N_POINTS)
    assert single.desorption is None
    np.testing.assert_array_equal(single.adsorption, reference.adsorption)


def test_simulate_within_stops_only_grids_proved_above_the_bound(many_grids, many_exact):
    """Branch and bound: a grid's simulation stops once the error of the points done
    exceeds bound x P; the points done equal the full simulation's, the grids that pass
    are untouched, and a stopped grid's partial error is a lower bound above the bound."""
    target = many_exact.adsorption[5]
    mae = np.abs(many_exact.adsorption - target).mean(axis=1)
    bound = float(np.median(mae))
    got = EXACT.simulate_within(many_grids, target, bound).adsorption
    stopped = np.isnan(got).any(axis=1)
    assert not stopped[mae <= bound].any()
    assert stopped[mae > bound].any()
    done = ~np.isnan(got)
    np.testing.assert_allclose(got[done], many_exact.adsorption[done], atol=1e-8)
    partial = np.nansum(np.abs(got - target), axis=1) / target.size
    assert np.all(partial[stopped] > bound) and np.all(partial[stopped] <= mae[stopped] + 1e-8)
    for row in np.flatnonzero(stopped):  # NaN from the stop onwards, nothing before it
        first = np.flatnonzero(np.isnan(got[row]))[0]
        assert np.isnan(got[row, first:]).all() and not np.isnan(got[row, :first]).any()
    unbounded = EXACT.simulate_within(many_grids, target, np.inf).adsorption
    np.testing.assert_array_equal(unbounded, EXACT.simulate(many_grids).adsorption)
    with pytest.raises(InputError, match="target must have 41 points"):
        EXACT.simulate_within(many_grids, target[:5], bound)


def _newton_theta(model, eta, rho, mu):
    """theta at the fixed point of rho = eta sigmoid(beta (mu + w_ff A rho + w_mf A (1 -
    eta))) for real-valued eta (L, L), by Newton's method from rho (slow reference)."""
    size = eta.shape[0]
    adjacency = np.zeros((size * size, size * size))
    for i in range(size):
        for j in range(size):
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                adjacency[i * size + j, ((i + di) % size) * size + (j + dj) % size] += 1
    e, r = eta.ravel(), rho.ravel().copy()
    for _ in range(50):
        h = model.beta * (mu + model.w_ff * adjacency @ r + model.w_mf * adjacency @ (1 - e))
        s = 1 / (1 + np.exp(-h))
        residual = r - e * s
        jacobian = np.eye(r.size) - (e * s * (1 - s) * model.beta * model.w_ff)[:, None] * adjacency
        r -= np.linalg.solve(jacobian, residual)
        if np.abs(residual).max() < 1e-15:
            break
    return r.sum() / e.sum()


def test_flip_response_is_the_derivative_of_theta_by_each_cells_type():
    """d theta / d eta by implicit differentiation equals central differences of the fixed
    point solved by Newton's method for real-valued eta, on every cell (pore and solid) and
    every pressure; theta and the densities agree with simulate()."""
    rng = np.random.default_rng(5)
    grid = (rng.random((6, 6)) < 0.6).astype(np.uint8)
    model = LatticeDFT(accuracy=1e-12)
    rho = model.densities(grid)[0]
    theta, dtheta = model.flip_response(grid)
    np.testing.assert_allclose(theta, model.simulate(grid).adsorption[0], atol=1e-12)
    np.testing.assert_allclose(rho.sum(axis=(1, 2)) / grid.sum(), theta, atol=1e-12)
    assert np.all(rho[:, grid == 0] == 0)
    eps = 1e-6
    mus = model.chemical_potential()
    for p in range(0, N_POINTS, 4):
        for k in range(grid.size):
            shifted = [grid.astype(float).ravel() for _ in range(2)]
            shifted[0][k] += eps
            shifted[1][k] -= eps
            up, down = (_newton_theta(model, e.reshape(6, 6), rho[p], mus[p]) for e in shifted)
            np.testing.assert_allclose(dtheta[p].flat[k], (up - down) / (2 * eps), atol=1e-6)


def test_flip_response_moves_with_the_grid():
    """Translating or rotating the grid translates or rotates the response."""
    rng = np.random.default_rng(6)
    grid = (rng.random((10, 10)) < 0.7).astype(np.uint8)
    _, dtheta = EXACT.flip_response(grid)
    _, moved = EXACT.flip_response(np.roll(grid, (3, -2), axis=(0, 1)))
    np.testing.assert_allclose(moved, np.roll(dtheta, (3, -2), axis=(1, 2)), atol=1e-9)
    _, turned = EXACT.flip_response(np.rot90(grid))
    np.testing.assert_allclose(turned, np.rot90(dtheta, axes=(1, 2)), atol=1e-9)
