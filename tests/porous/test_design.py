import numpy as np
import pytest
import torch

from matinverse.errors import InputError
from matinverse.optimize import VerifiedPool, steepest_descent
from matinverse.porous.design import DesignSettings, IsothermObjective, PorousDesigner
from matinverse.porous.models import GridGenerator, IsothermPredictor
from matinverse.porous.simulator import LatticeDFT


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return IsothermPredictor(41, width=8, dilations=(1, 2)), GridGenerator(41, 3, 8, width=8)


def test_objective_scores_flips_like_the_surrogate(models, reference):
    objective = IsothermObjective(
        reference.adsorption[0], models[0], LatticeDFT(), 8, ranking="surrogate"
    )
    x = reference.grids[1].reshape(-1).astype(np.uint8)
    scores = objective.flip_scores(x)
    flips = np.repeat(x[None], 64, axis=0)
    flips[np.arange(64), np.arange(64)] ^= 1
    change = objective.surrogate(flips) - objective.surrogate(x[None])[0]
    assert np.corrcoef(scores, change)[0, 1] > 0.5  # first order, so close but not equal
    assert objective.exact(np.zeros((1, 64), np.uint8))[0] == np.inf  # no pore: infeasible


def test_response_scores_put_the_restoring_flip_first(models, reference):
    """One flip away from a grid whose isotherm is the target, the exact linear response
    ranks the flip back among the best few of the 64 (the surrogate here is untrained)."""
    ranks = []
    for g in range(4):
        grid = reference.grids[g].reshape(-1).astype(np.uint8)
        objective = IsothermObjective(reference.adsorption[g], models[0], LatticeDFT(), 8)
        for cell in np.random.default_rng(g).choice(64, 6, replace=False):
            start = grid.copy()
            start[cell] ^= 1
            if start.any() and objective.exact(start[None])[0] > 1e-6:
                order = np.argsort(objective.flip_scores(start), kind="stable")
                ranks.append(int(np.flatnonzero(order == cell)[0]))
    assert len(ranks) >= 12
    assert np.median(ranks) <= 2 and np.mean(np.array(ranks) < 8) >= 0.75


def test_exact_descent_recovers_a_perturbed_grid(models, reference):
    """With every flip verified, steepest descent is exact: one flip away from a grid, it
    finds a grid with that grid's isotherm."""
    grid = reference.grids[3].reshape(-1).astype(np.uint8)
    objective = IsothermObjective(reference.adsorption[3], models[0], LatticeDFT(), 8)
    start = grid.copy()
    start[int(np.flatnonzero(grid)[0])] ^= 1
    pool = VerifiedPool(objective)
    result = steepest_descent(pool, start, max_steps=5, verify=64, screen=None)
    assert result.loss < 1e-9
    assert result.history[0] > 0


@pytest.mark.parametrize(
    "stages, ranking",
    [
        (("generator",), "response"),
        (("generator", "descent"), "response"),
        (("generator", "descent"), "surrogate"),
        (("swarm",), "response"),
        (("random",), "response"),
    ],
)
def test_every_returned_grid_is_verified_by_the_simulator(models, reference, stages, ranking):
    settings = DesignSettings(
        stages=stages, candidates=3, time_limit=0.5, codes=32, ranking=ranking
    )
    designer = PorousDesigner(*models, settings=settings)
    target = reference.adsorption[5]
    result = designer.design(target, np.random.default_rng(0))
    assert result.grids.shape == (3, 8, 8) and result.grids.dtype == np.uint8
    assert len({g.tobytes() for g in result.grids}) == 3
    simulated = LatticeDFT().simulate(result.grids).adsorption
    np.testing.assert_array_equal(result.adsorption, simulated)
    np.testing.assert_allclose(result.mae, np.abs(simulated - target).mean(axis=1))
    np.testing.assert_allclose(result.max_error, np.abs(simulated - target).max(axis=1))
    assert np.all(np.diff(result.mae) >= 0)
    assert set(result.stage_mae) == set(stages)


def test_descent_improves_on_the_generator(models, reference):
    target = reference.adsorption[7]
    alone = PorousDesigner(*models, settings=DesignSettings(("generator",), codes=32))
    refined = PorousDesigner(
        *models, settings=DesignSettings(("generator", "descent"), codes=32, time_limit=2)
    )
    a = alone.design(target, np.random.default_rng(1))
    b = refined.design(target, np.random.default_rng(1))
    assert b.mae[0] <= a.mae[0]
    assert b.stage_mae["descent"] <= b.stage_mae["generator"]


def test_settings_are_checked(models):
    with pytest.raises(InputError, match="stages"):
        DesignSettings(stages=("magic",))
    with pytest.raises(InputError, match="ranking must be one of"):
        DesignSettings(ranking="magic")
    with pytest.raises(InputError, match="needs a generator"):
        PorousDesigner(models[0], None, settings=DesignSettings())


def test_progress_counts_milliseconds_and_can_stop_the_design(models, reference):
    settings = DesignSettings(("generator", "descent"), candidates=2, time_limit=0.6, codes=32)
    designer = PorousDesigner(*models, settings=settings)
    calls = []
    designer.design(reference.adsorption[2], np.random.default_rng(0), lambda *c: calls.append(c))
    assert len(calls) >= 3 and {total for _, total in calls} == {600}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == 600

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        designer.design(reference.adsorption[2], np.random.default_rng(0), stop)
