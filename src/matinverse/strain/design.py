"""Strain design of monolayer MoS2 for a target band gap: sample, filter, localize, select.

Each round:

1. the inverse model draws ``candidates`` designs at the target gap;
2. *filter*: designs outside the bounds of the surrogate's training designs are dropped,
   and those whose predicted gap is more than ``window`` eV from the target;
3. *localize* (unless switched off): the ``localize_limit`` designs nearest the target
   (by predicted gap) are kept, and the standardised designs are moved onto the
   surrogate's level set gap = target, inside the bounds
   (:func:`~matinverse.optimize.solve_level_set`: gradient steps through the surrogate);
   designs left more than ``tolerance`` eV away are dropped;
4. *select*: the designs of all rounds so far are ranked by their expected error
   sqrt((gap - target)^2 + std^2) and taken greedily, each at least ``min_separation``
   (Euclidean, in units of the training designs' standard deviations) from those taken.

Rounds repeat until n designs are taken and the pool (the designs passing every filter)
holds at least ``screen`` x n of them, or ``max_rounds`` have run. *Screening* thus returns
the n most confident designs of a larger pool: after localization every design's gap is
within ``tolerance`` of the target, so the expected error is set by the surrogate's
standard deviation, and designs of low deviation are those where the ensemble members agree
(on held-out rows of the data the surrogate's error grows with its deviation). ``screen=1``
stops as soon as n distinct designs are found.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.optimize import solve_level_set
from matinverse.strain.data import BANDGAP_RANGE, COLUMNS
from matinverse.strain.inverse import InverseModel
from matinverse.strain.surrogate import BandGapEnsemble


@dataclass(frozen=True)
class DesignSettings:
    """``candidates`` inverse-model samples per round; ``window`` (eV) of the surrogate
    filter; ``localize`` on or off, of at most ``localize_limit`` designs per round, with
    at most ``steps`` steps and a final ``tolerance`` (eV); ``min_separation`` between
    designs (standardised units); rounds until the pool holds ``screen`` x n designs (at
    least 1: screening by confidence), at most ``max_rounds``."""

    candidates: int = 4096
    window: float = 0.1
    localize: bool = True
    localize_limit: int = 512
    steps: int = 30
    tolerance: float = 0.002
    min_separation: float = 0.05
    screen: float = 10.0
    max_rounds: int = 10


@dataclass
class DesignResult:
    """Designs x (n, 7) in design units, their predicted gaps and standard deviations (n,)
    in eV, best first; counts over all rounds: ``sampled`` designs drawn, ``in_bounds``
    of them inside the bounds, ``filtered`` passing the window, ``kept`` passing the
    localization tolerance (the pool selected from)."""

    x: np.ndarray = field(default_factory=lambda: np.zeros((0, len(COLUMNS))))
    bandgap: np.ndarray = field(default_factory=lambda: np.zeros(0))
    std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sampled: int = 0
    in_bounds: int = 0
    filtered: int = 0
    kept: int = 0


def check_target(bandgap: float) -> None:
    """InputError unless the target gap (eV) lies in the range the data cover."""
    low, high = BANDGAP_RANGE
    if not (np.isfinite(bandgap) and low <= bandgap <= high):
        raise InputError(
            f"band gap target {bandgap} eV is outside the range the data cover, {low} to {high} eV"
        )


def select_distinct(points: np.ndarray, order: np.ndarray, n: int, min_separation: float):
    """Indices of up to n points (M, D), taken greedily in ``order``, each at least
    ``min_separation`` (Euclidean) from every point taken before."""
    taken: list[int] = []
    for i in order:
        if len(taken) == n:
            break
        if not taken or np.min(np.linalg.norm(points[taken] - points[i], axis=1)) >= min_separation:
            taken.append(int(i))
    return np.array(taken, dtype=int)


def localize(
    surrogate: BandGapEnsemble,
    x: np.ndarray,
    target: float,
    steps: int = 30,
    tolerance: float = 1e-4,
) -> np.ndarray:
    """Designs (B, 7) moved onto the surrogate's predicted gap = ``target`` (eV) inside its
    bounds, by :func:`~matinverse.optimize.solve_level_set` in standardised units."""
    lower, upper = (surrogate.standardize(torch.as_tensor(b)).float() for b in surrogate.bounds())
    start = surrogate.standardize(torch.as_tensor(x, dtype=torch.float32))

    def gap(u: torch.Tensor) -> torch.Tensor:
        return surrogate.predict_tensor(u * surrogate.scale + surrogate.mean)[0]

    moved = solve_level_set(gap, start, target, lower, upper, steps, tolerance=tolerance)
    return (moved * surrogate.scale + surrogate.mean).double().numpy()


def design(
    inverse: InverseModel,
    surrogate: BandGapEnsemble,
    target: float,
    n: int,
    seed: int = 0,
    settings: DesignSettings = DesignSettings(),
    progress: Callable[[int, int], None] | None = None,
) -> DesignResult:
    """Up to n distinct designs for the band gap ``target`` (eV), best first; InputError
    for a target outside the data's range or n < 1. Fewer than n come back when
    ``max_rounds`` rounds do not find enough."""
    check_target(target)
    if n < 1:
        raise InputError(f"the number of designs must be at least 1, got {n}")
    if not settings.screen >= 1:
        raise InputError(f"the screening factor must be at least 1, got {settings.screen}")
    generator = torch.Generator().manual_seed(seed)
    lower, upper = surrogate.bounds()
    scale = np.array(surrogate.config["x_scale"])
    pool_x, pool_gap, pool_std = [], [], []
    result = DesignResult()
    for _ in range(settings.max_rounds):
        x = inverse.sample(target, settings.candidates, generator)
        result.sampled += len(x)
        x = x[np.all((x >= lower) & (x <= upper), axis=1)]
        result.in_bounds += len(x)
        gap, std = surrogate.predict(x)
        near = np.abs(gap - target) <= settings.window
        x, gap, std = x[near], gap[near], std[near]
        result.filtered += len(x)
        if settings.localize and len(x):
            nearest = np.argsort(np.abs(gap - target), kind="stable")[: settings.localize_limit]
            x = localize(surrogate, x[nearest], target, settings.steps)
            gap, std = surrogate.predict(x)
            close = np.abs(gap - target) <= settings.tolerance
            x, gap, std = x[close], gap[close], std[close]
        result.kept += len(x)
        pool_x.append(x)
        pool_gap.append(gap)
        pool_std.append(std)
        all_x, all_gap, all_std = map(np.concatenate, (pool_x, pool_gap, pool_std))
        order = np.argsort(np.hypot(all_gap - target, all_std), kind="stable")
        chosen = select_distinct(all_x / scale, order, n, settings.min_separation)
        if progress is not None:
            progress(len(chosen), n)
        if len(chosen) == n and result.kept >= settings.screen * n:
            break
    result.x, result.bandgap, result.std = all_x[chosen], all_gap[chosen], all_std[chosen]
    return result


def load_pretrained(method: str) -> tuple[InverseModel, BandGapEnsemble]:
    """The shipped inverse model of ``method`` and the shipped surrogate (design fold)."""
    from matinverse.nn import load_model
    from matinverse.strain.inverse import METHODS
    from matinverse.strain.weights import WEIGHTS

    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    inverse = load_model(WEIGHTS / f"{method}.pt", METHODS[method])
    return inverse, load_model(WEIGHTS / "surrogate.pt", BandGapEnsemble)


def write_designs(path: str | os.PathLike, result: DesignResult) -> None:
    """CSV with columns a, b, c, alpha, beta, gamma, efield, bandgap_pred, bandgap_std
    (one design per row, best first), written atomically."""
    import pandas as pd

    table = pd.DataFrame(result.x, columns=list(COLUMNS))
    table["bandgap_pred"] = result.bandgap
    table["bandgap_std"] = result.std
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
