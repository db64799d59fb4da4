"""Run folders: a killed run resumes from its last checkpoint; saving is atomic."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from matinverse.errors import InputError
from matinverse.train import Trainer
from matinverse.train.run import Run

EPOCHS = 6

SCRIPT = """
import sys, time, torch
from matinverse.errors import InputError
from matinverse.train import Trainer
from matinverse.train.run import Run
torch.manual_seed(0)
x = torch.randn(256, 3)
y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
model = torch.nn.Linear(3, 1)
def step(rng, gen):
    time.sleep(float(sys.argv[3]))
    idx = torch.randint(0, 256, (32,), generator=gen)
    return torch.nn.functional.mse_loss(model(x[idx]).squeeze(1), y[idx])
Trainer({"m": model}, int(sys.argv[4]), 10, lr=0.05, checkpoint=Run(sys.argv[1])).fit(step)
torch.save(model.state_dict(), sys.argv[2])
"""


def _train(folder, out, pause=0.0):
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(folder), str(out), str(pause), str(EPOCHS)]
    )


def _epochs(folder):
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["epoch"] for line in lines]


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert _train(full, tmp_path / "full.pt").wait(120) == 0
    proc = _train(cut, tmp_path / "cut.pt", pause=0.03)
    deadline = time.monotonic() + 120
    while not (cut / "metrics.jsonl").is_file() or len(_epochs(cut)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = torch.load(cut / "checkpoint.pt", weights_only=True)["epochs_done"]
    assert 2 <= done < EPOCHS
    assert _train(cut, tmp_path / "cut.pt").wait(120) == 0
    assert _epochs(cut) == _epochs(full) == list(range(1, EPOCHS + 1))
    again = torch.load(tmp_path / "cut.pt", weights_only=True)
    for name, tensor in torch.load(tmp_path / "full.pt", weights_only=True).items():
        torch.testing.assert_close(again[name], tensor, rtol=0, atol=0)


def test_failed_checkpoint_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 1)

    def step(rng, gen):
        return model(torch.randn(8, 3, generator=gen)).square().mean()

    save, calls = torch.save, []

    def failing_save(obj, path):
        calls.append(path)
        if len(calls) == 2:  # the second epoch's checkpoint: half written, then the disk fails
            with open(path, "wb") as f:
                f.write(b"half a checkp")
            raise OSError("no space left on device")
        save(obj, path)

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="no space"):
        Trainer({"m": model}, 3, 2, checkpoint=Run(tmp_path)).fit(step)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "metrics.jsonl"]
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epochs_done"] == 1
    assert _epochs(tmp_path) == [1]


def test_folder_of_an_unfinished_run_with_other_options_is_refused(tmp_path):
    Run(tmp_path, {"options": {"lr": 0.1}})
    Run(tmp_path, {"options": {"lr": 0.2}})  # nothing to resume yet: a new run
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    Run(tmp_path, {"options": {"lr": 0.2}})
    with pytest.raises(InputError, match="other options"):
        Run(tmp_path, {"options": {"lr": 0.1}})
