import math
import socket

import pytest

from matinverse.errors import InputError
from matinverse.parallel import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)
from matinverse.porous.dataset import generate_dataset, load_dataset


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serial_executor():
    with SerialExecutor() as ex:
        assert list(ex.map_unordered(math.sqrt, [4, 9])) == [(4, 2.0), (9, 3.0)]


def test_process_executor_results_errors_and_dataset(
    reference, assert_same_dataset, tiny, tmp_path
):
    with ProcessExecutor(2) as ex:
        items = list(range(20))
        assert sorted(ex.map_unordered(math.factorial, items)) == [
            (i, math.factorial(i)) for i in items
        ]
        with pytest.raises(ValueError):
            list(ex.map_unordered(math.sqrt, [1, -1, 4]))
        out = tmp_path / "data"
        summary = generate_dataset(out, **tiny, executor=ex)
    assert summary.computed == tiny["n"]
    assert_same_dataset(load_dataset(out), reference)


def test_make_executor():
    assert isinstance(make_executor(), SerialExecutor)
    with make_executor(workers=2) as ex:
        assert isinstance(ex, ProcessExecutor) and ex.workers == 2
    for bad in ({"workers": 0}, {"workers": 2, "scheduler": "tcp://127.0.0.1:1"}):
        with pytest.raises(InputError):
            make_executor(**bad)


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "nonsense", "http://x:1"])
def test_bad_scheduler_address(address):
    address = address.format(port=free_port())
    with pytest.raises(InputError, match="cannot connect to Dask scheduler") as err:
        DaskExecutor(address, timeout=2)
    assert "\n" not in str(err.value)
