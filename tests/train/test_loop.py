import numpy as np
import pytest
import torch

from matinverse.errors import InputError
from matinverse.train import Trainer


def _problem():
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    model = torch.nn.Linear(3, 1)

    def step(rng, gen):
        idx = torch.randint(0, 256, (32,), generator=gen)
        return torch.nn.functional.mse_loss(model(x[idx]).squeeze(1), y[idx])

    return model, step


def test_training_lowers_the_loss_and_reports_each_epoch():
    model, step = _problem()
    seen = []
    history = Trainer({"m": model}, epochs=4, steps_per_epoch=50, lr=0.05).fit(
        step,
        evaluate=lambda: {"w0": float(model.weight[0, 0])},
        progress=lambda d, t: seen.append((d, t)),
    )
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["loss"] < 0.01 * history[0]["loss"]
    assert abs(history[-1]["w0"] - 1.0) < 0.05
    assert seen[-1] == (200, 200)


def test_on_epoch_sees_each_checkpointed_record_and_can_stop_training(tmp_path):
    model, step = _problem()
    seen = []

    def stop_after_two(record):
        seen.append(dict(record))
        if record["epoch"] == 2:
            raise StopIteration("enough")

    trainer = Trainer({"m": model}, 4, 10, lr=0.05, checkpoint=tmp_path / "c.ckpt")
    with pytest.raises(StopIteration):
        trainer.fit(step, evaluate=lambda: {"val": 1.0}, on_epoch=stop_after_two)
    assert [r["epoch"] for r in seen] == [1, 2] and seen[0]["val"] == 1.0
    state = torch.load(tmp_path / "c.ckpt", weights_only=True)
    assert state["epochs_done"] == 2


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    model, step = _problem()
    Trainer({"m": model}, 3, 20, lr=0.05, checkpoint=tmp_path / "full.ckpt").fit(step)
    full = model.weight.detach().clone()

    model, step = _problem()
    calls = {"n": 0}

    def dying(rng, gen):
        calls["n"] += 1
        if calls["n"] == 30:  # in the middle of epoch 2
            raise KeyboardInterrupt
        return step(rng, gen)

    with pytest.raises(KeyboardInterrupt):
        Trainer({"m": model}, 3, 20, lr=0.05, checkpoint=tmp_path / "cut.ckpt").fit(dying)
    model, step = _problem()  # a new process: fresh model, state comes from the checkpoint
    history = Trainer({"m": model}, 3, 20, lr=0.05, checkpoint=tmp_path / "cut.ckpt").fit(step)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    torch.testing.assert_close(model.weight.detach(), full)


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    model, step = _problem()
    Trainer({"m": model}, 1, 5, checkpoint=tmp_path / "c.ckpt").fit(step)
    with pytest.raises(InputError, match="other settings"):
        Trainer({"m": model}, 2, 5, checkpoint=tmp_path / "c.ckpt").fit(step)


def test_epochs_draw_fixed_randomness():
    draws = []
    model, _ = _problem()

    def step(rng, gen):
        draws.append((rng.random(), float(torch.rand(1, generator=gen))))
        return model.weight.sum() * 0

    Trainer({"m": model}, 2, 2, seed=5).fit(step)
    rng = np.random.default_rng([5, 1])
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    assert draws[2] == (rng.random(), float(torch.rand(1, generator=gen)))
