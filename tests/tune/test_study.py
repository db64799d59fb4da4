"""Studies: total trials over runs and workers, pruning, lost trials, storages; two
``matinverse tune`` processes sharing a journal file and a PostgreSQL database."""

import json
import os
import socket
import subprocess
import sys
import uuid

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from matinverse.errors import InputError
from matinverse.tune.spaces import Param, Tunable
from matinverse.tune.study import (
    best_configuration,
    open_storage,
    open_study,
    run_study,
)


class Quadratic(Tunable):
    """A stand-in model: the validation error after epoch e is (x - 0.3)^2 + 1 / e; x > 0.9
    diverges (NaN)."""

    problem, model, metric = "test", "quadratic", "val"
    settings = {"epochs": 3}
    train_command = ("test", "train")
    space = (Param("x", (0.0, 0.5, 1.0), low=0.0, high=1.0),)

    def train(self, data, params, settings, on_epoch):
        history = []
        for epoch in range(1, settings["epochs"] + 1):
            value = float("nan") if params["x"] > 0.9 else (params["x"] - 0.3) ** 2 + 1 / epoch
            history.append({"epoch": epoch, "val": value})
            on_epoch(history[-1])
        return None, history

    def unit(self, settings):
        return "a.u."

    def options(self, params, settings):
        return {"--x": params["x"]}


def states(tuned) -> list[tuple[int, TrialState]]:
    return [(t.number, t.state) for t in tuned.study.get_trials(deepcopy=False)]


def test_trials_is_the_study_total_and_a_rerun_adds_the_missing_ones(tmp_path):
    storage = open_storage(str(tmp_path / "s.journal"))
    tunable = Quadratic()
    tuned = open_study(tunable, tunable.settings, "q", storage, "random")
    result = run_study(tuned, None, 5)
    assert [n for n, _ in states(tuned)] == list(range(5))
    assert result.complete + result.pruned == 5 and result.failed == 0
    storage = open_storage(str(tmp_path / "s.journal"))  # as a new process would
    again = open_study(tunable, tunable.settings, "q", storage, "tpe")
    result = run_study(again, None, 8)
    assert [n for n, _ in states(again)] == list(range(8))
    assert result.total == 8 and result.complete + result.pruned == 8
    assert result.best_value == min(
        t.value for t in again.study.get_trials(states=(TrialState.COMPLETE,))
    )
    assert run_study(again, None, 3).total == 3  # already more: nothing runs
    assert len(states(again)) == 8


def test_grid_runs_each_point_once_and_diverging_trials_are_pruned(tmp_path):
    tunable = Quadratic()
    tuned = open_study(tunable, tunable.settings, "g", open_storage(str(tmp_path / "g")), "grid")
    result = run_study(tuned, None, 10)  # more than the grid's 3 points
    assert result.total == 3 and result.complete == 2 and result.pruned == 1
    params = sorted(t.params["x"] for t in tuned.study.trials)
    assert params == [0.0, 0.5, 1.0]
    record = best_configuration(tuned, result, data_dir=None)
    assert record["best_params"] == {"x": 0.5}
    assert record["train_command"] == "matinverse test train --x 0.5"
    assert record["trials"] == {"total": 3, "complete": 2, "pruned": 1, "failed": 0}


def test_a_trial_left_running_by_a_killed_process_is_failed_and_redone(tmp_path):
    tunable = Quadratic()
    tuned = open_study(tunable, tunable.settings, "k", open_storage(str(tmp_path / "k")), "random")
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    trial = tuned.study.ask()
    trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": int(dead.stdout)})
    result = run_study(tuned, None, 2)
    assert states(tuned)[0] == (0, TrialState.FAIL)
    assert result.failed == 1 and result.complete + result.pruned == 2


