"""Property-targeted composition design: steer the generator with the property models.

A request bounds the predicted properties (formation energy at most X eV/atom, band gap in
[LO, HI] eV), each with ``confidence`` standard deviations of margin. Steering starts from
standard-normal latent vectors of the composition generator and descends, by gradient, a
hinge penalty of the ensembles' predictions on the generator's relaxed output
(:func:`relaxed_fractions`) plus a pull back to the latent prior; the optimised latents are then
decoded by argmax like any sample. A candidate is a *hit* when it decodes to a formula that
is valid (headline SMACT setting), novel (not an OQMD formula) and whose predictions, made
afresh on the decoded formula, meet the request. ``design`` collects distinct hits.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from matinverse.compositions.encoding import ELEMENTS, decode
from matinverse.compositions.features import PROPERTY_ELEMENTS, fractions
from matinverse.compositions.models import CompositionGenerator
from matinverse.compositions.regressors import PropertyEnsemble
from matinverse.compositions.validity import HEADLINE, validity
from matinverse.errors import InputError

# column of each generator element (85) in the property models' fractions (86)
_COLUMNS = torch.tensor([PROPERTY_ELEMENTS.index(s) for s in ELEMENTS])


@dataclass(frozen=True)
class PropertyRequest:
    """Bounds on predicted properties: ``formation_energy_max`` (eV/atom) and ``bandgap``
    (LO, HI) in eV, None for no bound; a prediction meets a bound with ``confidence``
    standard deviations to spare."""

    formation_energy_max: float | None = None
    bandgap: tuple[float, float] | None = None
    confidence: float = 1.0

    def __post_init__(self):
        if self.formation_energy_max is None and self.bandgap is None:
            raise InputError("give at least one property bound (formation energy or band gap)")
        if self.bandgap is not None:
            low, high = self.bandgap
            if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high <= low:
                raise InputError(f"band gap range must be 0 <= LO < HI, got {low}:{high}")
        if self.confidence < 0:
            raise InputError(f"confidence must be >= 0, got {self.confidence}")

    @property
    def properties(self) -> tuple[str, ...]:
        """Names of the bounded properties."""
        return tuple(
            name
            for name, bound in (
                ("formation_energy", self.formation_energy_max),
                ("bandgap", self.bandgap),
            )
            if bound is not None
        )

    def violation(self, property: str, mean, std):
        """Amount (>= 0, same unit) by which mean -/+ confidence std misses the bound;
        works on numpy arrays and torch tensors."""
        margin = self.confidence * std
        if property == "formation_energy":
            return (mean + margin - self.formation_energy_max).clip(min=0)
        low, high = self.bandgap
        return (low - (mean - margin)).clip(min=0) + ((mean + margin) - high).clip(min=0)


def relaxed_fractions(logits: torch.Tensor) -> torch.Tensor:
    """(B, 85, 9) generator state logits -> (B, 86) atomic fractions, differentiable.

    The elements are those the argmax decodes as present, each with its expected count given
    that it is present, so the value is the decoded formula's fractions when the logits are
    sharp; the presence enters by a straight-through estimate (value 0 or 1, the gradient
    of the probability of being present). Property models thus see compositions like the
    ones they were trained on, not a haze of all 85 elements."""
    probs = torch.softmax(logits, -1)
    present = 1 - probs[..., 0]
    hard = (logits.argmax(-1) > 0).to(probs.dtype)
    counts = (probs[..., 1:] @ torch.arange(1.0, logits.shape[-1])) / present.clamp_min(1e-8)
    counts = counts * (hard + present - present.detach())
    frac = counts / counts.sum(1, keepdim=True).clamp_min(1e-8)
    out = torch.zeros(len(logits), len(PROPERTY_ELEMENTS), dtype=frac.dtype)
    return out.index_copy(1, _COLUMNS, frac)


def steer(
    generator: CompositionGenerator,
    models: dict[str, PropertyEnsemble],
    request: PropertyRequest,
    z: torch.Tensor,
    steps: int = 100,
    lr: float = 0.05,
    prior: float = 0.01,
) -> torch.Tensor:
    """Latents (B, latent_dim) moved by Adam to lower the request's violation on the relaxed
    output plus ``prior`` x (|z|^2 / latent_dim - 1)^2 (keeps z at the prior's typical
    radius, where the generator was trained)."""
    z = z.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    for module in (generator, *models.values()):
        module.eval().requires_grad_(False)
    for _ in range(steps):
        frac = relaxed_fractions(generator(z))
        loss = torch.zeros(len(z))
        for name in request.properties:
            mean, std = models[name].predict_tensor(frac, smooth=True)
            loss = loss + request.violation(name, mean, std)
        radius = z.pow(2).mean(1)
        loss = loss.sum() + prior * (radius - 1).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return z.detach()


@dataclass
class DesignResult:
    """``rows``: one dict per distinct hit (formula, then per property its prediction and
    uncertainty); ``drawn``: raw samples decoded; ``hits``: raw samples that were hits
    (duplicates included), so hits / drawn is the hit rate."""

    rows: list[dict] = field(default_factory=list)
    drawn: int = 0
    hits: int = 0

    @property
    def hit_rate(self) -> float:
        return self.hits / max(self.drawn, 1)


def evaluate_candidates(
    formulas: list[str | None],
    models: dict[str, object],
    request: PropertyRequest,
    known: set[str],
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Hit mask (N,) of decoded formulas and the predictions {property: (mean, std)}."""
    present = np.array([f is not None for f in formulas])
    ok = present & validity(formulas, HEADLINE) & np.array([f not in known for f in formulas])
    frac, reasons = fractions([f or "" for f in formulas])
    ok &= np.array([not r for r in reasons])
    predictions = {}
    for name in request.properties:
        mean, std = models[name].predict(frac)
        predictions[name] = (mean, std)
        ok &= request.violation(name, mean, std) <= 0
    return ok, predictions


