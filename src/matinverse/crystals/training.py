"""Training the composition-conditioned crystal GAN, and how good its samples are."""

import os
from collections.abc import Callable

import numpy as np
import torch

from matinverse.crystals.models import (
    CrystalCritic,
    CrystalGenerator,
    counts_of,
    log_volume_per_atom,
    nearest_distances,
)
from matinverse.crystals.slots import (
    SlotLayout,
    occupied,
    permute_axes,
    permute_slots,
    translate,
)
from matinverse.crystals.validity import sanity
from matinverse.errors import InputError
from matinverse.nn.losses import gradient_penalty
from matinverse.train.gan import GanTrainer


def augment(x: np.ndarray, layout: SlotLayout, rng: np.random.Generator) -> np.ndarray:
    """A random translation, shuffle of the occupied slots and permutation of the axes of
    every structure of (B, R, 3) (each gives the same crystal, up to a mirror image)."""
    x = translate(x, rng)
    x = permute_slots(x, layout, rng, occupied_only=True)
    return permute_axes(x, rng)


def sample_quality(
    generator: CrystalGenerator, counts: np.ndarray, seed: int = 0
) -> tuple[dict, list]:
    """Generate one structure per row of (N, E) counts; report the share that decode with
    the requested composition (``composition_ok``) and pass :func:`sanity` (``sane``),
    and the median shortest distance (A) and density (g/cm^3). Returns (report,
    structures)."""
    generator.eval()
    counts = generator.check_counts(counts)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = generator(generator.noise(len(counts), gen), counts)
    matches = (counts_of(x, generator.slots) == counts).all(1).float().mean().item()
    structures = [generator.layout.decode(row) for row in x.numpy().astype(np.float64)]
    checks = [sanity(s) for s in structures]
    report = {
        "composition_ok": matches,
        "sane": float(np.mean([c.sane for c in checks])),
        "median_min_distance": float(np.median([c.min_distance for c in checks])),
        "median_density": float(np.median([c.density for c in checks])),
    }
    return report, structures


def train_crystal_gan(
    tensor: np.ndarray,
    layout: SlotLayout,
    epochs: int = 30,
    steps_per_epoch: int = 500,
    batch: int = 64,
    n_critic: int = 5,
    penalty: float = 10.0,
    aux_weight: float = 1.0,
    repulsion: float = 10.0,
    contact: float = 1.4,
    volume_match: float = 10.0,
    lr: float = 1e-4,
    width: int = 512,
    latent_dim: int = 64,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    monitor: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CrystalGenerator, list[dict]]:
    """WGAN-GP with an auxiliary composition head (critic: Wasserstein loss + ``penalty``
    x gradient penalty + ``aux_weight`` x count cross-entropy on real structures;
    generator: Wasserstein loss + ``aux_weight`` x count cross-entropy of its samples +
    ``repulsion`` x mean over atoms of relu(``contact`` - nearest-neighbour distance)^2 in
    A^2, a physical prior that atoms do not overlap (the data's shortest is 1.48 A), +
    ``volume_match`` x the squared differences of the mean and standard deviation of the log
    volume per atom between the generated and the real batch (feature matching: without it
    the generator escapes the overlap prior by inflating its cells to the largest volume
    allowed, which the critic does not punish)) on
    (N, R, 3) encoded structures, augmented by :func:`augment` at every batch. After each
    epoch the history records :func:`sample_quality` of ``monitor`` samples for
    compositions drawn from the data. Returns the generator (eval mode) and the history."""
    tensor = np.asarray(tensor, dtype=np.float64)
    if tensor.ndim != 3 or tensor.shape[1:] != (layout.rows, 3):
        raise InputError(f"expected (N, {layout.rows}, 3) structures, got {tensor.shape}")
    if len(tensor) < batch:
        raise InputError(f"need at least {batch} training structures, got {len(tensor)}")
    torch.manual_seed(seed)
    generator = CrystalGenerator(layout.elements, layout.slots, latent_dim, width)
    critic = CrystalCritic(layout.slots, width)
    counts = counts_of(torch.from_numpy(tensor), layout.slots)
    real_volumes = log_volume_per_atom(torch.from_numpy(tensor))  # invariant under augment

    def step(rng, gen):
        rows = rng.integers(0, len(tensor), batch)
        c = counts[rows]
        noise = generator.noise(batch, gen)
        if trainer.critic_turn():
            real = torch.from_numpy(augment(tensor[rows], layout, rng)).float()
            with torch.no_grad():
                fake = generator(noise, c)
            real_score, real_logits = critic(real, c)
            loss = critic(fake, c)[0].mean() - real_score.mean()
            gp = gradient_penalty(lambda x: critic(x, c)[0], real, fake, gen)
            aux = critic.aux_loss(real_logits, c)
            return {"critic": loss + penalty * gp + aux_weight * aux}
        fake = generator(noise, c)
        real_volume = real_volumes[rows]
        fake_volume = log_volume_per_atom(fake)
        volume = (fake_volume.mean() - real_volume.mean()) ** 2 + (
            fake_volume.std() - real_volume.std()
        ) ** 2
        score, logits = critic(fake, c)
        overlap = torch.relu(contact - nearest_distances(fake)) * occupied(fake[:, 2:])
        loss = -score.mean() + aux_weight * critic.aux_loss(logits, c)
        overlap = overlap.pow(2).sum() / c.sum()
        return {"generator": loss + repulsion * overlap + volume_match * volume}

    trainer = GanTrainer(
        generator, critic, epochs, steps_per_epoch, lr, n_critic, seed, checkpoint,
        betas=(0.5, 0.9),
    )  # fmt: skip

    def evaluate():
        rng = np.random.default_rng([seed, len(trainer.history)])
        report, _ = sample_quality(generator, counts[rng.integers(0, len(counts), monitor)])
        generator.train()
        return report

    history = trainer.fit(step, evaluate, progress)
    return generator.eval(), history
