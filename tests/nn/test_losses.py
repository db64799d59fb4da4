import pytest
import torch

from matinverse.nn import censored_l1, mmd_multiscale

SCALES = ((0.2, 2.0), (1.5, 2.0), (3.0, 2.0))


def test_mmd_is_zero_for_equal_samples_and_grows_with_a_shift():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 3, generator=gen)
    y = torch.randn(300, 3, generator=gen)
    assert abs(float(mmd_multiscale(x, x, SCALES))) < 1e-5
    same = float(mmd_multiscale(x, y, SCALES))
    shifted = float(mmd_multiscale(x, y + 1.0, SCALES))
    assert 0 <= same < 0.1 * shifted


def test_mmd_pulls_samples_towards_the_other_set():
    x = torch.zeros(50, 2, requires_grad=True)
    y = torch.ones(50, 2)
    mmd_multiscale(x, y, SCALES).backward()
    assert (x.grad < 0).all()  # descending moves x towards y


def test_censored_l1_treats_a_zero_target_as_an_upper_bound():
    prediction = torch.tensor([-0.3, 0.2, 0.5, 1.0])
    target = torch.tensor([0.0, 0.0, 0.7, 1.0])
    # metal predicted below 0: free; metal predicted 0.2: 0.2; gapped rows: plain |error|
    assert float(censored_l1(prediction, target)) == pytest.approx((0.2 + 0.2 + 0.0) / 4)


def test_gradient_penalty_vanishes_for_a_unit_slope_critic():
    from matinverse.nn import gradient_penalty

    weight = torch.ones(8 * 85) / (8 * 85) ** 0.5

    def critic(x):
        return x.flatten(1) @ weight

    x, y = torch.rand(5, 8, 85), torch.rand(5, 8, 85)
    gen = torch.Generator().manual_seed(0)
    assert gradient_penalty(critic, x, y, gen).item() == pytest.approx(0.0, abs=1e-10)
    weight = weight * 3.0
    assert gradient_penalty(critic, x, y, gen).item() == pytest.approx(4.0, rel=1e-5)
