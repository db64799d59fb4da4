import numpy as np
import pytest
import torch

from matinverse.errors import InputError
from matinverse.nn import load_model
from matinverse.strain.inverse import CINN, INN, METHODS
from matinverse.strain.training import raw_sample_quality, train_inverse

TINY = {
    "inn": {"blocks": 2, "width": 16},
    "cinn": {"blocks": 2, "width": 16},
    "cvae": {"latent": 2, "width": 16, "depth": 1},
    "mdn": {"components": 3, "width": 16, "depth": 1},
}


def build(method, **extra):
    return METHODS[method](
        x_mean=[3.0] * 7, x_scale=[0.5] * 7, y_mean=0.3, y_scale=0.5, **TINY[method], **extra
    )


@pytest.mark.parametrize("method", list(METHODS))
def test_models_give_finite_losses_and_samples_in_design_units(method, tmp_path):
    torch.manual_seed(0)
    model = build(method)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 7, generator=gen), torch.randn(32, 1, generator=gen)
    terms = model.loss(x, y, gen)
    assert torch.isfinite(terms["loss"]) and terms["loss"].requires_grad
    terms["loss"].backward()
    samples = model.sample(1.0, 50, torch.Generator().manual_seed(1))
    assert samples.shape == (50, 7) and np.isfinite(samples).all()
    # standardisation is undone: samples are centred near x_mean in units of x_scale
    assert abs(samples.mean() - 3.0) < 2.0
    model.save(tmp_path / "m.pt")
    again = load_model(tmp_path / "m.pt", type(model))
    np.testing.assert_allclose(
        again.sample(1.0, 50, torch.Generator().manual_seed(1)), samples, rtol=1e-5, atol=1e-5
    )


def test_inn_is_invertible():
    torch.manual_seed(0)
    model = build("inn")
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(0.1 * torch.randn_like(p))  # leave the identity start
        x = torch.randn(20, 7)
        out, _ = model.net(x)
        back, _ = model.net(out, rev=True)
    assert isinstance(model, INN) and out.shape == (20, 7)
    assert not torch.allclose(out, x, atol=1e-2)
    torch.testing.assert_close(back, x, atol=1e-4, rtol=1e-4)


def test_cinn_likelihood_matches_a_change_of_variables():
    torch.manual_seed(0)
    model = build("cinn")
    x, y = torch.randn(8, 7), torch.randn(8, 1)
    with torch.no_grad():
        z, log_det = model.net(x, c=[y])
    nll = float(model.loss(x, y, torch.Generator())["nll"].detach())
    assert nll == pytest.approx(float((0.5 * z.pow(2).sum(1) - log_det).mean() / 7), rel=1e-5)
    assert isinstance(model, CINN)


def test_building_an_inn_leaves_numpys_global_random_state_alone():
    np.random.seed(123)  # noqa: NPY002
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    build("inn")
    assert np.random.random() == expected  # noqa: NPY002


@pytest.mark.parametrize("method", ["mdn", "inn"])
def test_training_improves_the_fit_and_raw_samples(method, design_split, tiny_surrogate):
    surrogate = load_model(tiny_surrogate)
    model, history = train_inverse(
        method,
        design_split.train,
        design_split.val,
        config=TINY[method],
        epochs=2,
        steps_per_epoch=40,
        batch=128,
        lr=3e-3,
        surrogate=surrogate,
    )
    assert [r["epoch"] for r in history] == [1, 2]
    key = "val_fit" if method == "inn" else "val_nll"
    assert history[-1][key] < history[0][key]
    quality = raw_sample_quality(model, surrogate, targets=(0.5, 1.0), n=200)
    assert 0 < quality["raw_in_bounds"] <= 1 and quality["raw_mae"] < 1.0


def test_training_refuses_unknown_methods_and_tiny_data(design_split):
    with pytest.raises(InputError, match="method"):
        train_inverse("gan", design_split.train, design_split.val)
    few = design_split.train.rows(np.arange(10))
    with pytest.raises(InputError, match="training rows"):
        train_inverse("mdn", few, design_split.val)
