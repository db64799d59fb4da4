"""Training of the inverse models on one fold of the MoS2 data.

``train_inverse`` fits any of :data:`~matinverse.strain.inverse.METHODS` through
:class:`matinverse.train.Trainer` (resumable), on standardised designs and gaps of the
training rows; after every epoch it records the validation loss terms and, given a
surrogate, the quality of raw samples at the benchmark targets (before any filtering).
"""

import os
from collections.abc import Callable

import numpy as np
import torch

from matinverse.errors import InputError
from matinverse.strain.data import StrainData
from matinverse.strain.inverse import METHODS, InverseModel
from matinverse.strain.surrogate import BandGapEnsemble
from matinverse.train import Trainer

# band gaps (eV) of the benchmark, also used to follow training
TARGETS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


def raw_sample_quality(
    model: InverseModel,
    surrogate: BandGapEnsemble,
    targets: tuple[float, ...] = TARGETS,
    n: int = 512,
    seed: int = 0,
) -> dict:
    """Raw samples (no filter, no localization) at each target: ``raw_mae``, the mean over
    targets of the surrogate's mean |gap - target| on the samples inside the surrogate's
    bounds, and ``raw_in_bounds``, the share of samples inside them."""
    generator = torch.Generator().manual_seed(seed)
    lower, upper = surrogate.bounds()
    errors, inside = [], []
    for target in targets:
        x = model.sample(target, n, generator)
        ok = np.all((x >= lower) & (x <= upper), axis=1)
        inside.append(ok.mean())
        if ok.any():
            errors.append(np.abs(surrogate.predict(x[ok])[0] - target).mean())
    return {
        "raw_mae": float(np.mean(errors)) if errors else float("nan"),
        "raw_in_bounds": float(np.mean(inside)),
    }


def train_inverse(
    method: str,
    train: StrainData,
    val: StrainData,
    config: dict | None = None,
    epochs: int = 20,
    steps_per_epoch: int = 500,
    batch: int = 500,
    lr: float = 1e-3,
    weight_decay: float = 1e-5,
    seed: int = 0,
    surrogate: BandGapEnsemble | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[InverseModel, list[dict]]:
    """Train a ``method`` ("inn", "cinn", "cvae", "mdn") model built with ``config`` on
    ``train``; the history holds per epoch the mean training loss, the validation loss
    terms and, with a ``surrogate``, :func:`raw_sample_quality`. Returns the model (eval
    mode) and the history."""
    if method not in METHODS:
        raise InputError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    if len(train) < batch:
        raise InputError(f"need at least {batch} training rows, got {len(train)}")
    torch.manual_seed(seed)
    model = METHODS[method](
        x_mean=train.x.mean(0),
        x_scale=train.x.std(0),
        y_mean=float(train.bandgap.mean()),
        y_scale=float(train.bandgap.std()),
        **(config or {}),
    )
    x, y = model.standardize(
        torch.as_tensor(train.x, dtype=torch.float32),
        torch.as_tensor(train.bandgap, dtype=torch.float32),
    )
    val_x, val_y = model.standardize(
        torch.as_tensor(val.x, dtype=torch.float32),
        torch.as_tensor(val.bandgap, dtype=torch.float32),
    )
    noise = model.config["noise"]

    def step(rng, gen):
        rows = torch.from_numpy(rng.integers(0, len(y), batch))
        xb = x[rows] + noise * torch.randn(batch, x.shape[1], generator=gen)
        return model.loss(xb, y[rows], gen)["loss"]

    def evaluate():
        gen = torch.Generator().manual_seed(seed)
        xb = val_x + noise * torch.randn(val_x.shape, generator=gen)
        terms = model.loss(xb, val_y, gen)
        record = {f"val_{name}": float(value) for name, value in terms.items()}
        if surrogate is not None:
            record.update(raw_sample_quality(model, surrogate, seed=seed))
        return record

    trainer = Trainer(
        {"model": model},
        epochs,
        steps_per_epoch,
        lr,
        weight_decay=weight_decay,
        seed=seed,
        checkpoint=checkpoint,
    )
    history = trainer.fit(step, evaluate, progress)
    return model.eval(), history
