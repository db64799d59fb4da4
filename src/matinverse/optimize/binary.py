"""Optimisers over binary vectors x in {0, 1}^D (a design flattened; uint8).

An objective provides a cheap ``surrogate(X)`` and a costly, exact ``exact(X)`` loss for a
batch (B, D); optionally ``flip_scores(x)`` (D,), a first-order estimate of the surrogate
change when each bit of x flips, which lets descent screen all D moves with one gradient;
optionally ``exact_within(X, bound)`` -> (values, exact) (B,), (B,) bool, which may stop
early on a design it proves worse than ``bound`` (values[i] is then a lower bound above it),
so that rejected moves cost less (branch and bound). The optimisers use the surrogate to
rank moves and call ``exact`` only to confirm them; every design they return carries its
exact loss. ``VerifiedPool`` keeps every exactly evaluated design, so a caller can take the
k best distinct designs across optimisers.
"""

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class BinaryObjective(Protocol):
    def surrogate(self, x: np.ndarray) -> np.ndarray:
        """(B, D) uint8 -> (B,) estimated losses."""

    def exact(self, x: np.ndarray) -> np.ndarray:
        """(B, D) uint8 -> (B,) exact losses (inf for an infeasible design)."""


@dataclass
class VerifiedPool:
    """Exact losses of every design evaluated, keyed by its bytes (no design twice), and
    the lower bounds of designs whose evaluation stopped early (``exact`` with a bound)."""

    objective: BinaryObjective
    losses: dict = field(default_factory=dict)
    lower_bounds: dict = field(default_factory=dict)
    calls: int = 0

    def exact(self, x: np.ndarray, bound: float | None = None) -> np.ndarray:
        """(B, D) -> (B,) exact losses, evaluating only designs not seen before. With
        ``bound`` (and an objective with ``exact_within``), a design proved worse than it
        may get a lower bound above ``bound`` instead of its exact loss."""
        x = np.ascontiguousarray(x, dtype=np.uint8)
        keys = [row.tobytes() for row in x]
        within = bound is not None and hasattr(self.objective, "exact_within")
        new = {}
        for key, row in zip(keys, x, strict=True):
            if key in self.losses or key in new:
                continue
            if within and self.lower_bounds.get(key, -np.inf) > bound:
                continue
            new[key] = row
        if new:
            rows = np.stack(list(new.values()))
            if within:
                values, proven = self.objective.exact_within(rows, bound)
            else:
                values, proven = self.objective.exact(rows), np.ones(len(rows), bool)
            for key, value, exact in zip(new, values.tolist(), proven, strict=True):
                if exact:
                    self.losses[key] = value
                    self.lower_bounds.pop(key, None)
                else:
                    self.lower_bounds[key] = value
            self.calls += len(new)
        return np.array([self.losses.get(k, self.lower_bounds.get(k)) for k in keys])

    def best(self, k: int, min_distance: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The k best designs (k, D) uint8 and their exact losses (k,), best first.

        With ``min_distance`` > 0 the choice is greedy: a design is taken only if it differs
        in at least that many bits from every design already taken; if fewer than k
        qualify, the best of the rest fill up the list (still sorted by loss)."""
        items = sorted(self.losses.items(), key=lambda kv: kv[1])
        if min_distance <= 0 or len(items) <= k:
            chosen = items[:k]
        else:
            x = np.stack([np.frombuffer(key, dtype=np.uint8) for key, _ in items])
            taken: list[int] = []
            for i in range(len(items)):
                if len(taken) == k:
                    break
                if all(np.count_nonzero(x[i] != x[j]) >= min_distance for j in taken):
                    taken.append(i)
            chosen_set = set(taken)
            rest = [i for i in range(len(items)) if i not in chosen_set]
            chosen = [items[i] for i in sorted(taken + rest[: k - len(taken)])]
        x = np.stack([np.frombuffer(key, dtype=np.uint8) for key, _ in chosen])
        return x, np.array([loss for _, loss in chosen])


@dataclass
class Result:
    """Best design found (D,), its exact loss, and the exact loss after each iteration."""

    x: np.ndarray
    loss: float
    history: list = field(default_factory=list)


def flipped(x: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """(len(flips), D): copies of x (D,), row i with bit ``flips[i]`` inverted."""
    out = np.repeat(x[None, :], len(flips), axis=0)
    out[np.arange(len(flips)), flips] ^= 1
    return out


def _rank(
    objective: BinaryObjective, x: np.ndarray, screen: int | None, rerank: bool
) -> np.ndarray:
    """Indices of single flips of x, most promising first: by the first-order
    ``flip_scores`` when the objective has them (the best ``screen``), then, with
    ``rerank``, by the surrogate."""
    flips = np.arange(x.size)
    if hasattr(objective, "flip_scores"):
        flips = np.argsort(objective.flip_scores(x), kind="stable")[:screen]
        if not rerank:
            return flips
    return flips[np.argsort(objective.surrogate(flipped(x, flips)), kind="stable")]


def steepest_descent(
    pool: VerifiedPool,
    x0: np.ndarray,
    max_steps: int = 100,
    verify: int = 8,
    screen: int | None = 64,
    patience: int = 3,
    deadline: float | None = None,
    rerank: bool = True,
) -> Result:
    """Descend over single-bit flips: rank the flips, evaluate them exactly ``verify`` at a
    time, best ranked first, and move to the best of the first batch that lowers the exact
    loss; stop when ``patience`` batches in a row do not, after ``max_steps`` moves, or at
    ``deadline`` (a time.perf_counter() value). The ranking: the ``screen`` flips with the
    best first-order scores (all flips if the objective has none), ordered by the surrogate
    (``rerank``) or by those scores."""
    x = np.array(x0, dtype=np.uint8).ravel()
    loss = float(pool.exact(x[None])[0])
    history = [loss]
    for _ in range(max_steps):
        moved = False
        ranked = _rank(pool.objective, x, screen, rerank)
        for start in range(0, min(len(ranked), patience * verify), verify):
            if deadline is not None and time.perf_counter() > deadline:
                return Result(x, loss, history)
            moves = flipped(x, ranked[start : start + verify])
            losses = pool.exact(moves, bound=loss)
            best = int(np.argmin(losses))
            if losses[best] < loss:
                x, loss, moved = moves[best], float(losses[best]), True
                history.append(loss)
                break
        if not moved:
            break
    return Result(x, loss, history)


def binary_swarm(
    pool: VerifiedPool,
    x_init: np.ndarray,
    iterations: int = 50,
    rng: np.random.Generator | None = None,
    inertia: float = 0.7,
    cognitive: float = 1.5,
    social: float = 1.5,
    v_max: float = 4.0,
    verify: int = 4,
    deadline: float | None = None,
) -> Result:
    """Binary particle swarm (Kennedy & Eberhart 1997) over the particles ``x_init`` (P, D).

    Velocities v are real; each bit is resampled as ``rand < sigmoid(v)``. Personal bests
    follow the surrogate; every iteration the ``verify`` particles with the best surrogate
    loss are evaluated exactly and the social attractor is the best exactly verified design.
    """
    rng = rng if rng is not None else np.random.default_rng()
    x = np.array(x_init, dtype=np.uint8).reshape(len(x_init), -1)
    v = rng.uniform(-1, 1, x.shape)
    personal, personal_loss = x.copy(), pool.objective.surrogate(x)
    order = np.argsort(personal_loss)[:verify]
    exact = pool.exact(x[order])
    best, best_loss = x[order[int(np.argmin(exact))]].copy(), float(exact.min())
    history = [best_loss]
    for _ in range(iterations):
        if deadline is not None and time.perf_counter() > deadline:
            break
        r1, r2 = rng.random(x.shape), rng.random(x.shape)
        xf = x.astype(float)
        v = inertia * v + cognitive * r1 * (personal - xf) + social * r2 * (best - xf)
        np.clip(v, -v_max, v_max, out=v)
        x = (rng.random(x.shape) < 1 / (1 + np.exp(-v))).astype(np.uint8)
        loss = pool.objective.surrogate(x)
        better = loss < personal_loss
        personal[better], personal_loss[better] = x[better], loss[better]
        order = np.argsort(loss)[:verify]
        exact = pool.exact(x[order])
        i = int(np.argmin(exact))
        if exact[i] < best_loss:
            best, best_loss = x[order[i]].copy(), float(exact[i])
        history.append(best_loss)
    return Result(best, best_loss, history)


def random_search(
    pool: VerifiedPool, sample, batch: int = 64, deadline: float | None = None, max_batches=None
) -> Result:
    """Baseline: evaluate batches ``sample(batch)`` -> (batch, D) exactly until ``deadline``
    or ``max_batches``; return the best."""
    history = []
    best, best_loss = None, np.inf
    count = 0
    while max_batches is None or count < max_batches:
        if deadline is not None and time.perf_counter() > deadline and count:
            break
        x = np.asarray(sample(batch), dtype=np.uint8).reshape(batch, -1)
        losses = pool.exact(x)
        i = int(np.argmin(losses))
        if losses[i] < best_loss:
            best, best_loss = x[i].copy(), float(losses[i])
        history.append(best_loss)
        count += 1
    return Result(best, best_loss, history)
