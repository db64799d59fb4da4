"""Run one Optuna study of a :class:`~matinverse.tune.spaces.Tunable` from any number of
processes and machines.

Storage: a journal file by default (Optuna's append-only operation log; local processes
share it through a lock file), or a PostgreSQL URL for workers on several machines. SQLite
is refused: it is not safe for parallel writers.

``trials`` is the total the study should hold: a worker stops once the study has that many
finished (COMPLETE or PRUNED) trials, counted over all workers and all runs, so rerunning a
killed command adds only what is missing. A worker claims the next trial under a lock
shared by all workers of the study (``flock`` on the journal file; a PostgreSQL advisory
lock), counting finished and running trials, so workers never run past the total; when
every remaining trial is running elsewhere it waits for them to finish. A trial that raises
(or is interrupted) is FAIL and does not count; one left RUNNING by a killed process is
marked FAIL when found: on the same machine once its process is gone, on PostgreSQL also
once its heartbeat has stopped for ``GRACE_PERIOD`` seconds, and anywhere when its worker
never recorded itself within ``GRACE_PERIOD`` seconds (killed between creating the trial
and claiming it).

Every trial trains one configuration with the tunable's training function (fixed seed 0,
as the train commands) and reports the validation error after every epoch; the median
pruner stops a trial whose error is worse than the median of earlier trials at the same
epoch, from epoch 2 on (never at the last), once 4 trials have completed. A non-finite
error prunes the trial.
"""

import datetime
import fcntl
import math
import os
import re
import socket
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from matinverse.errors import InputError
from matinverse.tune.spaces import Tunable

SAMPLERS = ("grid", "random", "tpe")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# PostgreSQL workers record a heartbeat every HEARTBEAT seconds while a trial runs; a
# running trial without one for GRACE_PERIOD seconds is taken for a killed worker's
HEARTBEAT, GRACE_PERIOD = 10, 60
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


