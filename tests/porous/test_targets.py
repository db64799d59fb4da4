import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.porous.simulator import default_relative_pressure
from matinverse.porous.targets import (
    check_target,
    multistep_curves,
    piecewise_linear_curves,
    read_targets,
    smooth_curves,
    step_curves,
    synthetic_curves,
)

RH = default_relative_pressure()


@pytest.mark.parametrize(
    "make", [piecewise_linear_curves, multistep_curves, smooth_curves, synthetic_curves]
)
def test_synthetic_curves_are_monotone_fillings_from_zero(make):
    curves = make(200, np.random.default_rng(0), RH)
    assert curves.shape == (200, 41)
    assert np.all(curves >= 0) and np.all(curves <= 1 + 1e-12)
    assert np.all(np.diff(curves, axis=1) >= -1e-12)
    np.testing.assert_allclose(curves[:, 0], 0, atol=1e-12)
    assert len(np.unique(np.round(curves, 6), axis=0)) > 150  # really random


def test_step_curves():
    c = step_curves(np.array([0.5, 0.1]), RH, 0.1, np.array([0.9, 1.0]))
    assert c[0, 19] == 0.1 and c[0, 20] == 0.9
    assert c[1, 3] == 0.1 and c[1, 4] == 1.0


def _write(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_read_targets_skips_comments_and_blank_lines(tmp_path):
    line = ",".join(f"{v:.3f}" for v in RH)
    got = read_targets(_write(tmp_path, f"# header comment\n{line}\n\n  {line}  \n"))
    assert got.shape == (2, 41)
    np.testing.assert_allclose(got[0], np.round(RH, 3))


@pytest.mark.parametrize(
    "line, message",
    [
        (",".join(["0.5"] * 40), "line 2: expected 41 values, got 40"),
        (",".join(["0.5"] * 40 + ["nan"]), "line 2: NaN"),
        (",".join(["0.5"] * 40 + ["1.2"]), r"line 2: values must lie in \[0, 1\]"),
        (",".join(["0.5"] * 40 + ["x"]), "line 2: not a number"),
    ],
)
def test_read_targets_names_the_bad_line(tmp_path, line, message):
    good = ",".join(["0.1"] * 41)
    with pytest.raises(InputError, match=message):
        read_targets(_write(tmp_path, f"{good}\n{line}\n"))


def test_read_targets_refuses_empty_and_missing(tmp_path):
    with pytest.raises(InputError, match="no target curves"):
        read_targets(_write(tmp_path, "# nothing\n"))
    with pytest.raises(InputError, match="not found"):
        read_targets(tmp_path / "none.csv")


def test_check_target_names_the_problem():
    np.testing.assert_array_equal(check_target([0.5] * 41), np.full(41, 0.5))
    for values, message in [
        ([], "the target curve is empty"),
        ([0.5] * 3, "expected 41 values, got 3"),
        ([0.5] * 40 + [float("inf")], "NaN or infinite"),
        ([0.5] * 40 + [-0.1], r"values must lie in \[0, 1\]"),
    ]:
        with pytest.raises(InputError, match=message):
            check_target(values)
