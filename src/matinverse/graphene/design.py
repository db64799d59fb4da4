"""Sheets of a requested energy density: generate candidates, judge them by the oracle,
keep the closest.

For each request the generator draws ``candidates`` sheets (request after request, so
candidate 0 of every request is what one draw of the generator gives); the oracle computes
every candidate's density and the candidate nearest the request is returned. The oracle is
exact, so every returned sheet comes with its true energy.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matinverse.errors import InputError
from matinverse.graphene.models import SheetGenerator
from matinverse.graphene.oracle import HueckelOracle, energy_density


@dataclass
class SheetDesigns:
    """``sheets`` (n, H, W) uint8 states; ``energy`` (n,) eV relative to pristine
    graphene and ``density`` (n,) eV per square angstrom, by the oracle;
    ``candidate_density`` (n, candidates) the oracle density of every candidate, in
    the order drawn."""

    sheets: np.ndarray
    energy: np.ndarray
    density: np.ndarray
    candidate_density: np.ndarray


def nearest_candidate(candidate_density: np.ndarray, density: np.ndarray) -> np.ndarray:
    """(n,) index of the candidate nearest each request: ``candidate_density`` (n, M) and
    requests ``density`` (n,), eV per square angstrom."""
    return np.abs(candidate_density - density[:, None]).argmin(1)


def design_sheets(
    generator: SheetGenerator,
    density: np.ndarray,
    scale: int = 1,
    candidates: int = 4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SheetDesigns:
    """Sheets for requested densities (n,) eV per square angstrom, at ``scale`` K (sheets
    of K times the training size per side): the best of ``candidates`` per request."""
    if candidates < 1:
        raise InputError(f"candidates must be at least 1, got {candidates}")
    density = np.asarray(density, np.float64)
    n = len(density)
    sheets = generator.sample(np.repeat(density, candidates), scale, seed)
    _, nx, ny = sheets.shape
    energies = HueckelOracle().energies(sheets, progress)
    achieved = energy_density(energies, nx, ny).reshape(n, candidates)
    best = nearest_candidate(achieved, density)
    chosen = np.arange(n) * candidates + best
    return SheetDesigns(sheets[chosen], energies[chosen], achieved[np.arange(n), best], achieved)
