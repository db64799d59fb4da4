import numpy as np
import pytest

from matinverse.compositions.boosting import BoostedPropertyModel
from matinverse.compositions.property_training import (
    evaluate_property_model,
    mean_absolute_error,
    train_boosted_model,
    train_property_model,
)
from matinverse.errors import InputError
from matinverse.nn import load_model
from matinverse.train.uncertainty import laplace_std_factor

from .conftest import TINY


def baseline_mae(splits):
    """MAE on validation of always predicting the training median."""
    return float(np.mean(np.abs(splits["val"].target - np.median(splits["train"].target))))


def test_networks_learn_formation_energy(property_splits, tiny_property_models):
    splits = property_splits["formation_energy"]
    model = load_model(tiny_property_models["formation_energy"])
    history = model.metadata["history"]
    assert len(history) == 2 and history[-1]["val_mae"] == pytest.approx(
        mean_absolute_error(model, splits["val"]), rel=1e-5
    )
    assert history[-1]["val_mae"] < 0.5 * baseline_mae(splits)
    # calibrated on validation: errors have the Laplace scale of the predicted deviations
    mean, std = model.predict(splits["val"].fractions)
    assert laplace_std_factor(mean, std, splits["val"].target) == pytest.approx(1, rel=1e-4)
    assert model.std_scale != 1.0
    # and the deviation means something: the confident half of the test rows has the
    # smaller errors
    mean, std = model.predict(splits["test"].fractions)
    error = np.abs(mean - splits["test"].target)
    confident = std <= np.median(std)
    assert error[confident].mean() < 0.8 * error[~confident].mean()


def test_evaluation_reports_accuracy_and_uncertainty_quality(property_splits, tiny_property_models):
    data = property_splits["formation_energy"]["test"]
    model = load_model(tiny_property_models["formation_energy"])
    report = evaluate_property_model(model, data)
    mean, std = model.predict(data.fractions)
    error = np.abs(mean - data.target)
    assert report["rows"] == len(data.target) and report["mae"] == pytest.approx(error.mean())
    assert report["rmse"] >= report["mae"]
    assert report["within_1std"] == pytest.approx(np.mean(error <= std))
    assert report["within_1std"] < report["within_2std"] <= 1
    assert report["rank_correlation"] > 0.1 and report["mae_confident_half"] < report["mae"]


def test_elemnet_trains_and_resumes(property_splits, tmp_path):
    splits = property_splits["formation_energy"]
    options = dict(
        architecture="elemnet",
        member_config={"width_factor": 0.0625},
        size=1,
        epochs=2,
        steps_per_epoch=20,
        batch=64,
        checkpoint=tmp_path / "c.pt",
    )
    _, first = train_property_model(splits["train"], splits["val"], **options)
    _, again = train_property_model(splits["train"], splits["val"], **options)
    assert again == first  # the finished checkpoint is picked up, nothing retrained
    with pytest.raises(InputError, match="property must be one of"):
        train_property_model(splits["train"], splits["val"], property="density")


def informative_factor(model, data):
    """The Laplace factor of a model's errors on the rows it predicts above 0."""
    mean, std = model.predict(data.fractions)
    rows = mean != 0
    return laplace_std_factor(mean[rows], std[rows], data.target[rows])


def test_two_part_model_separates_metals_and_fits_the_gapped_rows(
    property_splits, tiny_property_models
):
    splits = property_splits["bandgap"]
    one_part = load_model(tiny_property_models["bandgap"])
    # the same settings as the one-part fixture model
    model, _ = train_property_model(
        splits["train"], splits["val"], "bandgap", **TINY, two_part=True
    )
    test = splits["test"]
    gapped = test.target > 0
    mean, _ = model.predict(test.fractions)
    # metal or not: better than calling everything a metal (93% of the rows)
    assert np.mean((mean > 0) == gapped) > np.mean(~gapped)
    one_part_error = np.abs(one_part.predict(test.fractions)[0] - test.target)[gapped].mean()
    assert np.abs(mean - test.target)[gapped].mean() < 0.9 * one_part_error
    assert informative_factor(model, splits["val"]) == pytest.approx(1, rel=1e-4)


def test_boosting_learns_band_gap_and_round_trips(property_splits, tmp_path):
    splits = property_splits["bandgap"]
    model = train_boosted_model(splits["train"], splits["val"], "bandgap", size=2, trees=200)
    mae = mean_absolute_error(model, splits["val"])
    assert mae < 0.8 * baseline_mae(splits)
    mean, std = model.predict(splits["val"].fractions)
    assert (mean >= 0).all() and (std > 0).all()
    # calibrated on the rows predicted above 0 (not those called metals)
    assert (mean == 0).any() and informative_factor(model, splits["val"]) == pytest.approx(
        1, rel=1e-4
    )
    model.save(tmp_path / "b.skops", {"val_mae": mae})
    again = BoostedPropertyModel.load(tmp_path / "b.skops")
    np.testing.assert_array_equal(again.predict(splits["val"].fractions)[1], std)
    assert again.metadata == {"val_mae": mae} and again.unit == "eV"


def test_boosting_load_refuses_other_types(tmp_path):
    import datetime

    import skops.io

    skops.io.dump({"when": datetime.timedelta(days=1)}, tmp_path / "x.skops")
    with pytest.raises(InputError, match="not trusted"):
        BoostedPropertyModel.load(tmp_path / "x.skops")
    (tmp_path / "y.skops").write_text("garbage")
    with pytest.raises(InputError, match="cannot read"):
        BoostedPropertyModel.load(tmp_path / "y.skops")
