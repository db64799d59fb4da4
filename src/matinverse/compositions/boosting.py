"""Gradient-boosted composition property model (scikit-learn), saved without pickle.

``BoostedPropertyModel`` is an ensemble of ``size`` HistGradientBoostingRegressors on
Magpie-style descriptor statistics and the atomic fractions
(:func:`~matinverse.compositions.features.descriptor_statistics`), each with its own seed
and feature subsampling, fitted to the absolute error; the prediction is their mean, the
uncertainty their spread times ``std_scale`` (calibrated on validation data).
Files are written with skops, which refuses to load any type but the ones listed in
:data:`TRUSTED_TYPES`, so a model file cannot run code.
"""

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from matinverse.compositions.features import descriptor_statistics
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path

# smallest spread, in the target's unit (members that agree exactly, e.g. on a metal's zero
# band gap, still get a finite standard deviation)
STD_FLOOR = 1e-4

TRUSTED_TYPES = [
    "matinverse.compositions.boosting.BoostedPropertyModel",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


def boosting_features(fractions: np.ndarray) -> np.ndarray:
    """(N, 86) fractions -> (N, 101 + 86) descriptor statistics and the fractions."""
    return np.hstack([descriptor_statistics(fractions), fractions])


class BoostedPropertyModel:
    """Ensemble of ``size`` gradient-boosted trees regressors (absolute error, ``max_iter``
    trees of at most ``max_leaf_nodes`` leaves, ``learning_rate``, a ``max_features``
    fraction of the features per split); ``nonnegative`` clips predictions at 0;
    ``std_scale`` multiplies the members' spread."""

    def __init__(
        self,
        size: int = 4,
        max_iter: int = 1000,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 127,
        min_samples_leaf: int = 20,
        max_features: float = 0.5,
        nonnegative: bool = False,
        property: str = "",
        unit: str = "",
        seed: int = 0,
        std_scale: float = 1.0,
    ):
        if size < 1:
            raise InputError(f"ensemble size must be at least 1, got {size}")
        self.size, self.max_iter, self.learning_rate = size, max_iter, learning_rate
        self.max_leaf_nodes, self.min_samples_leaf = max_leaf_nodes, min_samples_leaf
        self.max_features, self.nonnegative = max_features, nonnegative
        self.property, self.unit, self.seed = property, unit, seed
        self.std_scale = std_scale
        self.members: list = []
        self.metadata: dict = {}

    def fit(
        self,
        fractions: np.ndarray,
        target: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
    ) -> "BoostedPropertyModel":
        """Fit every member on (N, 86) fractions and (N,) targets."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        features = boosting_features(fractions)
        self.members = []
        for k in range(self.size):
            member = HistGradientBoostingRegressor(
                loss="absolute_error",
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                max_features=self.max_features,
                early_stopping=False,
                random_state=self.seed + k,
            )
            self.members.append(member.fit(features, target))
            if progress is not None:
                progress(k + 1, self.size)
        return self

    def predict(self, fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 86) fractions -> prediction (N,) and the members' standard deviation (N,)."""
        if not self.members:
            raise InputError("the gradient-boosting model is not fitted")
        if len(fractions) == 0:
            return np.zeros(0), np.zeros(0)
        features = boosting_features(fractions)
        each = np.stack([m.predict(features) for m in self.members])
        mean = each.mean(0)
        if self.nonnegative:
            mean = np.maximum(mean, 0)
        return mean, np.maximum(each.std(0), STD_FLOOR) * self.std_scale

    def save(self, path: str | os.PathLike, metadata: dict | None = None) -> None:
        """Write the model with skops (atomically); ``metadata`` JSON-like."""
        import skops.io

        self.metadata = dict(metadata or {})
        with atomic_path(path) as tmp:
            skops.io.dump(self, tmp)

    @staticmethod
    def load(path: str | os.PathLike) -> "BoostedPropertyModel":
        """A model written by ``save``; refuses files holding any other type."""
        import skops.io

        path = Path(path)
        if not path.is_file():
            raise InputError(f"model file not found: {path}")
        try:
            untrusted = skops.io.get_untrusted_types(file=path)
        except Exception as err:  # skops raises several types for a corrupt file
            raise InputError(f"cannot read model file {path}: {err}") from None
        unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unexpected:
            raise InputError(f"{path} holds types that are not trusted: {unexpected}")
        model = skops.io.load(path, trusted=untrusted)
        if not isinstance(model, BoostedPropertyModel):
            raise InputError(f"{path} is not a gradient-boosting property model")
        return model
