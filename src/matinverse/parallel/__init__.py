"""Fan-out of independent work items: serial, local processes, or a Dask cluster."""

from matinverse.parallel.executor import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)

__all__ = ["DaskExecutor", "Executor", "ProcessExecutor", "SerialExecutor", "make_executor"]
