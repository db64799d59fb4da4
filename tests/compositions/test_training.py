import numpy as np
import pytest
import torch

from matinverse.compositions.data import load_split
from matinverse.compositions.encoding import N_TOKENS, decode, encode, one_hot, tokens
from matinverse.compositions.models import CompositionAutoencoder, CompositionTransformer
from matinverse.compositions.training import (
    dice_loss,
    finetune_transformer,
    reconstruction_rate,
    train_autoencoder,
    train_gan,
    train_transformer,
)
from matinverse.compositions.validity import HEADLINE, validity


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


def test_transformer_is_causal():
    model = CompositionTransformer(width=16, depth=2, heads=2, dropout=0.0).eval()
    x = torch.randint(0, N_TOKENS, (3, 7))
    y = x.clone()
    y[:, 4:] = torch.randint(0, N_TOKENS, (3, 3))
    with torch.no_grad():
        assert torch.allclose(model(x)[:, :4], model(y)[:, :4], atol=1e-5)
        assert not torch.allclose(model(x)[:, 4:], model(y)[:, 4:])


def test_transformer_learns_its_training_formulas(states):
    small = states[:32]
    model, history = train_transformer(
        small,
        epochs=3,
        steps_per_epoch=100,
        batch=32,
        lr=3e-3,
        width=32,
        depth=2,
        heads=2,
        dropout=0.0,
        validation=0.1,
        monitor_samples=50,
    )
    assert {"loss", "held_out_nll", "valid", "unique", "novel", "empty"} <= set(history[-1])
    assert history[-1]["loss"] < history[0]["loss"] / 2
    # with sharpened elements and counts it samples the formulas it was trained on
    sampled = model.sample_states(
        200, torch.Generator().manual_seed(0), element_temperature=0.3, count_temperature=0.3
    )
    assert sampled.shape == (200, 85) and sampled.max() <= 8
    assert ((sampled > 0).sum(1) >= 1).all()
    assert np.mean([f in set(decode(small)) for f in decode(sampled)]) > 0.8
    # the loss is the sequences' negative log-likelihood: a sampled sequence's is finite
    assert torch.isfinite(model.loss(torch.from_numpy(tokens(sampled[:5])))).all()


def rewarded_share(model, known, n=600):
    formulas = decode(model.sample_states(n, torch.Generator().manual_seed(1)))
    valid = validity(formulas, HEADLINE)
    return np.mean([v and f not in known for f, v in zip(formulas, valid, strict=True)])


def test_finetuning_raises_the_reward_and_without_reward_keeps_the_prior(states):
    prior, _ = train_transformer(
        states,
        epochs=1,
        steps_per_epoch=60,
        batch=64,
        width=32,
        depth=2,
        heads=2,
        lr=3e-3,
        monitor_samples=20,
    )
    known = set(decode(states))
    common = dict(epochs=2, steps_per_epoch=15, batch=64, lr=2e-3, monitor_samples=50)
    # sigma 0: the target is the prior's own likelihood, the loss and its gradient vanish
    same, _ = finetune_transformer(prior, known, sigma=0.0, **common)
    for name, value in prior.state_dict().items():
        assert torch.allclose(same.state_dict()[name], value, atol=1e-6), name
    # over so few formulas most new ones are likelier than the default cap: no cap here
    agent, history = finetune_transformer(prior, known, sigma=8.0, max_probability=1.0, **common)
    assert {"loss", "reward", "valid", "unique", "novel"} <= set(history[-1])
    before, after = rewarded_share(prior, known), rewarded_share(agent, known)
    assert after > before + 0.1, (before, after)
    assert agent.config["dropout"] == 0.0 and prior.training is False
    # the sampling temperatures are the result's defaults; training samples at the prior's
    cool = {"element_temperature": 0.5, "count_temperature": 0.7}
    cooled, _ = finetune_transformer(
        prior, known, sigma=8.0, max_probability=1.0, sampling=cool, **common
    )
    assert cool.items() <= cooled.config.items()
    for name, value in agent.state_dict().items():
        assert torch.equal(cooled.state_dict()[name], value), name
