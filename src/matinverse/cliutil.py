"""Small helpers shared by the problem CLIs."""

import sys
from pathlib import Path

from matinverse.errors import InputError


def command_line() -> str:
    """The command as typed (for model cards and reports)."""
    return " ".join(["matinverse"] + sys.argv[1:])


def model_checkpoint(out: Path) -> Path:
    """Check a model file name (.pt) and return its training checkpoint's path."""
    if out.suffix != ".pt":
        raise InputError(f"--out must end in .pt, got {out}")
    return out.with_name(out.name + ".checkpoint")
