"""Accuracy and calibration of predictions that come with a standard deviation."""

import numpy as np


def laplace_std_factor(prediction: np.ndarray, std: np.ndarray, target: np.ndarray) -> float:
    """Factor for predicted standard deviations (N,) that gives the errors of predictions
    (N,) on targets (N,) their Laplace maximum-likelihood scale: mean |error| / (factor std)
    = 1 / sqrt(2), so that +-1 std covers about 76% of Laplace-distributed errors."""
    return float(np.sqrt(2) * np.mean(np.abs(prediction - target) / std))


def uncertainty_report(prediction: np.ndarray, std: np.ndarray, target: np.ndarray) -> dict:
    """Accuracy and uncertainty quality of predictions (N,) with standard deviations (N,) on
    targets (N,): ``rows``, ``mae``, ``rmse``; ``within_1std`` and ``within_2std``, the
    fractions of errors inside +-1 and +-2 std (Laplace errors: 0.757 and 0.941);
    ``rank_correlation``, Spearman's between |error| and std; ``mae_confident_half``, the
    MAE of the half of the rows with the smaller std."""
    from scipy.stats import spearmanr

    error = np.abs(prediction - target)
    confident = np.argsort(std, kind="stable")[: len(std) // 2]
    return {
        "rows": len(error),
        "mae": float(error.mean()),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "within_1std": float(np.mean(error <= std)),
        "within_2std": float(np.mean(error <= 2 * std)),
        "rank_correlation": float(spearmanr(error, std).statistic),
        "mae_confident_half": float(error[confident].mean()),
    }
