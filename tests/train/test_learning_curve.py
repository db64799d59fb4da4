"""Learning-curve library: the power-law fit, nested subsets, the resumable record."""

import json

import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.train.learning_curve import (
    CurveRecord,
    fit_power_law,
    nested_subsets,
    plot_curve,
    save_figure,
)


def test_the_fit_recovers_a_and_b_of_an_exact_power_law():
    n = np.array([100, 250, 1_000, 4_000, 64_000])
    fit = fit_power_law(n, 2.5 * n**-0.37)
    assert fit.a == pytest.approx(2.5, rel=1e-12) and fit.b == pytest.approx(0.37, rel=1e-12)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12) and fit.points == 5
    np.testing.assert_allclose(fit(n), 2.5 * n**-0.37, rtol=1e-12)


def test_the_fit_reports_scatter_and_skips_points_it_cannot_take():
    n = np.array([100, 200, 400, 800])
    noisy = fit_power_law(n, n**-0.5 * np.array([1.3, 0.8, 1.2, 0.9]))
    assert 0 < noisy.r2 < 1
    fit = fit_power_law([10, 100, 1_000], [0.0, 1.0, 0.1])  # a zero error has no logarithm
    assert fit.points == 2 and fit.b == pytest.approx(1.0) and fit.a == pytest.approx(100.0)
    assert fit_power_law([10, 10], [1.0, 2.0]) is None
    assert fit_power_law([10, 100], [1.0, np.nan]) is None


def test_subsets_are_nested_and_seeded():
    small, middle, full = nested_subsets(50, [5, 20, 50], seed=3)
    assert len(set(full)) == 50 and list(middle[:5]) == list(small)
    assert set(small) <= set(middle) <= set(full)
    assert [list(s) for s in nested_subsets(50, [5, 20], seed=3)] == [list(small), list(middle)]


def test_the_record_resumes_and_refuses_another_identity(tmp_path):
    path = tmp_path / "out" / "curve.json"
    record = CurveRecord(path, {"model": "m", "params": {"lr": 0.1}})
    record.add("10", {"n_train": 10, "test_error": 0.5})
    record.write(fit={"a": 1.0})
    again = CurveRecord(path, {"model": "m", "params": {"lr": 0.1}})
    assert "10" in again and "20" not in again
    assert json.loads(path.read_text())["fit"] == {"a": 1.0}
    with pytest.raises(InputError, match="other params; use another --out"):
        CurveRecord(path, {"model": "m", "params": {"lr": 0.2}})
    bare = tmp_path / "bare.json"  # the compositions bench's format: key -> point
    CurveRecord(bare).add("fe/attention/1000", {"mae": 0.1, "seconds": 2.0})
    assert json.loads(bare.read_text()) == {"fe/attention/1000": {"mae": 0.1, "seconds": 2.0}}
    with pytest.raises(InputError, match="other model"):
        CurveRecord(bare, {"model": "m"})  # a bare record is not silently overwritten
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bare.json", "curve.json", "out"]


def test_the_plot_is_written(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    n = [100, 1_000, 10_000]
    plot_curve(ax, n, [0.3, 0.1, 0.03], "model", fit=fit_power_law(n, [0.3, 0.1, 0.03]))
    assert ax.get_xscale() == "log" and len(ax.lines) == 2
    save_figure(figure, tmp_path / "curve.png")
    plt.close(figure)
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
