"""``matinverse porous design`` and the training commands as other tools call them."""

import json

import numpy as np
import pytest

from matinverse.nn import load_model
from matinverse.porous.simulator import LatticeDFT, default_relative_pressure


def test_design_with_shipped_models_writes_the_contract(run, tmp_path):
    rh = default_relative_pressure()
    lines = ["# a comment", ",".join(f"{v:.4f}" for v in np.clip(1.6 * rh - 0.3, 0, 1)), ""]
    (tmp_path / "t.csv").write_text("\n".join(lines))
    proc = run(
        "porous",
        "design",
        tmp_path / "t.csv",
        "--out",
        tmp_path / "d",
        "--candidates",
        3,
        "--time-limit",
        1,
    )
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "d" / "designs.npz") as f:
        assert f["target"].shape == (1, 41)
        grids, ads = f["grids"], f["adsorption"]
    assert grids.shape == (1, 3, 20, 20) and grids.dtype == np.uint8
    np.testing.assert_array_equal(ads[0], LatticeDFT().simulate(grids[0]).adsorption)
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    mae = summary["targets"][0]["mae"]
    np.testing.assert_allclose(
        mae, np.abs(ads[0] - np.clip(1.6 * rh - 0.3, 0, 1)).mean(1), atol=1e-4
    )
    assert mae == sorted(mae)
    assert (tmp_path / "d" / "target-000.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "line, message",
    [
        (",".join(["0.5"] * 40), "line 2: expected 41 values, got 40"),
        (",".join(["0.5"] * 40 + ["nan"]), "line 2: NaN"),
        (",".join(["0.5"] * 40 + ["-0.1"]), "line 2: values must lie in"),
    ],
)
def test_malformed_target_line_is_one_line_exit_2_and_nothing_written(run, tmp_path, line, message):
    (tmp_path / "t.csv").write_text(",".join(["0.2"] * 41) + "\n" + line + "\n")
    proc = run("porous", "design", tmp_path / "t.csv", "--out", tmp_path / "d")
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "d").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_training_commands_write_loadable_models(run, tmp_path, assert_finished_run):
    data = tmp_path / "data"
    assert run("porous", "dataset", "--n", 40, "--out", data, "--size", 8).returncode == 0
    p = run(
        "porous",
        "train-predictor",
        data,
        "--out",
        tmp_path / "p.pt",
        "--epochs",
        1,
        "--batch-size",
        8,
        "--width",
        4,
        "--dilations",
        "1,2",
    )
    assert p.returncode == 0, p.stderr
    model = load_model(tmp_path / "p.pt")
    assert model.metadata["command"].startswith("matinverse porous train-predictor")
    config = assert_finished_run(tmp_path / "p.pt", "porous train-predictor", 1)
    assert config["data"]["dataset"] == str(data) and config["options"]["width"] == 4
    ev = run("porous", "evaluate-predictor", data, "--predictor", tmp_path / "p.pt")
    assert ev.returncode == 0, ev.stderr
    assert "40 held-out grids" in ev.stdout and "random" in ev.stdout
    ev = run(
        "porous", "evaluate-predictor", data, "--predictor", tmp_path / "p.pt", "--exclude", data
    )
    assert ev.returncode == 2 and "no held-out sample left" in ev.stderr
    g = run(
        "porous",
        "train-generator",
        data,
        "--predictor",
        tmp_path / "p.pt",
        "--out",
        tmp_path / "g.pt",
        "--epochs",
        1,
        "--steps",
        2,
        "--batch-size",
        4,
        "--width",
        4,
    )
    assert g.returncode == 0, g.stderr
    assert load_model(tmp_path / "g.pt").config["size"] == 8
    bad = run(
        "porous",
        "train-generator",
        data,
        "--predictor",
        tmp_path / "g.pt",
        "--out",
        tmp_path / "x.pt",
    )
    assert bad.returncode == 2 and "expected a IsothermPredictor" in bad.stderr


def test_train_predictor_under_torchrun_on_two_processes(tmp_path, tiny, assert_finished_run):
    import subprocess
    import sys

    from matinverse.porous.dataset import generate_dataset

    generate_dataset(tmp_path / "data", **tiny)
    model = tmp_path / "p.pt"
    small = ["--epochs", "2", "--batch-size", "4", "--width", "4", "--dilations", "1,2"]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        + ["-m", "matinverse", "porous", "train-predictor", str(tmp_path / "data")]
        + ["--out", str(model), *small],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(f"wrote {model}") == 1  # rank 1 prints nothing
    assert load_model(model).metadata["history"][-1]["epoch"] == 2
    config = json.loads((tmp_path / "p.run/config.json").read_text())
    assert config["processes"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "p.pt", "p.run"]
