"""Inverse design of porous grids for a target adsorption isotherm.

Pipeline per target (each stage optional, all sharing one pool of exactly simulated grids):
``generator`` samples many latent codes, ranks the grids with the predictor and simulates
the best; ``swarm`` runs a binary particle swarm seeded with them (or with random family
grids); ``descent`` runs steepest descent over single-cell flips from the best verified
grids; ``random`` is the random-search baseline over the dataset's grid families. The
grids returned are the best of the pool: every one was run through the exact simulator
and every reported error is a simulator error.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from matinverse.errors import InputError
from matinverse.nn import load_model
from matinverse.optimize import (
    VerifiedPool,
    binary_swarm,
    flipped,
    random_search,
    steepest_descent,
)
from matinverse.porous.grids import generate_grids
from matinverse.porous.models import GridGenerator, IsothermPredictor, sample_codes
from matinverse.porous.simulator import LatticeDFT

STAGES = ("generator", "swarm", "descent", "random")
RANKINGS = ("response", "surrogate")

WEIGHTS = "matinverse.porous.weights"


def default_weights() -> tuple[Path, Path]:
    """Paths of the shipped predictor and generator weights (20 x 20 grids)."""
    root = resources.files(WEIGHTS)
    return Path(str(root / "predictor.pt")), Path(str(root / "generator.pt"))


class IsothermObjective:
    """Mean absolute error between a grid's isotherm and ``target`` (P,), over flattened
    (B, L*L) uint8 grids: ``surrogate`` by the predictor, ``exact`` by the simulator (inf
    for a grid without pores); exact isotherms are kept in ``isotherms`` by grid bytes.
    ``flip_scores`` estimates each single flip's change of the loss: with ``ranking``
    "response" from the simulator's exact linear response (each pressure's change clipped
    to ``clip`` / number of pores, a flip filling or draining about one cell), with
    "surrogate" from the predictor's input gradient."""

    def __init__(
        self,
        target,
        predictor: IsothermPredictor,
        simulator: LatticeDFT,
        size: int,
        ranking: str = "response",
        clip: float = 1.0,
    ):
        self.target = np.asarray(target, dtype=float)
        self.predictor, self.simulator, self.size = predictor, simulator, size
        self.ranking, self.clip = ranking, clip
        self._target_t = torch.as_tensor(self.target, dtype=torch.float32)
        self.isotherms: dict[bytes, np.ndarray] = {}

    def _grids(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x.reshape(-1, self.size, self.size), dtype=torch.float32)

    def surrogate(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            pred = self.predictor(self._grids(x))
        return (pred - self._target_t).abs().mean(dim=1).numpy().astype(float)

    def flip_scores(self, x: np.ndarray) -> np.ndarray:
        """(D,) first-order change of the loss when each cell of x flips."""
        sign = 1.0 - 2.0 * x.ravel()
        if self.ranking == "response":
            theta, dtheta = self.simulator.flip_response(x.reshape(self.size, self.size))
            step = self.clip / max(1, int(x.sum()))
            change = np.clip(dtheta.reshape(len(theta), -1) * sign, -step, step)
            error = theta[:, None] + change - self.target[:, None]
            return np.abs(error).mean(axis=0) - np.abs(theta - self.target).mean()
        grid = self._grids(x).requires_grad_(True)
        loss = (self.predictor(grid) - self._target_t).abs().mean()
        (grad,) = torch.autograd.grad(loss, grid)
        return (grad.numpy().ravel() * sign).astype(float)

    def exact(self, x: np.ndarray) -> np.ndarray:
        return self.exact_within(x, None)[0]

    def exact_within(self, x: np.ndarray, bound: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Exact losses (B,) and which are exact (B,) bool; with ``bound`` the simulation of
        a grid stops once its error proves it above the bound (a lower bound is returned)."""
        losses = np.full(len(x), np.inf)
        proven = np.ones(len(x), dtype=bool)
        ok = x.any(axis=1)
        if ok.any():
            grids = x[ok].reshape(-1, self.size, self.size)
            if bound is None or not np.isfinite(bound):
                ads = self.simulator.simulate(grids).adsorption
            else:
                ads = self.simulator.simulate_within(grids, self.target, bound).adsorption
            done = ~np.isnan(ads).any(axis=1)
            losses[ok] = np.nansum(np.abs(ads - self.target), axis=1) / self.target.size
            proven[np.flatnonzero(ok)[~done]] = False
            for row, iso in zip(x[ok][done], ads[done], strict=True):
                self.isotherms[row.tobytes()] = iso
        return losses, proven


@dataclass
class DesignSettings:
    """Budgets of the design stages.

    ``time_limit``: seconds per target, all stages included (the timed stages share what
    the generator leaves, equally); ``codes``: generator samples; ``verify``: exact checks
    per descent batch; ``kick``: most cells flipped to leave a local minimum;
    ``min_distance``: cells in which the returned candidates differ pairwise (when the pool
    allows), so the K candidates are distinct designs, not one design and its flips;
    ``search_accuracy``: theta accuracy of the exact checks during the search (the returned
    candidates are simulated again at the simulator's own accuracy); ``ranking``: how the
    descent orders flips, "response" by the simulator's exact linear response (clipped at
    ``response_clip`` cells' worth of filling per pressure), "surrogate" by the predictor
    (its gradient screens ``screen`` flips, its forward pass ranks them)."""

    stages: tuple = ("generator", "descent")
    candidates: int = 5
    time_limit: float = 9.0
    codes: int = 192
    generator_verify: int = 32
    swarm_particles: int = 32
    swarm_iterations: int = 100
    descent_starts: int = 3
    descent_steps: int = 200
    verify: int = 4
    patience: int = 6
    screen: int = 64
    min_distance: int = 8
    kick: int = 12
    search_accuracy: float = 1e-6
    ranking: str = "response"
    response_clip: float = 1.0

    def __post_init__(self):
        unknown = set(self.stages) - set(STAGES)
        if unknown or not self.stages:
            raise InputError(f"stages must be a non-empty subset of {STAGES}, got {self.stages}")
        if self.candidates < 1:
            raise InputError(f"candidates must be at least 1, got {self.candidates}")
        if self.ranking not in RANKINGS:
            raise InputError(f"ranking must be one of {RANKINGS}, got {self.ranking!r}")


@dataclass
class TargetDesign:
    """Designs for one target: ``grids`` (K, L, L) uint8 best first, their simulated
    ``adsorption`` (K, P), ``mae`` and ``max_error`` (K,), wall ``seconds`` and the number
    of exact simulations spent."""

    target: np.ndarray
    grids: np.ndarray
    adsorption: np.ndarray
    mae: np.ndarray
    max_error: np.ndarray
    seconds: float
    simulations: int
    stage_mae: dict = field(default_factory=dict)


class PorousDesigner:
    """Grids whose exact isotherm matches a target, from a predictor and a generator."""

    def __init__(
        self,
        predictor: IsothermPredictor,
        generator: GridGenerator | None = None,
        simulator: LatticeDFT | None = None,
        settings: DesignSettings | None = None,
    ):
        self.predictor = predictor.eval().requires_grad_(False)
        self.generator = generator.eval().requires_grad_(False) if generator else None
        self.simulator = simulator if simulator is not None else LatticeDFT()
        self.settings = settings if settings is not None else DesignSettings()
        if "generator" in self.settings.stages and self.generator is None:
            raise InputError("the generator stage needs a generator model")
        self.size = generator.config["size"] if generator is not None else 20

    @classmethod
    def pretrained(cls, predictor_path=None, generator_path=None, **kwargs) -> "PorousDesigner":
        """A designer with the shipped weights (or the given weight files)."""
        default_p, default_g = default_weights()
        predictor = load_model(predictor_path or default_p, IsothermPredictor)
        generator = load_model(generator_path or default_g, GridGenerator)
        return cls(predictor, generator, **kwargs)

    def design(
        self,
        target,
        rng: np.random.Generator | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> TargetDesign:
        """Run the stages for one target (P,) and return the ``candidates`` best grids.
        ``progress(done, total)``, in milliseconds of the time limit, is called after each
        stage and each descent restart; an exception it raises stops the design."""
        rng = rng if rng is not None else np.random.default_rng()
        s = self.settings
        target = np.asarray(target, dtype=float)
        start = time.perf_counter()
        total_ms = max(1, round(1000 * s.time_limit))

        def report() -> None:
            if progress is not None:
                progress(min(total_ms, round(1000 * (time.perf_counter() - start))), total_ms)

        search = replace(self.simulator, accuracy=max(self.simulator.accuracy, s.search_accuracy))
        objective = IsothermObjective(
            target, self.predictor, search, self.size, s.ranking, s.response_clip
        )
        pool = VerifiedPool(objective)
        stage_mae = {}
        end = start + s.time_limit
        timed_left = sum(st != "generator" for st in s.stages)
        seeds = None
        for stage in s.stages:
            now = time.perf_counter()
            deadline = now + max(0.0, end - now) / max(1, timed_left)
            timed_left -= stage != "generator"
            if stage == "generator":
                seeds = self._generate(target, pool, rng)
            elif stage == "swarm":
                x0 = seeds if seeds is not None else self._random(s.swarm_particles, rng)
                particles = x0[: s.swarm_particles]
                if len(particles) < s.swarm_particles:
                    extra = self._random(s.swarm_particles - len(particles), rng)
                    particles = np.concatenate([particles, extra])
                binary_swarm(pool, particles, s.swarm_iterations, rng, verify=4, deadline=deadline)
            elif stage == "descent":
                if not pool.losses:
                    pool.exact(self._random(s.generator_verify, rng))
                self._descend(pool, deadline, rng, report)
            elif stage == "random":
                random_search(pool, lambda n: self._random(n, rng), deadline=deadline)
            stage_mae[stage] = float(pool.best(1)[1][0])
            report()
        self._top_up(pool, s.candidates)
        x, _ = pool.best(s.candidates, s.min_distance)
        ads = self.simulator.simulate(x.reshape(-1, self.size, self.size)).adsorption
        mae = np.abs(ads - target).mean(axis=1)
        order = np.argsort(mae, kind="stable")
        grids, ads, mae = x.reshape(-1, self.size, self.size)[order], ads[order], mae[order]
        return TargetDesign(
            target=target,
            grids=grids,
            adsorption=ads,
            mae=mae,
            max_error=np.abs(ads - target).max(axis=1),
            seconds=time.perf_counter() - start,
            simulations=pool.calls,
            stage_mae=stage_mae,
        )

    def _generate(self, target, pool: VerifiedPool, rng) -> np.ndarray:
        """Sample ``codes`` grids, verify the ``generator_verify`` best by the surrogate;
        return all distinct samples (flattened), best surrogate first."""
        s = self.settings
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        t = torch.as_tensor(target, dtype=torch.float32).expand(s.codes, -1)
        with torch.no_grad():
            logits = self.generator(
                t, sample_codes(s.codes, self.generator.config["code_dim"], gen)
            )
        x = np.unique((logits > 0).numpy().astype(np.uint8).reshape(s.codes, -1), axis=0)
        x = x[np.argsort(pool.objective.surrogate(x), kind="stable")]
        pool.exact(x[: s.generator_verify])
        return x

    def _descend(
        self, pool: VerifiedPool, deadline: float, rng: np.random.Generator, report: Callable
    ) -> None:
        """Iterated local search. Steepest descent from the ``descent_starts`` best distinct
        verified grids (sharing the first half of the time), then, until the deadline,
        descent from the best grid found with 2 to ``kick`` random cells flipped: a
        perturbation that leaves its local minimum of single flips. ``report()`` after
        each descent."""
        s = self.settings
        start = time.perf_counter()
        middle = start + 0.5 * (deadline - start)
        descend = partial(
            steepest_descent,
            pool,
            max_steps=s.descent_steps,
            verify=s.verify,
            screen=s.screen,
            patience=s.patience,
            rerank=s.ranking != "response",
        )
        starts, _ = pool.best(s.descent_starts, s.min_distance)
        for i, x0 in enumerate(starts):
            now = time.perf_counter()
            descend(x0, deadline=now + (middle - now) / (len(starts) - i))
            report()
        while time.perf_counter() < deadline:
            x = pool.best(1)[0][0].copy()
            x[rng.choice(x.size, int(rng.integers(2, s.kick + 1)), replace=False)] ^= 1
            descend(x, deadline=deadline)
            report()

    def _top_up(self, pool: VerifiedPool, k: int) -> None:
        """Verify single-cell variants of the best grids until the pool holds k grids."""
        for x in pool.best(k)[0]:
            if len(pool.losses) >= k:
                return
            variants = flipped(x, np.arange(x.size))
            variants = variants[np.argsort(pool.objective.surrogate(variants), kind="stable")]
            pool.exact(variants[: k - len(pool.losses)])

    def _random(self, n: int, rng) -> np.ndarray:
        return generate_grids(n, rng, self.size)[0].reshape(n, -1)


def design_summary(results: list[TargetDesign], settings: DesignSettings, seed: int) -> dict:
    """The report of a design run (JSON-ready): settings, seed and, per target, the exact
    simulator's MAE and max error of the K candidates kept (K: the fewest any target
    has), seconds, simulations and the best MAE after each stage."""
    k = min(len(r.grids) for r in results)
    return {
        "seed": seed,
        "settings": {
            "stages": list(settings.stages),
            "candidates": settings.candidates,
            "time_limit_s": settings.time_limit,
        },
        "errors_are": "exact lattice-DFT simulator errors",
        "targets": [
            {
                "index": i,
                "mae": r.mae[:k].tolist(),
                "max_error": r.max_error[:k].tolist(),
                "seconds": r.seconds,
                "simulations": r.simulations,
                "best_mae_after_stage": r.stage_mae,
            }
            for i, r in enumerate(results)
        ],
    }
