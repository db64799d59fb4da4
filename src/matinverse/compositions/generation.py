"""Sampling formulas from a trained generator, optionally only valid ones."""

from collections.abc import Callable

import torch

from matinverse.compositions.encoding import decode
from matinverse.compositions.models import CompositionGenerator, CompositionTransformer
from matinverse.compositions.validity import HEADLINE, validity
from matinverse.errors import InputError

BATCH = 8192


def sample_formulas(
    generator: CompositionGenerator | CompositionTransformer,
    n: int,
    seed: int = 0,
    valid_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
    max_draws: int | None = None,
    sampling: dict | None = None,
) -> tuple[list[tuple[str | None, bool]], int]:
    """n rows (reduced formula or None when a sample decodes to nothing, headline validity)
    and the number of samples drawn. ``valid_only`` keeps drawing (up to ``max_draws``,
    default 100 n) until n valid rows. ``sampling`` holds extra ``sample_states`` arguments
    (the transformer's temperatures). Same seed, same rows."""
    gen = torch.Generator().manual_seed(seed)
    max_draws = max_draws or 100 * n
    rows: list[tuple[str | None, bool]] = []
    drawn = 0
    while len(rows) < n:
        if drawn >= max_draws:
            raise InputError(
                f"only {len(rows)} valid formulas in {drawn} samples; the generator rarely "
                "produces valid formulas"
            )
        size = min(BATCH, (n - len(rows)) if not valid_only else BATCH)
        formulas = decode(generator.sample_states(size, gen, **(sampling or {})))
        verdicts = validity(formulas, HEADLINE)
        drawn += size
        batch = list(zip(formulas, verdicts.tolist(), strict=True))
        rows.extend((f, v) for f, v in batch if v or not valid_only)
        if progress is not None:
            progress(min(len(rows), n), n)
    return rows[:n], drawn


def sampling_temperatures(text: str) -> dict:
    """The transformer's ``sample_states`` temperatures from 'ELEMENT,COUNT' (e.g. '2,0.5')."""
    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 2 or not all(0.05 <= t <= 100 for t in values):
        raise InputError(
            f"temperatures must be two numbers 'ELEMENT,COUNT' in [0.05, 100], got {text!r}"
        )
    return dict(zip(("element_temperature", "count_temperature"), values, strict=True))
