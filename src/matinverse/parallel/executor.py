"""Fan a function out over items: in process, over local processes, or on a Dask cluster.

All executors share one call, ``map_unordered(fn, items)``, which yields ``(item, result)``
pairs as results complete (in any order), so a driver can store each result as it
arrives. ``fn`` and the items must be picklable for the process and Dask executors
(a module-level function, or a ``functools.partial`` of one). An exception raised by
``fn`` is re-raised by the iterator; closing the iterator early (``break``, an error in
the consumer) cancels the work not yet started.

    with make_executor(workers=4) as ex:
        for item, result in ex.map_unordered(fn, items):
            ...
"""

import concurrent.futures as cf
import contextlib
import multiprocessing
import socket
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from matinverse.errors import InputError


class Executor:
    """Base class: ``map_unordered``, ``close`` and use as a context manager."""

    def map_unordered(self, fn: Callable, items: Iterable) -> Iterator[tuple[Any, Any]]:
        """Yield (item, fn(item)) for every item, in completion order."""
        raise NotImplementedError

    def close(self) -> None:
        """Release workers and connections (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialExecutor(Executor):
    """Runs every call in this process, in order."""

    def map_unordered(self, fn, items):
        for item in items:
            yield item, fn(item)

    def __repr__(self):
        return "SerialExecutor()"


class ProcessExecutor(Executor):
    """A pool of ``workers`` local processes (concurrent.futures).

    Workers are started with ``context`` ("spawn" by default: safe with numba and threads,
    and the same on every platform); at most ``max_in_flight`` items (default 2 per
    worker) are submitted ahead of the consumer.
    """

    def __init__(self, workers: int, context: str = "spawn", max_in_flight: int | None = None):
        if int(workers) < 1:
            raise InputError(f"workers must be >= 1, got {workers}")
        self.workers = int(workers)
        self.max_in_flight = max_in_flight or 2 * self.workers
        self._pool = cf.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context(context)
        )

    def map_unordered(self, fn, items):
        it = iter(items)
        pending = {}

        def submit(batch):
            for item in batch:
                pending[self._pool.submit(fn, item)] = item

        submit(islice(it, self.max_in_flight))
        try:
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    result = future.result()
                    submit(islice(it, 1))
                    yield item, result
        finally:
            for future in pending:
                future.cancel()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self):
        return f"ProcessExecutor(workers={self.workers})"


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster.

    ``cluster``: a scheduler address ("tcp://host:8786"), a Cluster object (LocalCluster,
    dask-jobqueue's SLURMCluster, ...) or an existing ``distributed.Client``. A client this
    class opens is closed by ``close()``; a cluster or client passed in is left running.
    ``timeout``: seconds to wait for the scheduler. ``max_in_flight``: submitted-but-unread
    tasks (default: all items at once, which lets an adaptive cluster scale).
    """

    def __init__(self, cluster, timeout: float = 10.0, max_in_flight: int | None = None):
        from distributed import Client

        self.max_in_flight = max_in_flight
        self._own_client = not isinstance(cluster, Client)
        if not self._own_client:
            self.client = cluster
        elif isinstance(cluster, str):
            _probe(cluster, timeout)
            # built in two steps so that a client that failed to connect can be closed at
            # once (left to the garbage collector, it prints errors when Python exits)
            client = Client.__new__(Client)
            try:
                client.__init__(cluster, timeout=timeout, set_as_default=False)
            except Exception as e:
                with contextlib.suppress(Exception):
                    client.close(timeout=2)
                raise InputError(f"cannot connect to Dask scheduler {cluster}: {_why(e)}") from None
            self.client = client
        else:
            self.client = Client(cluster, set_as_default=False)

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    def map_unordered(self, fn, items):
        from distributed import as_completed

        it = iter(items)
        pending = {}
        completed = as_completed(loop=self.client.loop)

        def submit(batch):
            for item in batch:
                future = self.client.submit(fn, item, pure=False)
                pending[future] = item
                completed.add(future)

        submit(it if self.max_in_flight is None else islice(it, self.max_in_flight))
        try:
            for future in completed:
                item = pending.pop(future)
                result = future.result()
                future.release()
                submit(islice(it, 1))
                yield item, result
        finally:
            if pending:
                self.client.cancel(list(pending))

    def close(self):
        if self._own_client and self.client.status not in ("closed", "closing"):
            self.client.close()

    def __repr__(self):
        return f"DaskExecutor({self.address!r})"


def make_executor(workers: int = 1, scheduler: str | None = None) -> Executor:
    """Serial (workers=1), ProcessExecutor (workers>1), or DaskExecutor(scheduler)."""
    if scheduler is not None:
        if workers != 1:
            raise InputError("give either a number of workers or a Dask scheduler, not both")
        return DaskExecutor(scheduler)
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)


def _probe(address: str, timeout: float) -> None:
    """InputError unless a TCP connection to a tcp:// or tls:// scheduler address opens.

    A refused connection fails here at once, where distributed.Client would retry until
    its timeout.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return
        host, port = parse_host_port(location)
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except (OSError, ValueError) as e:
        raise InputError(f"cannot connect to Dask scheduler {address}: {_why(e)}") from None


def _why(error: BaseException) -> str:
    """One line naming an exception."""
    if isinstance(error, TimeoutError) and not str(error):
        return "timed out"
    text = " ".join(str(error).split())
    return (
        text
        if isinstance(error, OSError | ValueError) and text
        else f"{type(error).__name__}: {text}"
    )
