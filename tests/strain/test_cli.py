import csv

import pytest

from matinverse.nn import load_model
from matinverse.strain.data import COLUMNS


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_train_commands_write_models_with_their_command_line(
    run, tmp_path, shared_data, assert_finished_run
):
    surrogate = tmp_path / "s.pt"
    result = run(
        "strain", "train-surrogate", "--out", surrogate, "--fold", "judge", "--members", 2,
        "--width", 16, "--depth", 1, "--epochs", 1, "--steps", 20, "--data-dir", shared_data,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "held-out gapped" in result.stdout and "held-out metallic" in result.stdout
    model = load_model(surrogate)
    assert model.metadata["data"]["fold"] == "judge"
    assert "train-surrogate" in model.metadata["command"]
    assert set(model.metadata["held_out"]) == {"all", "metallic", "gapped"}
    assert assert_finished_run(surrogate, "strain train-surrogate", 1)["data"]["fold"] == "judge"
    inverse = tmp_path / "c.pt"
    result = run(
        "strain", "train-inverse", "--method", "cvae", "--out", inverse, "--surrogate",
        surrogate, "--epochs", 1, "--steps", 10, "--data-dir", shared_data,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "raw samples" in result.stdout
    assert load_model(inverse).metadata["history"][0]["raw_in_bounds"] > 0


def test_design_writes_n_rows_of_the_contract(run, tmp_path, tiny_inverse, tiny_surrogate):
    out = tmp_path / "designs.csv"
    result = run(
        "strain", "design", "--bandgap", 0.6, "--n", 12, "--out", out, "--method", "mdn",
        "--seed", 3, "--inverse", tiny_inverse, "--surrogate", tiny_surrogate,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = rows(out)
    assert len(got) == 12
    assert list(got[0]) == [*COLUMNS, "bandgap_pred", "bandgap_std"]
    assert all(abs(float(r["bandgap_pred"]) - 0.6) <= 0.002 for r in got)
    assert all(float(r["bandgap_std"]) > 0 for r in got)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--bandgap", 5, "--n", 3), "outside the range the data cover, 0.0 to 2.391 eV"),
        (("--bandgap", 0.5, "--n", 0), "--n must be at least 1"),
        (("--bandgap", 0.5, "--n", 3, "--method", "gan"), "--method must be one of"),
        (("--bandgap", 0.5, "--n", 3, "--screen", 0.5), "--screen must be at least 1"),
    ],
)
def test_bad_requests_are_one_line_errors(run, tmp_path, args, message):
    out = tmp_path / "x.csv"
    result = run("strain", "design", *args, "--out", out)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_design_with_the_shipped_models(run, tmp_path):
    out = tmp_path / "shipped.csv"
    result = run("strain", "design", "--bandgap", 1.0, "--n", 30, "--out", out, "--seed", 1)
    assert result.returncode == 0, result.stderr
    got = rows(out)
    assert len(got) == 30 and all(abs(float(r["bandgap_pred"]) - 1.0) <= 0.002 for r in got)
    assert len({tuple(r[c] for c in COLUMNS) for r in got}) == 30
