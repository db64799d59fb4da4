"""Quality of a set of generated formulas: SMACT validity (both settings), uniqueness,
novelty against known formulas and the number-of-elements distribution.

Formulas are reduced formulas as strings; None stands for a sample that decoded to nothing
(it counts in the denominators of validity, and as not valid).
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import wasserstein_distance

from matinverse.compositions.encoding import parse
from matinverse.compositions.validity import SETTINGS, validity


def element_counts(formulas: Sequence[str]) -> np.ndarray:
    """Number of distinct elements of each formula (N,) int."""
    cache: dict[str, int] = {}
    out = np.empty(len(formulas), np.int64)
    for i, formula in enumerate(formulas):
        if formula not in cache:
            cache[formula] = len(parse(formula))
        out[i] = cache[formula]
    return out


def diversity(formulas: Sequence[str | None], known: set[str]) -> dict:
    """``empty`` (samples decoded to nothing), ``unique`` (distinct / decoded) and ``novel``
    (distinct not in ``known`` / distinct)."""
    decoded = [f for f in formulas if f is not None]
    distinct = set(decoded)
    return {
        "empty": len(formulas) - len(decoded),
        "unique": len(distinct) / max(len(decoded), 1),
        "novel": len(distinct - known) / max(len(distinct), 1),
    }


def evaluate_formulas(
    formulas: Sequence[str | None],
    known: set[str],
    reference_counts: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Metrics of ``formulas``: ``samples``, ``empty`` (decoded to nothing), ``validity``
    {setting name: fraction of all samples}, ``unique`` (distinct / decoded), ``novel``
    (distinct not in ``known`` / distinct), ``element_count_emd`` (earth mover's distance
    between the samples' and ``reference_counts``' number-of-elements distributions) and
    ``element_count_histogram`` (fraction of decoded samples with 1..8+ elements)."""
    counts = element_counts([f for f in formulas if f is not None])
    report = {
        "samples": len(formulas),
        **diversity(formulas, known),
        "validity": {s.name: float(validity(formulas, s, progress).mean()) for s in SETTINGS},
        "validity_settings": {s.name: s.describe() for s in SETTINGS},
        "element_count_emd": (
            float(wasserstein_distance(counts, reference_counts)) if len(counts) else None
        ),
        "element_count_histogram": {
            str(k): float(np.mean(np.minimum(counts, 8) == k)) if len(counts) else 0.0
            for k in range(1, 9)
        },
    }
    return report


def evaluate_file(
    formulas: Sequence[str | None],
    reference: str = "all",
    autoencoder=None,
    data_dir=None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """``evaluate_formulas`` against OQMD (every formula for novelty; the ``reference``
    training set, "all" or "valid", for the element counts), plus the exact reconstruction
    rate of the autoencoder (a path, or the shipped one when None) on that training set."""
    from matinverse.compositions.data import known_formulas, training_set
    from matinverse.compositions.models import CompositionAutoencoder
    from matinverse.compositions.training import reconstruction_rate
    from matinverse.compositions.weights import WEIGHTS
    from matinverse.nn import load_model

    train = training_set(reference, data_dir)
    reference_counts = (train.states > 0).sum(axis=1)
    report = evaluate_formulas(formulas, known_formulas(data_dir), reference_counts, progress)
    model = load_model(autoencoder or WEIGHTS / "autoencoder.pt", CompositionAutoencoder)
    report["training_set"] = train.report
    report["autoencoder_reconstructed"] = reconstruction_rate(model, train.states)
    return report
