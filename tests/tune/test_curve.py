"""``matinverse learning-curve``: nested subsets at a fixed step budget, the fit, resuming,
bad requests; end to end on the MoS2 table and on tiny porous datasets."""

import json
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from matinverse.cli import main
from matinverse.errors import InputError
from matinverse.train.learning_curve import CurveRecord
from matinverse.tune.curve import curve_sizes, parse_fractions, run_learning_curve
from matinverse.tune.spaces import TUNABLES, Splits, Tunable


@dataclass
class Rows:
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def rows(self, index):
        return Rows(self.index[index])


class Exact(Tunable):
    """A stand-in model: it is its training rows, and its test error is 2 N^-0.5."""

    problem, model = "test", "exact"
    defaults, settings = {"batch_size": 8}, {"epochs": 3, "steps": 5}

    def __init__(self):
        self.trained = []

    def train(self, data, params, settings, on_epoch=None):
        self.trained.append(data.train.index)
        return data.train.index, []

    def unit(self, settings):
        return "a.u."

    def test_error(self, model, data):
        return 2.0 * len(model) ** -0.5


def test_subsets_are_nested_the_fit_exact_and_a_rerun_skips_finished_points(tmp_path):
    tunable, data = Exact(), Splits(Rows(np.arange(1000) + 7), None, None)
    params, identity = tunable.defaults, {"model": "exact"}
    sizes = curve_sizes(tunable, params, parse_fractions("1/64,1/8,0.5,1"), 1000)
    assert sizes == [(1 / 64, 16), (1 / 8, 125), (0.5, 500), (1.0, 1000)]
    calls = []
    record = CurveRecord(tmp_path / "c.json", identity)
    fit = run_learning_curve(tunable, data, params, {"epochs": 3, "steps": 5}, sizes[:3], record)
    seen = [set(rows) for rows in tunable.trained]
    assert [len(s) for s in seen] == [16, 125, 500] and seen[0] < seen[1] < seen[2]
    assert fit.a == pytest.approx(2.0) and fit.b == pytest.approx(0.5)
    points = json.loads((tmp_path / "c.json").read_text())["points"]
    assert [p["steps"] for p in points.values()] == [15, 15, 15]  # the same budget

    tunable.trained = []
    record = CurveRecord(tmp_path / "c.json", identity)
    fit = run_learning_curve(
        tunable,
        data,
        params,
        {"epochs": 3, "steps": 5},
        sizes,
        record,
        progress=lambda *done: calls.append(done),
    )
    assert [len(rows) for rows in tunable.trained] == [1000]  # only the missing point
    assert calls == [(3, 4), (4, 4)]
    assert seen[2] < set(tunable.trained[0]) and fit.points == 4 and fit.r2 == pytest.approx(1)
    saved = json.loads((tmp_path / "c.json").read_text())
    assert list(saved["points"]) == ["16", "125", "500", "1000"]
    assert saved["fit"]["b"] == pytest.approx(0.5)