class _FileLock:
    """An exclusive ``flock`` on a file (the kernel releases it if the process dies)."""

    def __init__(self, path: Path):
        self.path, self._file = path, None

    def acquire(self) -> None:
        self._file = open(self.path, "ab")  # held until release
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class _AdvisoryLock:
    """A PostgreSQL session advisory lock keyed by a name (the server releases it if the
    connection drops)."""

    def __init__(self, url: str, name: str):
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        self._sql = sqlalchemy.text
        self._engine = sqlalchemy.create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self._key = zlib.crc32(f"matinverse tune {name}".encode())
        self._connection = None

    def acquire(self) -> None:
        self._connection = self._engine.connect()
        self._connection.execute(self._sql("SELECT pg_advisory_lock(:key)"), {"key": self._key})

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(
                self._sql("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
            )
            self._connection.close()
            self._connection = None

    def __enter__(self) -> "_AdvisoryLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass
class StudyStorage:
    """An Optuna storage, its description (a path, or a URL without its password) and a
    factory of the lock that serialises claiming trials of one study."""

    optuna: optuna.storages.BaseStorage
    description: str
    lock: Callable[[str], Any]


def open_storage(spec: str) -> StudyStorage:
    """The storage named by ``spec``: a journal file path (created with its folder if
    missing) or a ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE`` URL."""
    if "://" not in spec:
        path = Path(spec)
        if path.is_dir():
            raise InputError(f"--storage {spec} is a folder; give a journal file path")
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return StudyStorage(
            optuna.storages.JournalStorage(backend), str(path), lambda name: _FileLock(path)
        )
    import sqlalchemy

    scheme = spec.split("://", 1)[0].lower()
    if scheme.startswith("sqlite"):
        raise InputError(
            "SQLite is not safe for parallel workers: use a journal file (the default) or "
            "a postgresql:// URL"
        )
    shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", spec)  # no password in messages
    if scheme not in POSTGRES_SCHEMES:
        raise InputError(f"--storage must be a journal file or a postgresql:// URL, got {shown}")
    try:
        url = sqlalchemy.engine.make_url(spec)
    except (sqlalchemy.exc.ArgumentError, ValueError) as err:
        raise InputError(f"malformed storage URL {shown!r}: {err}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if not url.database:
        raise InputError(f"storage URL {shown!r} names no database")
    shown = url.render_as_string(hide_password=True)
    full = url.render_as_string(hide_password=False)
    try:
        # workers starting together on a new database would race to create the tables
        with _AdvisoryLock(full, "tables"), warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(
                full,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=HEARTBEAT,
                grace_period=GRACE_PERIOD,
            )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise InputError(f"cannot open storage {shown}: {reason}") from None
    return StudyStorage(storage, shown, lambda name: _AdvisoryLock(full, name))


def make_sampler(name: str, tunable: Tunable) -> optuna.samplers.BaseSampler:
    """The sampler ``name``: "grid" (the tunable's small grid), "random" or "tpe"."""
    if name == "grid":
        return optuna.samplers.GridSampler(tunable.grid)
    if name == "random":
        return optuna.samplers.RandomSampler()
    if name == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # constant liar: running trials count as bad, so parallel workers spread out
            return optuna.samplers.TPESampler(constant_liar=True)
    raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


def make_objective(tunable: Tunable, data: Any, settings: dict) -> Callable[[optuna.Trial], float]:
    """Objective of a study: train the trial's configuration, reporting the validation
    error per epoch (pruned when the pruner says so before the last epoch, or when it is
    not finite); returns the last epoch's validation error."""

    def objective(trial: optuna.Trial) -> float:
        params = {p.name: p.suggest(trial) for p in tunable.space}

        def on_epoch(record: dict) -> None:
            value, epoch = float(record[tunable.metric]), int(record["epoch"])
            if not math.isfinite(value):
                raise optuna.TrialPruned(f"validation error {value} at epoch {epoch}")
            trial.report(value, epoch)
            if epoch < settings["epochs"] and trial.should_prune():
                raise optuna.TrialPruned(f"validation error {value:.4g} at epoch {epoch}")

        _, history = tunable.train(data, params, settings, on_epoch)
        return float(history[-1][tunable.metric])

    return objective


@dataclass
class TuneStudy:
    """An open study of ``tunable`` with fixed ``settings``: the Optuna study, its storage
    and the number of trials a run may aim for (``limit``: the grid's size, else None)."""

    tunable: Tunable
    settings: dict
    study: optuna.Study
    storage: StudyStorage
    limit: int | None


def open_study(
    tunable: Tunable, settings: dict, name: str, storage: StudyStorage, sampler: str
) -> TuneStudy:
    """Create or load study ``name``; a study made for another problem, model or settings
    is refused (its trials would not be comparable)."""
    identity = {"problem": tunable.problem, "model": tunable.model, "settings": settings}
    study = optuna.create_study(
        study_name=name,
        storage=storage.optuna,
        sampler=make_sampler(sampler, tunable),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2),
        direction="minimize",
        load_if_exists=True,
    )
    found = study.user_attrs.get("matinverse")
    if found is None:
        study.set_user_attr("matinverse", identity)
    elif found != identity:
        raise InputError(
            f"study {name!r} in {storage.description} was made for {found['problem']} "
            f"{found['model']} with settings {found['settings']}; use another --study"
        )
    limit = tunable.grid_size if sampler == "grid" else None
    return TuneStudy(tunable, settings, study, storage, limit)


@dataclass
class StudyResult:
    """Where a study stands: ``total`` trials aimed for, how many are complete, pruned and
    failed, and the best complete trial (number, validation error, parameters; None when
    no trial has completed)."""

    total: int
    complete: int
    pruned: int
    failed: int
    best_number: int | None
    best_value: float | None
    best_params: dict | None


def _fail_lost_trials(tuned: TuneStudy) -> None:
    """Mark FAIL the running trials whose worker is gone: a process of this machine that no
    longer exists, or (PostgreSQL) a trial whose heartbeat stopped."""
    study, storage = tuned.study, tuned.storage.optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    host = socket.gethostname()
    study_id = storage.get_study_id_from_name(study.study_name)
    now = datetime.datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        # a worker records itself right after creating its trial: a trial still without a
        # worker after the grace period lost its process in between
        unclaimed = worker is None and (
            trial.datetime_start is None
            or (now - trial.datetime_start).total_seconds() > GRACE_PERIOD
        )
        if unclaimed or (worker and worker["host"] == host and not _alive(worker["pid"])):
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_state_values(trial_id, TrialState.FAIL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def study_result(tuned: TuneStudy, total: int) -> StudyResult:
    """The counts and the best trial of a study (see :class:`StudyResult`)."""
    trials = tuned.study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value) if complete else None
    return StudyResult(
        total=total,
        complete=len(complete),
        pruned=sum(t.state == TrialState.PRUNED for t in trials),
        failed=sum(t.state == TrialState.FAIL for t in trials),
        best_number=best.number if best else None,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else None,
    )


def run_study(
    tuned: TuneStudy,
    data: Any,
    trials: int,
    progress: Callable[[int, int], None] | None = None,
    poll: float = 1.0,
) -> StudyResult:
    """Run trials of ``tuned`` on ``data`` until the study holds ``trials`` finished trials
    (at most the grid's size with the grid sampler), as one of any number of workers;
    ``progress(finished, total)`` follows the whole study. Returns the study's result."""
    if trials < 1:
        raise InputError(f"--trials must be at least 1, got {trials}")
    total = min(trials, tuned.limit) if tuned.limit else trials
    objective = make_objective(tuned.tunable, data, tuned.settings)
    lock = tuned.storage.lock(tuned.study.study_name)
    worker = {"host": socket.gethostname(), "pid": os.getpid()}

    def claimed(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)
        lock.release()  # the trial exists now: let other workers claim theirs
        return objective(trial)

    while True:
        lock.acquire()
        try:
            _fail_lost_trials(tuned)
            states = [t.state for t in tuned.study.get_trials(deepcopy=False)]
            finished = sum(state in FINISHED for state in states)
            if progress is not None:
                progress(min(finished, total), total)
            if finished >= total:
                break
            if finished + states.count(TrialState.RUNNING) < total:
                tuned.study.optimize(claimed, n_trials=1)
                continue
        finally:
            lock.release()
        time.sleep(poll)  # the remaining trials run in other workers: wait for them
    return study_result(tuned, total)


def best_configuration(tuned: TuneStudy, result: StudyResult, data_dir: Path | None) -> dict:
    """The record written after a study: the study, its counts, the best trial's
    validation error and parameters, and the train command (with its options) that trains
    that configuration."""
    tunable, settings = tuned.tunable, tuned.settings
    if result.best_params is None:
        raise InputError(f"study {tuned.study.study_name!r} has no complete trial yet")
    return {
        "problem": tunable.problem,
        "model": tunable.model,
        "study": tuned.study.study_name,
        "storage": tuned.storage.description,
        "settings": settings,
        "trials": {
            "total": result.total,
            "complete": result.complete,
            "pruned": result.pruned,
            "failed": result.failed,
        },
        "metric": tunable.metric,
        "unit": tunable.unit(settings),
        "best_trial": result.best_number,
        "best_value": result.best_value,
        "best_params": result.best_params,
        "train_options": tunable.options(result.best_params, settings),
        "train_command": tunable.command(result.best_params, settings, data_dir),
    }
