"""A real Dask cluster: a scheduler and two worker processes started as subprocesses."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from matinverse.parallel import DaskExecutor, make_executor
from matinverse.porous.dataset import generate_dataset, load_dataset

pytest.importorskip("distributed")


def _stop(procs):
    """SIGTERM each process group (nanny and its worker), SIGKILL whatever is left."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    file = tmp / "scheduler.json"
    procs, logs = [], []

    def start(module, *args, log):
        logs.append(tmp / log)
        with open(tmp / log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", f"distributed.cli.{module}", *args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=tmp,
                    start_new_session=True,  # one process group per command, for teardown
                )
            )

    def tails():
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs if p.exists())

    # teardown kills both process groups; the idle and death timeouts end them even if
    # this test process itself is killed
    try:
        scheduler = ["--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(file)]
        scheduler += ["--no-dashboard", "--idle-timeout", "300s"]
        start("dask_scheduler", *scheduler, log="scheduler.log")
        worker = ["--scheduler-file", str(file), "--nworkers", "1", "--nthreads", "1"]
        worker += ["--no-dashboard", "--local-directory", str(tmp), "--death-timeout", "60"]
        for i in range(2):
            start("dask_worker", *worker, log=f"worker{i}.log")
        deadline = time.monotonic() + 60
        while not (file.exists() and file.stat().st_size):
            assert procs[0].poll() is None, "scheduler exited\n" + tails()
            assert time.monotonic() < deadline, "no scheduler file in 60 s\n" + tails()
            time.sleep(0.1)
        time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        with DaskExecutor(address) as ex:
            try:
                ex.client.wait_for_workers(2, timeout=90)
            except TimeoutError:
                pytest.fail("the two Dask workers did not join in 90 s\n" + tails())
        yield address
    finally:
        _stop(procs)


def test_dask_map_unordered(scheduler_address):
    with make_executor(scheduler=scheduler_address) as ex:
        assert len(ex.client.scheduler_info()["workers"]) == 2
        items = list(range(30))
        results = sorted(ex.map_unordered(math.factorial, items))
        assert results == [(i, math.factorial(i)) for i in items]
        with pytest.raises(ValueError):
            list(ex.map_unordered(math.sqrt, [1, -1, 4]))
    assert ex.client.status == "closed"


def test_dask_dataset_equals_serial(scheduler_address, reference, assert_same_dataset, tiny,
                                    tmp_path):  # fmt: skip
    out = tmp_path / "data"
    with DaskExecutor(scheduler_address) as ex:
        summary = generate_dataset(out, **tiny, executor=ex)
        workers = ex.client.run(os.getpid)
    assert summary.computed == tiny["n"]
    assert len(set(workers.values())) == 2
    assert_same_dataset(load_dataset(out), reference)


def test_dask_executor_accepts_cluster_and_client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster:  # fmt: skip
        with DaskExecutor(cluster) as ex:
            assert sorted(ex.map_unordered(math.sqrt, [4, 1])) == [(1, 1.0), (4, 2.0)]
            assert ex.address == cluster.scheduler_address
        assert ex.client.status == "closed"
        with Client(cluster, set_as_default=False) as client:
            with DaskExecutor(client) as ex:
                assert list(ex.map_unordered(math.sqrt, [9])) == [(9, 3.0)]
            assert client.status == "running"  # a client passed in is left open
