import numpy as np
import torch

from matinverse.nn import load_model
from matinverse.porous.models import IsothermPredictor
from matinverse.porous.simulator import LatticeDFT
from matinverse.porous.training import (
    code_diversity,
    predict,
    random_symmetry,
    split_by_isotherm,
    train_generator,
    train_predictor,
    two_point_correlation,
)


def _symmetries(grid):
    for k in range(4):
        g = np.rot90(grid, k)
        for h in (g, g[:, ::-1]):
            for dx in range(grid.shape[0]):
                for dy in range(grid.shape[1]):
                    yield np.roll(h, (dx, dy), axis=(0, 1))


def test_augmentation_applies_torus_symmetries_only(reference):
    grids = torch.as_tensor(reference.grids[:12], dtype=torch.float32)
    out = random_symmetry(grids, torch.Generator().manual_seed(0)).numpy()
    for before, after in zip(reference.grids[:12], out, strict=True):
        assert any(np.array_equal(after, s) for s in _symmetries(before))
    sim = LatticeDFT()
    np.testing.assert_allclose(
        sim.simulate(out.astype(np.uint8)).adsorption, reference.adsorption[:12], atol=1e-8
    )


def test_split_keeps_isotherms_on_one_side(reference):
    ads = np.concatenate([reference.adsorption, reference.adsorption[:10]])  # duplicates
    split = split_by_isotherm(ads, 0.3, seed=0)
    train = {r.tobytes() for r in np.round(ads[split.train], 7)}
    val = {r.tobytes() for r in np.round(ads[split.validation], 7)}
    assert not train & val
    assert len(train) == len(split.train) and len(val) == len(split.validation)
    assert len(split.train) + len(split.validation) == len(np.unique(np.round(ads, 7), axis=0))


def test_train_predictor_learns_and_reports_per_family(reference, tmp_path):
    model, report = train_predictor(
        reference,
        epochs=3,
        batch_size=4,
        lr=1e-2,
        width=8,
        dilations=(1, 2),
        val_fraction=0.2,
        checkpoint=tmp_path / "p.ckpt",
    )
    assert [h["epoch"] for h in report["history"]] == [1, 2, 3]
    assert report["history"][-1]["loss"] < report["history"][0]["loss"]
    fams = set(report["validation_mae"]) - {"all"}
    assert fams and fams <= set(reference.family_names)
    pred = predict(model, reference.grids)
    assert pred.shape == reference.adsorption.shape
    model.save(tmp_path / "p.pt", metadata=report)
    np.testing.assert_allclose(predict(load_model(tmp_path / "p.pt"), reference.grids), pred)


def test_train_generator_runs_and_verifies_with_the_simulator(reference):
    torch.manual_seed(0)
    predictor = IsothermPredictor(41, width=8, dilations=(1,))
    generator, report = train_generator(
        predictor,
        reference,
        epochs=2,
        steps_per_epoch=3,
        batch_size=8,
        code_dim=3,
        width=8,
        n_verify=4,
    )
    last = report["history"][-1]
    assert 0 <= last["exact_mae_dataset"] <= 1 and 0 <= last["exact_mae_synthetic"] <= 1
    assert 0 <= last["code_diversity_cells"] <= 1 and last["code_diversity_s2"] >= 0
    assert generator.config["size"] == reference.grids.shape[-1]
    assert generator.config["code_dim"] == 3


def test_two_point_correlation_is_blind_to_translation_and_knows_porosity():
    rng = np.random.default_rng(0)
    g = torch.as_tensor((rng.random((3, 8, 8)) < 0.4).astype(np.float32))
    s2 = two_point_correlation(g)
    torch.testing.assert_close(s2[:, 0, 0], g.mean(dim=(1, 2)))  # S2(0) = porosity
    torch.testing.assert_close(two_point_correlation(torch.roll(g, (3, 5), dims=(1, 2))), s2)
    slow = np.mean([g[0].numpy() * np.roll(g[0].numpy(), (-1, -2), axis=(0, 1))])
    assert abs(float(s2[0, 1, 2]) - slow) < 1e-6


def test_code_diversity_is_zero_for_a_generator_that_ignores_its_code():
    torch.manual_seed(0)
    from matinverse.porous.models import GridGenerator

    gen = GridGenerator(41, code_dim=2, size=8, width=4)
    targets = torch.rand(2, 41)
    with torch.no_grad():
        gen.mlp[0].weight[:, 41:] *= 100  # a code that dominates the grid
    assert code_diversity(gen, targets)["cells"] > 0.05
    with torch.no_grad():
        gen.mlp[0].weight[:, 41:] = 0  # cut the code's input weights
    assert code_diversity(gen, targets) == {"cells": 0.0, "s2": 0.0}
