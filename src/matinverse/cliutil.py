"""Small helpers shared by the problem CLIs."""

import sys
from pathlib import Path

import typer

from matinverse.errors import InputError


def command_line() -> str:
    """The command as typed (for model cards and reports)."""
    return " ".join(["matinverse"] + sys.argv[1:])


def training_run(out: Path, ctx: typer.Context):
    """Check a model file name (.pt), join the process group when run under ``torchrun``
    and open the run folder OUT.run (OUT without .pt; see :class:`matinverse.train.run.Run`)
    with the command line and its resolved options (``ctx.params``) in ``config.json``."""
    if out.suffix != ".pt":
        raise InputError(f"--out must end in .pt, got {out}")
    from matinverse.train import distributed
    from matinverse.train.run import Run

    distributed.setup()
    return Run(out.with_suffix(".run"), {"command": command_line(), "options": ctx.params})
