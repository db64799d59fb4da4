import numpy as np
import pytest

from matinverse.train.uncertainty import laplace_std_factor, uncertainty_report


def test_laplace_factor_rescales_errors_to_their_maximum_likelihood_scale():
    rng = np.random.default_rng(0)
    std = rng.uniform(0.5, 2.0, 20000)
    target = rng.normal(size=20000)
    prediction = target + rng.laplace(scale=3 * std / np.sqrt(2))  # errors three times std
    factor = laplace_std_factor(prediction, std, target)
    assert factor == pytest.approx(3, rel=0.03)
    report = uncertainty_report(prediction, factor * std, target)
    assert report["within_1std"] == pytest.approx(0.757, abs=0.02)
    assert report["within_2std"] == pytest.approx(0.941, abs=0.02)


def test_report_measures_accuracy_and_ranking():
    target = np.zeros(4)
    prediction = np.array([0.1, -0.2, 0.3, -0.4])
    std = np.array([0.1, 0.2, 0.3, 0.4])
    report = uncertainty_report(prediction, std, target)
    assert report["rows"] == 4 and report["mae"] == pytest.approx(0.25)
    assert report["rmse"] == pytest.approx(np.sqrt(0.075))
    assert report["within_1std"] == 1.0 and report["rank_correlation"] == pytest.approx(1.0)
    assert report["mae_confident_half"] == pytest.approx(0.15)
