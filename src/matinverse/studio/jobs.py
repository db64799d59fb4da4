"""Jobs of the studio: library calls run in worker threads, several at once.

A job runs ``work(progress)``, where ``progress(done, total)`` is the library's progress
callback; it records the progress and raises :class:`Cancelled` once the job is cancelled,
so a library function stops at its next report. ``work`` returns the JSON-ready result and
the files offered for download ({name: bytes}). Bad input found while running
(:class:`~matinverse.errors.InputError`) fails the job with its message.
"""

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from matinverse.errors import InputError

log = logging.getLogger(__name__)

Work = Callable[[Callable[[int, int], None]], tuple[dict, dict[str, bytes]]]

FINISHED = ("done", "failed", "cancelled")


class Cancelled(Exception):
    """Raised by a cancelled job's progress callback to stop the library call."""


@dataclass
class Job:
    """One run: ``kind`` (the page), ``state`` (queued, running, cancelling, done, failed,
    cancelled), ``done``/``total`` of the last progress report, ``error`` (one line),
    ``result`` (JSON-ready) and ``files`` ({name: bytes}); times in seconds since the
    epoch."""

    kind: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        """The library's progress callback: record, or stop a cancelled job."""
        if self.cancel_requested.is_set():
            raise Cancelled
        self.done, self.total = int(done), int(total)

    def view(self) -> dict:
        """The job as the API shows it (files by name only)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": {"done": self.done, "total": self.total},
            "error": self.error,
            "result": self.result,
            "files": sorted(self.files),
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }


class JobManager:
    """Runs jobs on ``workers`` threads (more wait, queued) and keeps the last ``keep``
    finished ones."""

    def __init__(self, workers: int = 4, keep: int = 100):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="studio-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self.keep = keep

    def submit(self, kind: str, work: Work) -> Job:
        """Queue ``work`` as a new job of ``kind``; returns it at once."""
        job = Job(kind)
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state in FINISHED]
            for old in finished[: max(0, len(finished) - self.keep)]:
                del self._jobs[old.id]
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job:
        """The job of that id; KeyError when there is none (or it was dropped)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def jobs(self) -> list[Job]:
        """All kept jobs, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop: a queued one never starts, a running one stops at its next
        progress report (state 'cancelling' until then); a finished one is left as is."""
        job = self.get(job_id)
        job.cancel_requested.set()
        if job.state == "running":
            job.state = "cancelling"
        return job

    def shutdown(self) -> None:
        """Cancel every job and wait for the workers to stop (queued jobs end cancelled)."""
        for job in self.jobs():
            job.cancel_requested.set()
        self._pool.shutdown(wait=True)

    def _run(self, job: Job, work: Work) -> None:
        if job.cancel_requested.is_set():
            job.state, job.finished = "cancelled", time.time()
            return
        job.state, job.started = "running", time.time()
        try:
            job.result, job.files = work(job.progress)
            job.state = "done"
        except Cancelled:
            job.state = "cancelled"
        except InputError as err:
            job.state, job.error = "failed", str(err)
        except Exception as err:  # a bug: keep the server up, log the traceback
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.state, job.error = "failed", f"internal error: {type(err).__name__}: {err}"
        finally:
            job.finished = time.time()