def test_fractions_are_parsed_and_checked():
    assert parse_fractions(" 1, 1/4,0.25, 1/64") == [1 / 64, 0.25, 1.0]
    for text, message in [
        ("", "empty"),
        ("0,1", r"in \(0, 1\]"),
        ("1/2,1.5", r"in \(0, 1\]"),
        ("-1/4", r"in \(0, 1\]"),
        ("half", "numbers like 1/64"),
        ("1/0", "numbers like 1/64"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_fractions(text)
    with pytest.raises(InputError, match="leaves 3 of 200 training rows, fewer than the 8"):
        curve_sizes(Exact(), {"batch_size": 8}, [1 / 64, 1], 200)
    assert curve_sizes(Exact(), {"batch_size": 1}, [0.001, 0.002, 1], 200) == [(0.001, 1), (1, 200)]
    # the default fractions leave out the subsets too small for a batch
    kept = curve_sizes(Exact(), {"batch_size": 8}, [1 / 64, 1 / 8, 1], 200, drop_small=True)
    assert kept == [(1 / 8, 25), (1, 200)]
    with pytest.raises(InputError, match="fewer than the 8"):
        curve_sizes(Exact(), {"batch_size": 8}, [1 / 64], 200, drop_small=True)


def test_the_porous_budget_keeps_the_steps_of_the_full_run():
    tunable, params = TUNABLES[("porous", "predictor")], {"batch_size": 256}
    full = tunable.steps(params, {"epochs": 12}, 10_000)
    assert full == 12 * 39
    for n in (10_000, 1_000, 300, 10):
        budget = tunable.budget(params, {"epochs": 12}, n, 10_000)
        assert budget == {"epochs": 12, "steps_per_epoch": 39}
        assert tunable.steps(params, budget, n) == full
    strain = TUNABLES[("strain", "surrogate")]
    assert strain.budget(params, strain.settings, 100, 10_000) == strain.settings


def learning_curve(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run ``matinverse learning-curve ARGS`` in this process: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["matinverse", "learning-curve", *map(str, args)])
    try:
        main()
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


STRAIN = ["strain", "surrogate", "--epochs", 1, "--steps", 2, "--members", 2]


def test_strain_end_to_end_and_rerun(monkeypatch, capsys, tmp_path, shared_data):
    args = [*STRAIN, "--data-dir", shared_data, "--out", tmp_path / "c", "--fractions"]
    status, out, _ = learning_curve(monkeypatch, capsys, *args, "1/16,1/4")
    assert status == 0, out
    assert "test MAE, gapped rows (eV)" in out and "power law error = a N^-b" in out
    record = json.loads((tmp_path / "c" / "learning-curve.json").read_text())
    assert record["params"] == TUNABLES[("strain", "surrogate")].defaults
    assert [p["n_train"] for p in record["points"].values()] == [293, 1173]
    assert (tmp_path / "c" / "learning-curve.png").read_bytes()[:4] == b"\x89PNG"

    trained = []
    original = TUNABLES[("strain", "surrogate")].train
    monkeypatch.setattr(
        TUNABLES[("strain", "surrogate")],
        "train",
        lambda data, *rest: trained.append(len(data.train)) or original(data, *rest),
    )
    status, out, _ = learning_curve(monkeypatch, capsys, *args, "1/16,1/4,1/2")
    assert status == 0 and trained == [2346], out
    again = json.loads((tmp_path / "c" / "learning-curve.json").read_text())
    assert again["points"]["293"] == record["points"]["293"] and again["fit"]["points"] == 3
    longer = ["strain", "surrogate", "--epochs", 2, "--steps", 2, "--members", 2]
    status, _, err = learning_curve(monkeypatch, capsys, *longer, *args[len(STRAIN) :], "1")
    assert status == 2 and "made with other settings; use another --out" in err, err


def test_a_tuned_configuration(monkeypatch, capsys, tmp_path, shared_data):
    best = tmp_path / "best.json"
    params = {"lr": 3e-3, "batch_size": 128, "width": 32, "depth": 2}
    best.write_text(json.dumps({"problem": "strain", "model": "surrogate", "best_params": params}))
    args = [*STRAIN, "--data-dir", shared_data, "--out", tmp_path / "c", "--fractions", "1/32"]
    status, out, _ = learning_curve(monkeypatch, capsys, *args, "--params", best)
    assert status == 0, out
    assert json.loads((tmp_path / "c" / "learning-curve.json").read_text())["params"] == params


def test_porous_end_to_end_with_a_held_out_dataset(run, tiny, tmp_path):
    from matinverse.porous.dataset import generate_dataset

    generate_dataset(tmp_path / "train", **tiny)
    generate_dataset(tmp_path / "test", **{**tiny, "seed": 8})
    result = run(
        "learning-curve", "porous", "predictor", "--data-dir", tmp_path / "train",
        "--test-dir", tmp_path / "test", "--fractions", "1/4,1", "--epochs", 1,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(
        (tmp_path / "learning-curve-porous-predictor/learning-curve.json").read_text()
    )
    assert record["unit"] == "theta" and len(record["points"]) == 2
    assert len({p["steps"] for p in record["points"].values()}) == 1
    assert "power law" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["porous", "generator"], "no tunable model 'porous' 'generator'"),
        (["alloys", "predictor"], "no tunable model 'alloys'"),
        (["strain", "surrogate", "--fractions", "0,1"], r"must lie in (0, 1]"),
        (["strain", "surrogate", "--fractions", "1/2,2"], r"must lie in (0, 1]"),
        (["strain", "surrogate", "--fractions", ","], "--fractions is empty"),
        (["strain", "surrogate", "--data-dir", "nowhere"], "is not a folder"),
        (["porous", "predictor"], "porous predictor needs --data-dir"),
        (["porous", "predictor", "--data-dir", "."], "needs --test-dir"),
        (["porous", "predictor", "--data-dir", ".", "--test-dir", "no"], "is not a folder"),
        (["strain", "surrogate", "--test-dir", "."], "takes no --test-dir"),
        (["strain", "surrogate", "--params", "best.json"], "best.json: no such file"),
        (["porous", "predictor", "--members", 3], "takes no --members"),
    ],
)
def test_bad_requests_are_one_line_errors(monkeypatch, capsys, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = learning_curve(monkeypatch, capsys, *args)
    assert status == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing written for a bad request


def test_bad_data_and_params_are_refused_before_anything_is_written(
    monkeypatch, capsys, tmp_path, shared_data
):
    monkeypatch.chdir(tmp_path)
    data = ["--data-dir", shared_data]
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"problem": "porous", "model": "predictor", "best_params": {}}))
    for args, message in [
        ([*STRAIN, *data, "--fractions", "1/64"], "fraction 0.01562 leaves 73 of 4693"),
        ([*STRAIN, *data, "--params", other], "holds a porous predictor configuration"),
        ([*STRAIN, "--data-dir", tmp_path], "mos2"),
    ]:
        status, _, err = learning_curve(monkeypatch, capsys, *args)
        assert status == 2 and message in err and err.count("\n") == 1, err
    assert [p.name for p in tmp_path.iterdir()] == ["other.json"]
