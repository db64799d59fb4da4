import numpy as np
import pytest
import torch

from matinverse.porous.models import GridGenerator, IsothermPredictor


@pytest.fixture(scope="module")
def grids():
    rng = np.random.default_rng(0)
    g = (rng.random((6, 8, 8)) < 0.6).astype(np.float32)
    return torch.as_tensor(g)


def test_predictor_gives_monotone_fillings_in_unit_interval(grids):
    torch.manual_seed(0)
    model = IsothermPredictor(41, width=8, dilations=(1, 2)).eval()
    theta = model(grids)
    assert theta.shape == (6, 41)
    assert (theta >= 0).all() and (theta <= 1).all()
    assert (theta.diff(dim=1) >= 0).all()


def test_predictor_is_exactly_translation_invariant(grids):
    torch.manual_seed(1)
    model = IsothermPredictor(41, width=8, dilations=(1, 2)).eval()
    with torch.no_grad():
        ref = model(grids)
        for shift in [(1, 0), (3, 5), (7, 7)]:
            torch.testing.assert_close(model(torch.roll(grids, shift, dims=(1, 2))), ref)


def test_predictor_averages_only_over_pores():
    """Changing the density head's output at solid sites cannot change theta: theta is the
    pore-site mean, as in the simulator."""
    torch.manual_seed(2)
    model = IsothermPredictor(5, width=4, dilations=(1,)).eval()
    grid = torch.zeros(1, 6, 6)
    grid[0, 2, 3] = 1
    rho = model.site_density(grid)
    torch.testing.assert_close(model(grid), rho[:, :, 2, 3])
    assert torch.isfinite(model(torch.zeros(1, 6, 6))).all()  # no pores: finite, not NaN


def test_generator_makes_binary_grids_and_trains_through_the_predictor():
    torch.manual_seed(3)
    gen = GridGenerator(41, code_dim=4, size=8, width=8)
    pred = IsothermPredictor(41, width=8, dilations=(1,)).requires_grad_(False)
    targets = torch.rand(5, 41).sort(dim=1).values
    grids = gen.grids(targets, torch.rand(5, 4) * 2 - 1)
    assert grids.shape == (5, 8, 8)
    assert set(torch.unique(grids).tolist()) <= {0.0, 1.0}
    (pred(grids) - targets).abs().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gen.parameters())
    assert any(p.grad.abs().sum() > 0 for p in gen.parameters())


def test_generator_needs_size_divisible_by_four():
    with pytest.raises(ValueError):
        GridGenerator(size=10)