def design(
    generator: CompositionGenerator,
    models: dict[str, object],
    request: PropertyRequest,
    n: int,
    known: set[str],
    seed: int = 0,
    steering: bool = True,
    batch: int = 1024,
    steps: int = 100,
    max_draws: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DesignResult:
    """n distinct hits for ``request``. Each round draws ``batch`` latents, steers them
    (unless ``steering`` is False: plain generate-then-filter), decodes and checks them;
    gives up with InputError after ``max_draws`` (default the larger of 200 n and
    20 batches) samples."""
    missing = [p for p in request.properties if p not in models]
    if missing:
        raise InputError(f"no property model given for {missing}")
    if steering and not all(isinstance(models[p], PropertyEnsemble) for p in request.properties):
        raise InputError("steering needs differentiable (network) property models")
    gen = torch.Generator().manual_seed(seed)
    max_draws = max_draws or max(200 * n, 20 * batch)
    result, seen = DesignResult(), set()
    while len(result.rows) < n:
        if result.drawn >= max_draws:
            raise InputError(
                f"only {len(result.rows)} designs meeting the request in {result.drawn} "
                "samples; relax the request"
            )
        z = torch.randn(batch, generator.config["latent_dim"], generator=gen)
        if steering:
            z = steer(generator, models, request, z, steps)
        with torch.no_grad():
            formulas = decode(generator(z).argmax(-1).to(torch.uint8).numpy())
        hits, predictions = evaluate_candidates(formulas, models, request, known)
        result.drawn += batch
        result.hits += int(hits.sum())
        for i in np.flatnonzero(hits):
            if formulas[i] in seen or len(result.rows) >= n:
                continue
            seen.add(formulas[i])
            row = {"formula": formulas[i]}
            for name, (mean, std) in predictions.items():
                row[name] = float(mean[i])
                row[f"{name}_uncertainty"] = float(std[i])
            result.rows.append(row)
        if progress is not None:
            progress(len(result.rows), n)
    return result
