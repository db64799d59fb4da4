"""Training of the conditional sheet WGAN: gradient penalty (Gulrajani et al. 2017) and
consistency term (Wei et al. 2018), several critic steps per generator step, Adam with
betas (0, 0.9), through :class:`matinverse.train.Trainer` (resumable)."""

import os
from collections.abc import Callable

import numpy as np
import torch
from scipy.stats import ks_2samp

from matinverse.errors import InputError
from matinverse.graphene.dataset import SheetDataset
from matinverse.graphene.design import design_sheets
from matinverse.graphene.lattice import N_STATES
from matinverse.graphene.models import SheetCritic, SheetGenerator
from matinverse.nn import gradient_penalty
from matinverse.train.gan import GanTrainer


def one_hot_sheets(states: torch.Tensor) -> torch.Tensor:
    """(B, H, W) integer states -> (B, 4, H, W) float one-hot."""
    return torch.nn.functional.one_hot(states.long(), N_STATES).permute(0, 3, 1, 2).float()


def consistency_term(critic: SheetCritic, real: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """CT-GAN's term: two dropout-perturbed passes of the critic on real data should agree,
    mean of |D(x') - D(x'')| + 0.1 |D_(x') - D_(x'')| (D_ the penultimate features, mean
    over features; margin 0)."""
    score1, features1 = critic(real, label)
    score2, features2 = critic(real, label)
    return ((score1 - score2).abs() + 0.1 * (features1 - features2).abs().mean(1)).mean()


def request_quality(generator: SheetGenerator, density: np.ndarray, seed: int, scale: int = 1):
    """Oracle check of sheets generated for requested densities (n,): {"mae": mean
    |achieved - requested|, "ks": Kolmogorov-Smirnov statistic, "ks_p": its p-value}, and
    the achieved densities."""
    achieved = design_sheets(generator, density, scale, candidates=1, seed=seed).density
    test = ks_2samp(density, achieved)
    report = {
        "mae": float(np.abs(achieved - density).mean()),
        "ks": float(test.statistic),
        "ks_p": float(test.pvalue),
    }
    return report, achieved


def calibrate_requests(
    generator: SheetGenerator,
    density: np.ndarray,
    n: int = 8192,
    seed: int = 1,
    knots: int = 65,
    scale: int = 1,
) -> list[list[float]]:
    """Calibration knots ``[requests, conditions]`` at ``scale`` for
    ``generator.config["calibration"][str(scale)]``: ``n`` conditions drawn from the data's
    densities (n,) (eV per square angstrom; seed ``seed``), one sheet each at ``scale``,
    judged by the oracle; the mean achieved density as a function of the condition
    (isotonic regression) is inverted at ``knots`` quantiles of the data's densities.
    Conditions stay in the data's range."""
    from sklearn.isotonic import IsotonicRegression

    if n < 2 * knots:
        raise InputError(f"calibration needs at least {2 * knots} sheets, got {n}")
    conditions = np.random.default_rng(seed).choice(density, n)
    _, achieved = request_quality(generator.with_calibration(None), conditions, seed, scale)
    grid = np.unique(np.quantile(density, np.linspace(0, 1, knots)))
    fit = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(conditions, achieved)
    mean = fit.predict(grid)
    # strictly increasing requests for np.interp: drop the flat steps of the fit
    keep = np.concatenate([[True], np.diff(mean) > 1e-9])
    return [mean[keep].tolist(), grid[keep].tolist()]


def train_sheet_gan(
    data: SheetDataset,
    epochs: int = 30,
    steps_per_epoch: int = 1200,
    batch: int = 64,
    n_critic: int = 5,
    penalty: float = 10.0,
    consistency: float = 2.0,
    lr: float = 1e-4,
    width: int = 64,
    blocks: int = 4,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    monitor_requests: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[SheetGenerator, list[dict]]:
    """Conditional WGAN-GP with consistency term on a sheet dataset. A Trainer step is one
    critic update, every (n_critic + 1)-th a generator update instead. After each epoch the
    history records the oracle check (:func:`request_quality`) of ``monitor_requests``
    sheets generated for densities drawn from the data. Returns the generator (eval mode)
    and the history."""
    if len(data.sheets) < batch:
        raise InputError(f"need at least {batch} training sheets, got {len(data.sheets)}")
    _, nx, ny = data.sheets.shape
    if nx % 2 or ny % 2:
        raise InputError(
            f"training sheets need even sides (generator upsamples x2), got {nx} x {ny}"
        )
    torch.manual_seed(seed)
    generator = SheetGenerator(
        width=width,
        blocks=blocks,
        latent_shape=(nx // 2, ny // 2),
        density_mean=float(data.density.mean()),
        density_scale=float(data.density.std()),
        density_range=(float(data.density.min()), float(data.density.max())),
    )
    critic = SheetCritic(width)
    sheets = torch.from_numpy(np.ascontiguousarray(data.sheets))
    density = torch.from_numpy(data.density.astype(np.float32))
    label = generator.standardise(density)

    def step(rng, gen):
        rows = torch.from_numpy(rng.integers(0, len(sheets), batch))
        noise = generator.noise(batch, 1, gen)
        if trainer.critic_turn():
            real = one_hot_sheets(sheets[rows])
            with torch.no_grad():
                fake = torch.softmax(generator(noise, density[rows]), 1)
            loss = critic(fake, label[rows])[0].mean() - critic(real, label[rows])[0].mean()
            gp = gradient_penalty(lambda x: critic(x, label[rows])[0], real, fake, gen)
            ct = consistency_term(critic, real, label[rows])
            return {"critic": loss + penalty * gp + consistency * ct}
        # the generator is asked for densities of real sheets (the data's label distribution)
        fake = torch.softmax(generator(noise, density[rows]), 1)
        return {"generator": -critic(fake, label[rows])[0].mean()}

    trainer = GanTrainer(
        generator,
        critic,
        epochs,
        steps_per_epoch,
        lr,
        n_critic,
        seed,
        checkpoint,
        betas=(0.0, 0.9),
        final_lr_ratio=1.0,
    )

    def evaluate():
        rng = np.random.default_rng([seed, len(trainer.history)])
        requested = rng.choice(data.density, monitor_requests)
        report, _ = request_quality(generator, requested, seed)
        generator.train()
        critic.train()
        return report

    history = trainer.fit(step, evaluate, progress)
    return generator.eval(), history
