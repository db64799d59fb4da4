"""Learning curve of a :class:`~matinverse.tune.spaces.Tunable` configuration: test error
against training-set size (``matinverse learning-curve``).

Every point trains the configuration with the tunable's training function (seed 0, as the
train commands) on a nested random subset of the training rows (subset seed 0: each subset
holds the smaller ones; validation data unchanged) and measures the error on the test data,
never used for selection. Budget: every point takes the epochs and optimiser steps of a run
on all the training rows (the train command's epochs x steps; for the porous predictor,
whose epoch is one pass over the rows, epochs of as many batches as a pass over all of
them), so a small subset is not under-trained but seen more often. A finished point is
recorded at once, so a rerun skips it.
"""

import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from matinverse.errors import InputError
from matinverse.train.learning_curve import CurveRecord, PowerLaw, fit_power_law, nested_subsets
from matinverse.tune.spaces import Tunable

DEFAULT_FRACTIONS = "1/64,1/32,1/16,1/8,1/4,1/2,1"
SUBSET_SEED = 0


def parse_fractions(text: str) -> list[float]:
    """Comma-separated fractions of the training rows ("1/64", "0.25", "1"), each in
    (0, 1], sorted and without repeats."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not words:
        raise InputError("--fractions is empty")
    try:
        values = sorted({float(Fraction(w)) for w in words})
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--fractions must be numbers like 1/64 or 0.25, got {text!r}") from None
    if values[0] <= 0 or values[-1] > 1:
        raise InputError(f"--fractions must lie in (0, 1], got {text!r}")
    return values


def curve_identity(tunable: Tunable, params: dict, settings: dict, n_full: int) -> dict:
    """What a curve's points were computed for (a record of another is refused)."""
    return {
        "problem": tunable.problem,
        "model": tunable.model,
        "params": params,
        "settings": settings,
        "training_rows": n_full,
        "subset_seed": SUBSET_SEED,
        "test_metric": tunable.test_metric,
        "unit": tunable.unit(settings),
    }


def curve_sizes(
    tunable: Tunable, params: dict, fractions: list[float], n_full: int, drop_small: bool = False
) -> list:
    """(fraction, training rows) of each point; a subset smaller than the training function
    accepts is refused, or left out with ``drop_small`` (the default fractions); fractions
    that round to the same size give one point."""
    sizes, least = {}, tunable.min_rows(params)
    for fraction in fractions:
        size = max(1, round(fraction * n_full))
        if size >= least or not drop_small:
            sizes.setdefault(size, fraction)
    if not sizes:
        raise InputError(f"{n_full} training rows are fewer than the {least} a run needs")
    smallest = min(sizes)
    if smallest < least:
        raise InputError(
            f"fraction {sizes[smallest]:.4g} leaves {smallest} of {n_full} training rows, "
            f"fewer than the {least} a run needs (a batch); use larger --fractions"
        )
    return [(fraction, size) for size, fraction in sorted(sizes.items())]


def run_learning_curve(
    tunable: Tunable,
    data: Any,
    params: dict,
    settings: dict,
    sizes: list,
    record: CurveRecord,
    progress: Callable[[int, int], None] | None = None,
) -> PowerLaw | None:
    """Train and test a point for each (fraction, training rows) of ``sizes`` missing from
    ``record`` (keyed by the training rows), recording each as it finishes: fraction,
    n_train, test_error, steps, seconds. Then fit the power law to every point of the
    record and write it (``fit``: a, b, r2, points; None below two points); returns it."""
    n_full = tunable.training_rows(data)
    subsets = nested_subsets(n_full, [size for _, size in sizes], SUBSET_SEED)
    done = sum(str(size) in record for _, size in sizes)
    if progress is not None:
        progress(done, len(sizes))
    for (fraction, size), rows in zip(sizes, subsets, strict=True):
        if str(size) in record:
            continue
        budget = tunable.budget(params, settings, size, n_full)
        start = time.perf_counter()
        model, _ = tunable.train(tunable.subset(data, rows), params, budget)
        point = {
            "fraction": fraction,
            "n_train": size,
            "test_error": tunable.test_error(model, data),
            "steps": tunable.steps(params, budget, size),
            "seconds": time.perf_counter() - start,
        }
        record.add(str(size), point)
        done += 1
        if progress is not None:
            progress(done, len(sizes))
    points = sorted(record.points.values(), key=lambda p: p["n_train"])
    fit = fit_power_law([p["n_train"] for p in points], [p["test_error"] for p in points])
    record.points = {str(p["n_train"]): p for p in points}
    record.write(fit=fit.as_dict() if fit else None)
    return fit
