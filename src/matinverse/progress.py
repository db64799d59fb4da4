"""Progress for the CLI; library code takes a plain ``progress(done, total)`` callable.

On a terminal this is a rich bar on stderr. When stderr is a file or a pipe (a batch job's
log), a bar would only be drawn at the end, so a plain line is written instead at most every
``interval`` seconds and at completion: ``description: done/total, elapsed, ETA``; the ETA
extrapolates from the work done since the first call (a resumed run starts part-way).
Under ``torchrun`` only rank 0 reports.
"""

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


@contextmanager
def progress_bar(description: str, interval: float = 30.0) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(done, total)`` callback reporting on stderr."""
    if int(os.environ.get("RANK", 0)) > 0:
        yield lambda done, total: None
        return
    console = Console(stderr=True)
    if not console.is_terminal:
        start = time.monotonic()
        last = -float("inf")  # the first call is written at once
        first = None

        def log(done: int, total: int) -> None:
            nonlocal last, first
            now = time.monotonic()
            first = done if first is None else first
            if now - last < interval and done < total:
                return
            last = now
            rate = (done - first) / (now - start) if now > start else 0.0
            eta = 0.0 if done >= total else (total - done) / rate if rate > 0 else float("nan")
            print(
                f"{description}: {done}/{total}, {_clock(now - start)} elapsed, ETA "
                f"{_clock(eta) if eta == eta else '?'}",
                file=sys.stderr,
                flush=True,
            )

        yield log
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
