import csv
from dataclasses import replace

import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.nn import load_model
from matinverse.strain.data import BANDGAP_RANGE, COLUMNS
from matinverse.strain.design import (
    DesignSettings,
    check_target,
    design,
    localize,
    select_distinct,
    write_designs,
)

FAST = DesignSettings(candidates=1024, max_rounds=4)


@pytest.fixture(scope="module")
def models(tiny_inverse, tiny_surrogate):
    return load_model(tiny_inverse), load_model(tiny_surrogate)


def test_localized_designs_hit_the_target_inside_the_bounds_and_are_distinct(models):
    inverse, surrogate = models
    result = design(inverse, surrogate, 0.8, 40, seed=0, settings=FAST)
    assert result.x.shape == (40, 7)
    lower, upper = surrogate.bounds()
    assert np.all((result.x >= lower - 1e-5) & (result.x <= upper + 1e-5))
    gap, std = surrogate.predict(result.x)
    np.testing.assert_allclose(gap, result.bandgap, atol=1e-6)
    np.testing.assert_allclose(std, result.std, atol=1e-6)
    assert np.abs(result.bandgap - 0.8).max() <= FAST.tolerance
    scaled = result.x / np.array(surrogate.config["x_scale"])
    distance = np.linalg.norm(scaled[:, None] - scaled[None], axis=-1)
    assert distance[np.triu_indices(40, 1)].min() >= FAST.min_separation
    # best first: ranked by the expected error
    expected = np.hypot(result.bandgap - 0.8, result.std)
    assert np.all(np.diff(expected) >= -1e-9)
    assert result.sampled >= result.in_bounds >= result.filtered >= result.kept >= 40


def test_without_localization_designs_are_filtered_samples(models):
    inverse, surrogate = models
    settings = DesignSettings(candidates=1024, max_rounds=4, localize=False)
    result = design(inverse, surrogate, 0.8, 20, seed=0, settings=settings)
    assert len(result.x) == 20
    assert np.abs(result.bandgap - 0.8).max() <= settings.window
    # the same seed gives the same designs
    again = design(inverse, surrogate, 0.8, 20, seed=0, settings=settings)
    np.testing.assert_array_equal(again.x, result.x)


def test_screening_returns_the_most_confident_designs_of_a_larger_pool(models):
    inverse, surrogate = models
    # at most 64 designs localized a round: 20 x 5 = 100 need a second round
    small = DesignSettings(candidates=1024, localize_limit=64, max_rounds=4, screen=1)
    plain = design(inverse, surrogate, 0.8, 20, seed=1, settings=small)
    screened = design(inverse, surrogate, 0.8, 20, seed=1, settings=replace(small, screen=5))
    assert plain.kept <= 64 < 100 <= screened.kept
    assert len(screened.x) == 20
    assert np.abs(screened.bandgap - 0.8).max() <= small.tolerance
    # the same first round, then more: the screened designs are at least as confident
    assert screened.std.mean() < plain.std.mean()
    with pytest.raises(InputError, match="screening factor"):
        design(inverse, surrogate, 0.8, 5, settings=replace(small, screen=0.5))


def test_localize_moves_designs_onto_the_level_set(models, design_split):
    _, surrogate = models
    start = design_split.val.x[~design_split.val.metallic][:30]
    moved = localize(surrogate, start, 1.0, steps=40)
    gap, _ = surrogate.predict(moved)
    assert np.median(np.abs(gap - 1.0)) < 1e-3
    assert np.median(np.abs(surrogate.predict(start)[0] - 1.0)) > 0.05


def test_targets_outside_the_data_and_bad_counts_are_refused(models):
    inverse, surrogate = models
    for target in (-0.1, 3.0, float("nan")):
        with pytest.raises(InputError, match=f"{BANDGAP_RANGE[1]}"):
            check_target(target)
    with pytest.raises(InputError, match="at least 1"):
        design(inverse, surrogate, 0.5, 0, settings=FAST)


def test_select_distinct_skips_points_too_close():
    points = np.array([[0.0], [0.01], [1.0], [1.5], [1.52]])
    taken = select_distinct(points, np.arange(5), 10, 0.1)
    np.testing.assert_array_equal(taken, [0, 2, 3])
    np.testing.assert_array_equal(select_distinct(points, np.arange(5), 2, 0.1), [0, 2])


def test_written_rows_have_the_contract_columns(tmp_path, models):
    inverse, surrogate = models
    result = design(inverse, surrogate, 0.5, 5, settings=FAST)
    write_designs(tmp_path / "d.csv", result)
    with open(tmp_path / "d.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [*COLUMNS, "bandgap_pred", "bandgap_std"]
    assert len(rows) == 5
    assert float(rows[0]["bandgap_pred"]) == pytest.approx(result.bandgap[0], abs=1e-6)
