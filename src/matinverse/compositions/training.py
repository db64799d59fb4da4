"""Training of the composition models: WGAN-GP generator and critic, the autoregressive
transformer generator, and the autoencoder.

All train on (N, 85) uint8 state arrays from :func:`matinverse.compositions.encoding.encode`
through :class:`matinverse.train.Trainer` (resumable, seeded per epoch).
"""

import math
import os
from collections.abc import Callable

import numpy as np
import torch

from matinverse.compositions.encoding import decode, one_hot, tokens
from matinverse.compositions.metrics import diversity
from matinverse.compositions.models import (
    CompositionAutoencoder,
    CompositionCritic,
    CompositionGenerator,
    CompositionTransformer,
    relaxed_one_hot,
)
from matinverse.compositions.validity import HEADLINE, validity
from matinverse.errors import InputError
from matinverse.nn import gradient_penalty
from matinverse.train import Trainer
from matinverse.train.gan import GanTrainer


def sample_quality(
    generator: CompositionGenerator | CompositionTransformer, known: set[str], n: int, seed: int
) -> dict:
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


def train_transformer(
    states: np.ndarray,
    epochs: int = 12,
    steps_per_epoch: int = 380,
    batch: int = 256,
    lr: float = 1e-3,
    width: int = 192,
    depth: int = 3,
    heads: int = 4,
    dropout: float = 0.1,
    element_temperature: float = 1.0,
    count_temperature: float = 1.0,
    validation: float = 0.05,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    known: set[str] | None = None,
    monitor_samples: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CompositionTransformer, list[dict]]:
    """Autoregressive transformer by maximum likelihood on the token sequences of the formulas
    (a random ``validation`` share held out). After each epoch the history records the held-out
    negative log-likelihood (nats per formula) and the sample quality as for the GAN, at the
    given sampling temperatures (saved in the model as its defaults)."""
    if len(states) < batch:
        raise InputError(f"need at least {batch} training formulas, got {len(states)}")
    torch.manual_seed(seed)
    model = CompositionTransformer(
        width, depth, heads, dropout, element_temperature, count_temperature
    )
    order = np.random.default_rng(seed).permutation(len(states))
    held = max(1, int(validation * len(states)))
    sequences = torch.from_numpy(tokens(states[order]))
    held_out, train = sequences[:held], sequences[held:]

    def step(rng, gen):
        return model.loss(train[torch.from_numpy(rng.integers(0, len(train), batch))])

    def evaluate():
        report = {"held_out_nll": float(model.loss(held_out))}
        report.update(sample_quality(model, known, monitor_samples, seed + len(trainer.history)))
        return report

    known = known if known is not None else set(decode(states))
    trainer = Trainer(
        {"transformer": model},
        epochs,
        steps_per_epoch,
        lr,
        weight_decay=0.01,
        seed=seed,
        checkpoint=checkpoint,
    )
    history = trainer.fit(step, evaluate, progress)
    return model.eval(), history


def finetune_transformer(
    prior: CompositionTransformer,
    known: set[str],
    epochs: int = 12,
    steps_per_epoch: int = 100,
    batch: int = 256,
    lr: float = 3e-4,
    sigma: float = 12.0,
    max_probability: float = 5e-7,
    seed: int = 0,
    sampling: dict | None = None,
    checkpoint: str | os.PathLike | None = None,
    monitor_samples: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CompositionTransformer, list[dict]]:
    """Reinforcement fine-tuning toward valid, new formulas, as REINVENT does for molecules
    (Olivecrona et al., J. Cheminform. 2017). The agent starts as a copy of the likelihood-
    trained ``prior`` (dropout off) and samples ``batch`` formulas per step. A formula earns
    reward R = 1 when it is valid under the headline SMACT setting, not in ``known``, the
    first of its kind in the batch and less likely than ``max_probability`` under the agent
    (so that no formula comes to dominate the samples). The loss
    (log p_prior + sigma R - log p_agent)^2 pulls the agent toward p_prior(x) exp(sigma R(x)):
    the prior's chemistry, reweighted by up to e^sigma toward rewarded formulas. Training
    samples at the prior's temperatures; ``sampling`` (``element_temperature`` and
    ``count_temperature``) sets the fine-tuned model's own defaults, at which the history
    records the sample quality (novelty against ``known``) beside the mean batch reward."""
    training_temperatures = {
        key: prior.config[key] for key in ("element_temperature", "count_temperature")
    }

    def copy(**config):  # without dropout, left in training mode: the eval-mode fast path of
        # torch's transformer layers rounds differently, and Adam would follow that noise
        model = CompositionTransformer(**{**prior.config, "dropout": 0.0, **config})
        model.load_state_dict(prior.state_dict())
        return model

    agent, reference = copy(**(sampling or {})), copy().requires_grad_(False)

    def step(rng, gen):
        states = agent.sample_states(batch, gen, **training_temperatures)
        formulas = decode(states)
        verdicts = validity(formulas, HEADLINE)
        seen = set()
        reward = np.zeros(batch, np.float32)
        for i, (formula, valid) in enumerate(zip(formulas, verdicts, strict=True)):
            if valid and formula not in known and formula not in seen:
                reward[i] = 1.0
            seen.add(formula)
        sequences = torch.from_numpy(tokens(states))
        log_p = agent.log_likelihood(sequences)
        reward = torch.from_numpy(reward) * (log_p.detach() < math.log(max_probability))
        target = reference.log_likelihood(sequences) + sigma * reward
        rewards.append(float(reward.mean()))
        return ((target - log_p) ** 2).mean()

    def evaluate():
        report = {"reward": float(np.mean(rewards))}
        rewards.clear()
        report.update(sample_quality(agent, known, monitor_samples, seed + len(trainer.history)))
        return report

    rewards: list[float] = []
    trainer = Trainer(
        {"transformer": agent}, epochs, steps_per_epoch, lr, seed=seed, checkpoint=checkpoint
    )
    history = trainer.fit(step, evaluate, progress)
    return agent.eval(), history


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
