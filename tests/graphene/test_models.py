import numpy as np
import pytest
import torch

from matinverse.errors import InputError
from matinverse.graphene.dataset import generate_sheet_dataset, load_sheet_dataset
from matinverse.graphene.models import SheetCritic, SheetGenerator
from matinverse.graphene.training import consistency_term, one_hot_sheets, train_sheet_gan


def test_generator_is_periodic_and_translation_equivariant():
    torch.manual_seed(0)
    generator = SheetGenerator(noise_channels=7, width=16, blocks=2).eval()
    gen = torch.Generator().manual_seed(1)
    noise, density = generator.noise(2, 1, gen), torch.tensor([0.03, 0.1])
    with torch.no_grad():
        base = generator(noise, density)
        # one latent cell of shift moves the sheet by two cells
        shifted = generator(torch.roll(noise, (1, 3), (2, 3)), density)
        torch.testing.assert_close(shifted, torch.roll(base, (2, 6), (2, 3)), atol=1e-5, rtol=0)
        # a 2 x 2 tiling of the noise gives the 2 x 2 tiling of the sheet: scale K sheets
        # are made of the same local rules, with periodic boundaries at every size
        tiled = generator(noise.repeat(1, 1, 2, 2), density)
        torch.testing.assert_close(tiled, base.repeat(1, 1, 2, 2), atol=1e-5, rtol=0)
    assert generator.sample(np.array([0.05] * 3), scale=2).shape == (3, 28, 32)
    with pytest.raises(InputError):
        generator.sample(np.array([0.05]), scale=0)


def test_critic_takes_any_size_and_its_consistency_term_needs_dropout():
    torch.manual_seed(0)
    critic = SheetCritic(width=8, blocks=2, dropout=0.5)
    states = torch.randint(0, 4, (3, 14, 16))
    label = torch.zeros(3)
    assert critic(one_hot_sheets(states), label)[0].shape == (3,)
    assert critic(one_hot_sheets(states.repeat(1, 2, 2)), label)[0].shape == (3,)
    assert consistency_term(critic.train(), one_hot_sheets(states), label) > 0
    assert consistency_term(critic.eval(), one_hot_sheets(states), label) == 0


def test_gan_trains_resumes_and_reports_oracle_quality(tmp_path):
    generate_sheet_dataset(tmp_path / "d", 96, seed=0, chunk_size=48, nx=6, ny=8)
    data = load_sheet_dataset(tmp_path / "d")
    options = dict(
        epochs=2,
        steps_per_epoch=12,
        batch=16,
        width=8,
        blocks=2,
        monitor_requests=16,
        checkpoint=tmp_path / "c.pt",
    )
    generator, history = train_sheet_gan(data, **options)
    assert len(history) == 2 and {"mae", "ks", "ks_p", "critic", "generator"} <= set(history[0])
    assert 0 <= history[-1]["ks"] <= 1 and history[-1]["mae"] > 0
    assert generator.config["latent_shape"] == [3, 4]
    assert generator.config["density_mean"] == pytest.approx(data.density.mean(), rel=1e-6)
    _, again = train_sheet_gan(data, **options)
    assert again == history  # the finished checkpoint is picked up, nothing retrained
    odd = load_sheet_dataset(tmp_path / "d")
    odd.sheets = odd.sheets[:, :5]
    with pytest.raises(InputError, match="even sides"):
        train_sheet_gan(odd, **{**options, "checkpoint": None})


def test_calibration_inverts_the_mean_response(monkeypatch, tmp_path):
    """A generator whose sheets come out at 2 c + 0.01 (+ noise) for condition c: the
    calibrated condition of request r is (r - 0.01) / 2, and the file keeps the knots."""
    import matinverse.graphene.training as training

    def response(generator, conditions, seed, scale=1):
        assert generator.config["calibration"] is None  # fitted on the raw generator
        noise = np.random.default_rng(seed).normal(0, 0.002, len(conditions))
        return {}, 2 * conditions + 0.01 + noise

    monkeypatch.setattr(training, "request_quality", response)
    data = np.random.default_rng(0).uniform(0.0, 0.1, 5000)
    generator = SheetGenerator(noise_channels=3, width=8, blocks=2, density_range=(0, 0.1))
    knots = training.calibrate_requests(generator.with_calibration({"1": [[0, 1], [0, 1]]}), data)
    requests, conditions = np.array(knots)
    assert np.all(np.diff(requests) > 0) and np.all(np.diff(conditions) > 0)
    calibrated = generator.with_calibration({"1": knots})
    r = np.linspace(0.03, 0.19, 9)
    np.testing.assert_allclose(calibrated.condition(r), (r - 0.01) / 2, atol=1.5e-3)
    np.testing.assert_allclose(generator.condition(r), r)  # no calibration: the request
    # a scale uses its own knots, else those of the largest calibrated scale below it
    np.testing.assert_array_equal(calibrated.condition(r, 3), calibrated.condition(r))
    only_two = generator.with_calibration({"2": knots, "4": [[0, 1], [0, 1]]})
    np.testing.assert_array_equal(only_two.condition(r, 1), r)
    np.testing.assert_array_equal(only_two.condition(r, 3), calibrated.condition(r))
    np.testing.assert_array_equal(only_two.condition(r, 5), r)
    # requests beyond what the generator reaches get the data's extreme condition
    assert calibrated.condition([0.0])[0] == conditions[0] == pytest.approx(0, abs=2e-3)
    # sampling feeds the condition: the same sheets as the raw generator at that condition
    torch.manual_seed(0)
    np.testing.assert_array_equal(
        calibrated.sample(r, seed=3), generator.sample(calibrated.condition(r), seed=3)
    )
    calibrated.save(tmp_path / "g.pt")
    from matinverse.nn import load_model

    assert load_model(tmp_path / "g.pt").config["calibration"] == {"1": knots}
    with pytest.raises(InputError, match="at least 130"):
        training.calibrate_requests(generator, data, n=100)


def test_design_keeps_the_candidate_nearest_the_request():
    from matinverse.graphene.design import design_sheets
    from matinverse.graphene.oracle import HueckelOracle, energy_density

    torch.manual_seed(0)
    generator = SheetGenerator(noise_channels=3, width=8, blocks=2, latent_shape=(3, 4))
    requests = np.array([0.02, 0.08, 0.15])
    designs = design_sheets(generator, requests, scale=1, candidates=5, seed=1)
    assert designs.sheets.shape == (3, 6, 8) and designs.candidate_density.shape == (3, 5)
    error = np.abs(designs.candidate_density - requests[:, None])
    np.testing.assert_allclose(np.abs(designs.density - requests), error.min(1))
    # the reported energies are the oracle's for the returned sheets
    energy = HueckelOracle().energies(designs.sheets)
    np.testing.assert_allclose(designs.energy, energy)
    np.testing.assert_allclose(designs.density, energy_density(energy, 6, 8))
    with pytest.raises(InputError, match="candidates"):
        design_sheets(generator, requests, candidates=0)