def test_a_trial_never_claimed_is_failed_after_the_grace_period(tmp_path, monkeypatch):
    """A worker killed between creating its trial and recording itself leaves a running
    trial with no worker: kept while it may still be claimed, failed after the grace
    period (else the study would wait for it forever)."""
    import matinverse.tune.study as study_module

    tunable = Quadratic()
    tuned = open_study(tunable, tunable.settings, "u", open_storage(str(tmp_path / "u")), "random")
    tuned.study.ask()
    study_module._fail_lost_trials(tuned)
    assert states(tuned) == [(0, TrialState.RUNNING)]
    monkeypatch.setattr(study_module, "GRACE_PERIOD", 0)
    result = run_study(tuned, None, 2)
    assert states(tuned)[0] == (0, TrialState.FAIL)
    assert result.failed == 1 and result.complete + result.pruned == 2


def test_a_study_of_other_settings_is_refused(tmp_path):
    tunable = Quadratic()
    storage = open_storage(str(tmp_path / "o.journal"))
    open_study(tunable, {"epochs": 3}, "o", storage, "tpe")
    with pytest.raises(InputError, match="was made for test quadratic"):
        open_study(tunable, {"epochs": 4}, "o", storage, "tpe")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("sqlite:///tune.db", "SQLite is not safe"),
        ("mysql://u@h/db", "journal file or a postgresql"),
        ("postgresql://u:secret@h:port/db", "malformed storage URL 'postgresql://u:\\*\\*\\*@h"),
        ("postgresql://u@h:5432", "names no database"),
        ("postgresql://u:secret@127.0.0.1:1/db", "cannot open storage"),
    ],
)
def test_bad_storages_are_input_errors(spec, message):
    with pytest.raises(InputError, match=message) as err:
        open_storage(spec)
    assert "secret" not in str(err.value)


def test_a_folder_is_not_a_journal(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        open_storage(str(tmp_path))


@pytest.fixture
def porous_data(tmp_path, tiny):
    from matinverse.porous.dataset import generate_dataset

    generate_dataset(tmp_path / "data", **tiny)
    return tmp_path / "data"


def two_workers(storage: str, study: str, data, tmp_path, trials: int = 6) -> list[dict]:
    """Run ``matinverse tune porous predictor`` in two processes at once on one study;
    returns what each wrote."""
    args = [sys.executable, "-m", "matinverse", "tune", "porous", "predictor"]
    args += ["--trials", str(trials), "--epochs", "2", "--data-dir", str(data)]
    args += ["--study", study, "--storage", storage]
    workers = [
        subprocess.Popen(
            args + ["--out", str(tmp_path / f"best{i}.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert "train it: matinverse porous train-predictor" in out
    return [json.loads((tmp_path / f"best{i}.json").read_text()) for i in range(2)]


def check_shared_study(storage, study: str, records: list[dict], trials: int = 6) -> None:
    study = optuna.load_study(study_name=study, storage=storage)
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(trials))  # none lost, none duplicated
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    assert len({t.user_attrs["worker"]["pid"] for t in study.trials}) == 2  # both worked
    assert records[0]["best_value"] == records[1]["best_value"] == study.best_value
    assert np.isfinite(study.best_value)


def test_two_processes_share_a_journal_file(porous_data, tmp_path):
    journal = tmp_path / "study.journal"
    records = two_workers(str(journal), "shared", porous_data, tmp_path)
    check_shared_study(open_storage(str(journal)).optuna, "shared", records)


def test_two_processes_share_a_postgresql_database(porous_data, tmp_path):
    url = os.environ.get("MATINVERSE_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("MATINVERSE_TEST_POSTGRES is not set: .ci/run starts PostgreSQL")
        pytest.skip("no PostgreSQL: MATINVERSE_TEST_POSTGRES=postgresql://... (.ci/postgres)")
    study = f"shared-{uuid.uuid4().hex[:8]}"  # a database may outlive one test run
    records = two_workers(url, study, porous_data, tmp_path)
    assert records[0]["storage"] == records[1]["storage"]
    check_shared_study(open_storage(url).optuna, study, records)
