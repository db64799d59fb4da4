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
