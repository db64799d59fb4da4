"""A training run's folder: ``config.json`` (what was run), ``metrics.jsonl`` (one JSON line
per finished epoch) and ``checkpoint.pt`` (the state after the last finished epoch).

A :class:`Run` is a path-like object naming its checkpoint, so it goes wherever a training
function takes ``checkpoint=``; :class:`~matinverse.train.Trainer` then also keeps
``metrics.jsonl``. Every write happens on rank 0 only (see :mod:`.distributed`); the
checkpoint and the rewritten metrics are replaced atomically (temporary file, fsync,
rename), so a kill leaves the previous good file.
"""

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from matinverse import __version__
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.train import distributed


class Run(os.PathLike):
    """The run folder ``folder``. With ``config`` (a JSON-able dict; ``options`` in it are
    the settings that define the run) it writes ``config.json``, adding the package
    versions and the number of processes; a folder that holds a checkpoint of a run with
    other ``options`` is refused (InputError), since resuming it would mix two runs."""

    def __init__(self, folder: str | os.PathLike, config: dict | None = None):
        self.folder = Path(folder)
        self.checkpoint = self.folder / "checkpoint.pt"
        self.metrics = self.folder / "metrics.jsonl"
        self.config = self.folder / "config.json"
        if config is None:
            return
        config = json.loads(json.dumps(config, default=str))
        if self.checkpoint.is_file() and self.config.is_file():
            before = json.loads(self.config.read_text()).get("options")
            if before != config.get("options"):
                raise InputError(
                    f"{self.folder} holds an unfinished run with other options ({before}); "
                    "rerun with those options to resume it, or delete the folder"
                )
        config["versions"] = {
            "matinverse": __version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        }
        config["processes"] = distributed.world_size()
        if distributed.rank() == 0:
            self.config.unlink(missing_ok=True)
        self.add_config(**config)

    def add_config(self, **items) -> None:
        """Add ``items`` (JSON-able) to ``config.json``, e.g. a data report known later."""
        if distributed.rank() == 0:
            config = json.loads(self.config.read_text()) if self.config.is_file() else {}
            config.update(json.loads(json.dumps(items, default=str)))
            with atomic_path(self.config) as tmp:
                tmp.write_text(json.dumps(config, indent=1) + "\n")

    def __fspath__(self) -> str:
        return str(self.checkpoint)

    def restart_metrics(self, history: list[dict]) -> None:
        """Rewrite ``metrics.jsonl`` to hold ``history`` (the checkpoint's epochs) only."""
        if distributed.rank() == 0:
            with atomic_path(self.metrics) as tmp:
                tmp.write_text("".join(json.dumps(record) + "\n" for record in history))

    def log(self, record: dict) -> None:
        """Append one epoch's record to ``metrics.jsonl`` and flush it to disk."""
        if distributed.rank() == 0:
            with open(self.metrics, "a") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def finish(self, save: Callable[[], None]) -> None:
        """Call ``save()`` (write the trained model) on rank 0, then drop the checkpoint;
        the other processes wait until it is written."""
        if distributed.rank() == 0:
            save()
            self.checkpoint.unlink(missing_ok=True)
        distributed.barrier()
