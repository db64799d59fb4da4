import pytest
import torch

from matinverse.compositions.data import load_split
from matinverse.compositions.encoding import encode, one_hot
from matinverse.compositions.models import CompositionAutoencoder
from matinverse.compositions.training import (
    dice_loss,
    reconstruction_rate,
    train_autoencoder,
    train_gan,
)


@pytest.fixture(scope="module")
def states(shared_data):
    return encode(load_split("formation_enthalpy", "test", shared_data).formulas[:400])[0]


def test_dice_loss_is_minus_one_at_a_perfect_match(states):
    target = torch.from_numpy(states[:8]).long()
    perfect = torch.nn.functional.one_hot(target, 9).float() * 50.0
    assert dice_loss(perfect, one_hot(target)).item() == pytest.approx(-1.0, abs=1e-6)
    wrong = torch.roll(perfect, 1, dims=-1)
    assert dice_loss(wrong, one_hot(target)).item() > -0.05


def test_gan_trains_and_reports_sample_quality(states, tmp_path):
    generator, history = train_gan(
        states,
        epochs=2,
        steps_per_epoch=12,
        batch=64,
        width=32,
        depth=2,
        latent_dim=8,
        monitor_samples=40,
        checkpoint=tmp_path / "gan.ckpt",
    )
    assert [h["epoch"] for h in history] == [1, 2]
    assert {"critic", "generator", "valid", "unique", "novel", "empty"} <= set(history[-1])
    sampled = generator.sample_states(7, torch.Generator().manual_seed(1))
    assert sampled.shape == (7, 85) and sampled.max() <= 8


def test_autoencoder_learns_to_reconstruct(states):
    small = states[:64]
    model, history = train_autoencoder(
        small,
        epochs=3,
        steps_per_epoch=150,
        batch=64,
        lr=3e-3,
        width=64,
        depth=2,
        latent_dim=16,
        monitor=small,
    )
    assert isinstance(model.decoder, type(CompositionAutoencoder(4, 8, 1).decoder))
    assert history[-1]["loss"] < history[0]["loss"]
    assert reconstruction_rate(model, small) == history[-1]["reconstructed"] > 0.9
