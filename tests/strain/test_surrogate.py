import numpy as np
import pytest
import torch

from matinverse.errors import InputError
from matinverse.nn import load_model
from matinverse.strain.surrogate import BandGapEnsemble, evaluate_surrogate, train_surrogate
from matinverse.train.uncertainty import laplace_std_factor


def test_surrogate_learns_the_gap_and_is_calibrated(design_split, tiny_surrogate):
    model = load_model(tiny_surrogate, BandGapEnsemble)
    history = model.metadata["history"]
    assert [r["epoch"] for r in history] == [1, 2]
    report = evaluate_surrogate(model, design_split.test)
    assert set(report) == {"all", "metallic", "gapped"}
    gapped = design_split.test.bandgap[~design_split.test.metallic]
    baseline = np.mean(np.abs(gapped - np.median(gapped)))
    assert report["gapped"]["mae"] < 0.5 * baseline
    assert report["metallic"]["mae"] < 0.1
    # predictions are gaps: never negative; calibrated on gapped validation rows
    val = design_split.val
    mean, std = model.predict(val.x)
    assert (mean >= 0).all() and (std > 0).all()
    gapped = ~val.metallic
    factor = laplace_std_factor(mean[gapped], std[gapped], val.bandgap[gapped])
    assert factor == pytest.approx(1, rel=1e-4)


def test_surrogate_is_differentiable_and_knows_its_bounds(design_split, tiny_surrogate):
    model = load_model(tiny_surrogate)
    lower, upper = model.bounds()
    np.testing.assert_allclose(lower, design_split.train.x.min(0), rtol=1e-6)
    np.testing.assert_allclose(upper, design_split.train.x.max(0), rtol=1e-6)
    x = torch.tensor(design_split.val.x[:5], dtype=torch.float32, requires_grad=True)
    mean, std = model.predict_tensor(x)
    mean.sum().backward()
    assert x.grad.abs().sum() > 0
    np.testing.assert_allclose(mean.detach().numpy(), model.predict(x.detach().numpy())[0], 1e-6)


def test_surrogate_refuses_a_single_member_or_too_few_rows(design_split):
    with pytest.raises(InputError, match="2 members"):
        BandGapEnsemble([0.0] * 7, [1.0] * 7, [0.0] * 7, [1.0] * 7, members=1)
    few = design_split.train.rows(np.arange(10))
    with pytest.raises(InputError, match="training rows"):
        train_surrogate(few, design_split.val)
