"""Training of the composition models: WGAN-GP generator and critic, and the autoencoder.

Both train on (N, 85) uint8 state arrays from :func:`matinverse.compositions.encoding.encode`
through :class:`matinverse.train.Trainer` (resumable, seeded per epoch).
"""

import os
from collections.abc import Callable

import numpy as np
import torch

from matinverse.compositions.encoding import decode, one_hot
from matinverse.compositions.metrics import diversity
from matinverse.compositions.models import (
    CompositionAutoencoder,
    CompositionCritic,
    CompositionGenerator,
    relaxed_one_hot,
)
from matinverse.compositions.validity import HEADLINE, validity
from matinverse.errors import InputError
from matinverse.nn import gradient_penalty
from matinverse.train import Trainer
from matinverse.train.gan import GanTrainer


def sample_quality(generator: CompositionGenerator, known: set[str], n: int, seed: int) -> dict:
    """Headline validity, uniqueness and novelty (against ``known`` reduced formulas) of n
    samples; the fraction of samples that decode to nothing."""
    formulas = decode(generator.sample_states(n, torch.Generator().manual_seed(seed)))
    report = {"valid": float(validity(formulas, HEADLINE).mean())}
    report.update(diversity(formulas, known))
    report["empty"] = report["empty"] / n
    return report


def train_gan(
    states: np.ndarray,
    epochs: int = 40,
    steps_per_epoch: int = 1200,
    batch: int = 256,
    n_critic: int = 5,
    penalty: float = 10.0,
    lr: float = 1e-4,
    latent_dim: int = 128,
    width: int = 512,
    depth: int = 3,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    known: set[str] | None = None,
    monitor_samples: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CompositionGenerator, list[dict]]:
    """WGAN-GP on count one-hot matrices. A Trainer step is one critic update, every
    (n_critic + 1)-th step a generator update instead. After each epoch the history records
    the headline validity, uniqueness and novelty (against ``known``) of ``monitor_samples``
    samples. Returns the generator (eval mode) and the history."""
    if len(states) < batch:
        raise InputError(f"need at least {batch} training formulas, got {len(states)}")
    torch.manual_seed(seed)
    generator = CompositionGenerator(latent_dim, width, depth)
    critic = CompositionCritic(width, depth)
    data = torch.from_numpy(np.ascontiguousarray(states))

    def step(rng, gen):
        z = torch.randn(batch, latent_dim, generator=gen)
        if trainer.critic_turn():
            real = one_hot(data[torch.from_numpy(rng.integers(0, len(data), batch))])
            with torch.no_grad():
                fake = relaxed_one_hot(generator(z))
            loss = critic(fake).mean() - critic(real).mean()
            return {"critic": loss + penalty * gradient_penalty(critic, real, fake, gen)}
        return {"generator": -critic(relaxed_one_hot(generator(z))).mean()}

    known = known if known is not None else set(decode(states))
    trainer = GanTrainer(generator, critic, epochs, steps_per_epoch, lr, n_critic, seed, checkpoint)
    history = trainer.fit(
        step,
        lambda: sample_quality(generator, known, monitor_samples, seed + len(trainer.history)),
        progress,
    )
    return generator.eval(), history


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Negative Dice coefficient between the relaxed one-hot of (B, 85, 9) logits and the
    (B, 8, 85) target one-hot, averaged over the batch (-1 is perfect)."""
    p = relaxed_one_hot(logits)
    overlap = (p * target).flatten(1).sum(1)
    total = p.flatten(1).sum(1) + target.flatten(1).sum(1)
    return -(2 * overlap / total.clamp_min(1e-8)).mean()


def reconstruction_loss(logits: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Negative Dice plus the per-element cross-entropy of the states (B, 85).

    Dice alone stalls on OQMD (about 28% of formulas reconstructed exactly: it learns which
    elements are present but leaves counts above 1 as absent); the cross-entropy term, as
    in the usual Dice + CE segmentation loss, resolves the counts."""
    cross_entropy = torch.nn.functional.cross_entropy(logits.flatten(0, 1), states.flatten().long())
    return dice_loss(logits, one_hot(states)) + cross_entropy


def reconstruction_rate(model: CompositionAutoencoder, states: np.ndarray, batch=8192) -> float:
    """Fraction of formulas whose states the autoencoder reproduces exactly (argmax)."""
    hits = 0
    with torch.no_grad():
        for start in range(0, len(states), batch):
            chunk = torch.from_numpy(states[start : start + batch])
            hits += int((model(one_hot(chunk)).argmax(-1) == chunk.long()).all(1).sum())
    return hits / max(len(states), 1)


def train_autoencoder(
    states: np.ndarray,
    epochs: int = 20,
    steps_per_epoch: int = 1000,
    batch: int = 256,
    lr: float = 1e-3,
    latent_dim: int = 128,
    width: int = 512,
    depth: int = 3,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    monitor: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CompositionAutoencoder, list[dict]]:
    """Autoencoder with the negative Dice (+ cross-entropy) loss; the history records the exact
    reconstruction rate on ``monitor`` states (default: the first 5000 training rows)."""
    if len(states) < batch:
        raise InputError(f"need at least {batch} training formulas, got {len(states)}")
    torch.manual_seed(seed)
    model = CompositionAutoencoder(latent_dim, width, depth)
    data = torch.from_numpy(np.ascontiguousarray(states))
    monitor = states[:5000] if monitor is None else monitor

    def step(rng, gen):
        chunk = data[torch.from_numpy(rng.integers(0, len(data), batch))]
        return reconstruction_loss(model(one_hot(chunk)), chunk)

    trainer = Trainer(
        {"autoencoder": model}, epochs, steps_per_epoch, lr, seed=seed, checkpoint=checkpoint
    )
    history = trainer.fit(
        step, lambda: {"reconstructed": reconstruction_rate(model, monitor)}, progress
    )
    return model.eval(), history
