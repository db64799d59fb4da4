import pickle

import pytest
import torch

from matinverse.errors import InputError
from matinverse.nn import (
    EnsembleLinear,
    PeriodicConv2d,
    SaveableModule,
    load_model,
    mlp,
    straight_through_binary,
)


@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_periodic_conv_commutes_with_translations(dilation):
    torch.manual_seed(0)
    conv = PeriodicConv2d(2, 3, 3, dilation=dilation)
    x = torch.randn(4, 2, 7, 9)
    y = conv(x)
    assert y.shape == (4, 3, 7, 9)
    for shift in [(1, 0), (0, 4), (3, 5)]:
        rolled = conv(torch.roll(x, shift, dims=(2, 3)))
        torch.testing.assert_close(rolled, torch.roll(y, shift, dims=(2, 3)))


def test_periodic_conv_wraps_around_the_edge():
    conv = PeriodicConv2d(1, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 0] = 1.0  # output(i, j) = input(i, j - 1)
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 2, 3] = 1.0
    assert conv(x)[0, 0, 2, 0] == 1.0  # the value at the right edge reaches column 0


def test_even_kernel_is_refused():
    with pytest.raises(ValueError):
        PeriodicConv2d(1, 1, 2)


def test_straight_through_is_binary_forward_and_sigmoid_backward():
    logits = torch.tensor([-2.0, -0.1, 0.3, 5.0], requires_grad=True)
    out = straight_through_binary(logits)
    assert out.tolist() == [0.0, 0.0, 1.0, 1.0]
    out.sum().backward()
    s = torch.sigmoid(logits.detach())
    torch.testing.assert_close(logits.grad, s * (1 - s))


class Tiny(SaveableModule):
    def __init__(self, n_in: int = 3, n_out: int = 2):
        super().__init__(n_in=n_in, n_out=n_out)
        self.lin = torch.nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.lin(x)


def test_save_and_load_round_trip(tmp_path):
    model = Tiny(4, 5)
    model.save(tmp_path / "m.pt", metadata={"val_mae": 0.1, "data": "x"})
    loaded = load_model(tmp_path / "m.pt", Tiny)
    assert loaded.config == {"n_in": 4, "n_out": 5}
    assert loaded.metadata == {"val_mae": 0.1, "data": "x"}
    x = torch.randn(3, 4)
    torch.testing.assert_close(loaded(x), model(x))
    assert not loaded.training


def test_half_precision_files_are_half_the_size_and_load_as_float32(tmp_path):
    model = Tiny(64, 64)
    model.save(tmp_path / "full.pt")
    model.save(tmp_path / "half.pt", half=True)
    full, half = (tmp_path / "full.pt").stat().st_size, (tmp_path / "half.pt").stat().st_size
    assert half < 0.6 * full
    loaded = load_model(tmp_path / "half.pt", Tiny)
    assert loaded.lin.weight.dtype == torch.float32
    # the weights are the float16 roundings of the originals
    torch.testing.assert_close(loaded.lin.weight, model.lin.weight.half().float(), rtol=0, atol=0)
    x = torch.randn(3, 64)
    torch.testing.assert_close(loaded(x), model(x), rtol=2e-3, atol=2e-3)


def test_load_refuses_wrong_class_and_foreign_files(tmp_path):
    Tiny().save(tmp_path / "m.pt")
    with pytest.raises(InputError, match="expected a PeriodicConv2d"):
        load_model(tmp_path / "m.pt", PeriodicConv2d)
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot read"):
        load_model(tmp_path / "junk.pt")


class _Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').touch()",))


def test_load_never_unpickles_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("evil.pt", "wb") as fh:
        pickle.dump({"format": "matinverse-model-1", "evil": _Evil()}, fh, protocol=2)
    with pytest.raises(InputError):
        load_model("evil.pt")
    assert not (tmp_path / "PWNED").exists()


def test_ensemble_linear_runs_independent_members():
    torch.manual_seed(0)
    layer = EnsembleLinear(3, 4, 2)
    x = torch.randn(5, 4)
    out = layer(x)
    assert out.shape == (3, 5, 2)
    for k in range(3):
        torch.testing.assert_close(out[k], x @ layer.weight[k] + layer.bias[k])
    per_member = torch.randn(3, 5, 4)
    torch.testing.assert_close(
        layer(per_member)[1], per_member[1] @ layer.weight[1] + layer.bias[1]
    )


def test_mlp_sizes_and_zeroed_last_layer():
    net = mlp([3, 8, 8, 2], zero_last=True)
    assert [m.out_features for m in net if isinstance(m, torch.nn.Linear)] == [8, 8, 2]
    assert float(net(torch.randn(4, 3)).detach().abs().max()) == 0.0
    assert not isinstance(net[-1], torch.nn.SiLU)
