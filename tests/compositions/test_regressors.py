import numpy as np
import pytest
import torch

from matinverse.compositions.features import fractions
from matinverse.compositions.regressors import (
    ElementAttention,
    ElemNet,
    PropertyEnsemble,
    robust_loss,
)
from matinverse.errors import InputError
from matinverse.nn import load_model


def test_robust_loss_learns_the_median_and_the_laplace_scale():
    target = torch.tensor([0.0, 0.1, 0.2, 1.0, 5.0])
    locations = torch.linspace(-1, 6, 701)
    losses = [
        robust_loss(torch.stack([torch.full((5,), m), torch.zeros(5)], 1), target, 0.0)
        for m in locations
    ]
    best = locations[int(torch.stack(losses).argmin())]
    assert float(best) == pytest.approx(0.2, abs=0.011)
    # for fixed errors the best scale is their mean absolute error (times sqrt 2)
    scales = torch.linspace(-3, 3, 601)
    mu = torch.full((5,), 0.2)
    losses = [robust_loss(torch.stack([mu, torch.full((5,), s)], 1), target, 0.0) for s in scales]
    best = float(scales[int(torch.stack(losses).argmin())].exp())
    assert best == pytest.approx(np.sqrt(2) * float((target - 0.2).abs().mean()), rel=0.02)


def test_learning_the_scale_leaves_the_prediction_alone():
    torch.manual_seed(0)
    frac = torch.from_numpy(fractions(["NaCl", "LiFePO4", "Ta2TeZr"])[0])
    for model in (ElementAttention(dim=16, heads=2, layers=1), ElemNet(width_factor=0.0625)):
        model.eval()
        model(frac)[:, 1].sum().backward()
        moved = [n for n, p in model.named_parameters() if p.grad is not None and p.grad.any()]
        assert moved and all(n.startswith("scale.") for n in moved), moved


def test_elemnet_has_seventeen_layers():
    model = ElemNet()
    linear = [m for m in model.net.modules() if isinstance(m, torch.nn.Linear)] + [model.value]
    assert len(linear) == 17 and linear[0].in_features == 86 and linear[-1].out_features == 1


def test_attention_ignores_padding_and_order_of_the_batch():
    torch.manual_seed(0)
    model = ElementAttention(dim=16, heads=2, layers=2).eval()
    frac = torch.from_numpy(fractions(["NaCl", "LiFePO4", "Ta2TeZr", "CsPbI3"])[0])
    together = model(frac)
    alone = torch.cat([model(row[None]) for row in frac])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model(frac.flip(0)), together.flip(0), rtol=1e-4, atol=1e-5)
    assert torch.isfinite(model(torch.zeros(2, 86))).all()  # a row with no element


def test_ensemble_predicts_in_target_units_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = PropertyEnsemble(
        "attention",
        {"dim": 16, "heads": 2, "layers": 1},
        size=3,
        target_mean=2.0,
        target_scale=0.5,
        nonnegative=True,
    )
    frac = fractions(["NaCl", "GaAs", "SiO2"])[0]
    mean, std = model.predict(frac)
    raw = model(torch.from_numpy(frac)).detach()
    expect = (raw[..., 0].mean(1) * 0.5 + 2.0).clamp_min(0).numpy()
    np.testing.assert_allclose(mean, expect, rtol=1e-5)
    assert (std > 0).all() and (mean >= 0).all()
    model.std_scale = 3.0
    np.testing.assert_allclose(model.predict(frac)[1], 3 * std, rtol=1e-5)
    model.save(tmp_path / "m.pt", {"note": "test"})
    again = load_model(tmp_path / "m.pt", PropertyEnsemble)
    np.testing.assert_allclose(again.predict(frac)[0], mean, rtol=1e-6)
    np.testing.assert_allclose(again.predict(frac)[1], 3 * std, rtol=1e-5)
    with pytest.raises(InputError):
        PropertyEnsemble("nope")


def test_two_part_ensemble_predicts_the_mixture_and_fits_values_on_gapped_rows():
    torch.manual_seed(0)
    model = PropertyEnsemble(
        "elemnet",
        {"width_factor": 0.0625},
        size=2,
        target_mean=1.0,
        target_scale=2.0,
        nonnegative=True,
        two_part=True,
    )
    frac = torch.from_numpy(fractions(["NaCl", "GaAs", "Cu"])[0])
    assert model(frac).shape == (3, 2, 3)
    # members' (value, log std, gap logit): p = 0.9, 0.5 (boundary), 0.1
    logit = np.log(9.0)
    fixed = torch.tensor(
        [
            [[0.5, 0.0, logit], [1.5, 0.0, logit]],
            [[0.5, 0.0, 0.0], [0.5, 0.0, 0.0]],
            [[1.0, 0.0, -logit], [1.0, 0.0, -logit]],
        ],
        requires_grad=True,
    )
    model.forward = lambda fractions: fixed
    mean, std = (t.detach().numpy() for t in model.predict_tensor(frac))
    value = np.array([1.0, 0.5, 1.0]) * 2 + 1  # members' mean value, target units
    spread = 2 * np.sqrt((1 + 1e-3) ** 2 + np.array([0.25, 0, 0]))  # aleatoric + epistemic
    p = np.array([0.9, 0.5, 0.1])
    np.testing.assert_allclose(mean, [value[0], value[1], 0.0], rtol=1e-5)
    np.testing.assert_allclose(std, np.sqrt(p * spread**2 + p * (1 - p) * value**2), rtol=1e-5)
    smooth = model.predict_tensor(frac, smooth=True)[0].detach().numpy()
    np.testing.assert_allclose(smooth, p * value, rtol=1e-5)  # for steering: moves p too
    # the value and its scale learn from gapped rows only; the logit from every row
    model.loss(frac, torch.tensor([0.0, 3.0, 0.0])).backward()
    grad = fixed.grad.abs().sum(1)
    assert (grad[[0, 2], :2] == 0).all() and (grad[1, :2] > 0).all() and (grad[:, 2] > 0).all()
    with pytest.raises(InputError, match="nonnegative"):
        PropertyEnsemble("elemnet", two_part=True)
