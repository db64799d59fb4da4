"""Band-gap surrogate: an ensemble of MLPs on standardised strain designs.

``BandGapEnsemble`` maps (N, 7) designs (a, b, c in angstrom, alpha, beta, gamma in degrees,
electric field) to a band gap in eV and its standard deviation. Its ``members`` MLPs run as
one batched network (:class:`~matinverse.nn.EnsembleLinear`), each trained on its own
random batches with :func:`~matinverse.nn.censored_l1` (a metal's zero gap is a bound: any
prediction at or below 0 is right), so predictions are clipped at 0. The standard deviation
is the members' spread, floored at the precision of the data (gaps are given to 0.01 eV),
times ``std_scale``, calibrated on the gapped validation rows: designs are asked for
gapped targets, and a metal's clipped zero prediction is nearly always exact, so metallic
rows would shrink the scale (their deviations come out wider than their errors).
"""

import os
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from matinverse.errors import InputError
from matinverse.nn import EnsembleLinear, SaveableModule, censored_l1
from matinverse.strain.data import StrainData
from matinverse.train import Trainer
from matinverse.train.uncertainty import laplace_std_factor, uncertainty_report

# smallest standard deviation before calibration, eV: the data give gaps to 0.01 eV
STD_FLOOR = 0.005


class BandGapEnsemble(SaveableModule):
    """``members`` MLPs (``depth`` hidden layers of ``width``, SiLU) from standardised
    designs to band gaps in eV. ``x_mean``, ``x_scale`` (7,) standardise the designs;
    ``lower``, ``upper`` (7,) are the bounds of the training designs; ``std_scale``
    multiplies the standard deviation."""

    def __init__(
        self,
        x_mean: list[float],
        x_scale: list[float],
        lower: list[float],
        upper: list[float],
        members: int = 4,
        width: int = 128,
        depth: int = 3,
        std_scale: float = 1.0,
    ):
        super().__init__(
            x_mean=list(map(float, x_mean)),
            x_scale=list(map(float, x_scale)),
            lower=list(map(float, lower)),
            upper=list(map(float, upper)),
            members=members,
            width=width,
            depth=depth,
            std_scale=std_scale,
        )
        if members < 2:
            raise InputError(f"an ensemble needs at least 2 members, got {members}")
        sizes = [len(x_mean)] + [width] * depth + [1]
        self.layers = nn.ModuleList(
            EnsembleLinear(members, n_in, n_out)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.register_buffer("mean", torch.tensor(self.config["x_mean"]))
        self.register_buffer("scale", torch.tensor(self.config["x_scale"]))

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 7) designs -> (B, 7) standardised designs."""
        return (x - self.mean) / self.scale

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds (7,) of the training designs, in the designs' units."""
        return np.array(self.config["lower"]), np.array(self.config["upper"])

    def forward(self, standardized: torch.Tensor) -> torch.Tensor:
        """(B, 7) standardised designs -> (members, B) unclipped band gaps in eV."""
        h = standardized
        for layer in self.layers[:-1]:
            h = F.silu(layer(h))
        return self.layers[-1](h)[..., 0]

    def predict_tensor(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 7) designs -> band gap (B,) and standard deviation (B,) in eV,
        differentiable (for localization by gradient)."""
        gaps = self(self.standardize(x)).clamp_min(0)
        spread = gaps.var(0, unbiased=False)
        return gaps.mean(0), (spread + STD_FLOOR**2).sqrt() * self.config["std_scale"]

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """(N, 7) designs -> band gap (N,) and standard deviation (N,) in eV, float64."""
        means, stds = [np.zeros(0)], [np.zeros(0)]
        for start in range(0, len(x), batch):
            chunk = torch.as_tensor(np.asarray(x[start : start + batch]), dtype=torch.float32)
            mean, std = self.predict_tensor(chunk)
            means.append(mean.double().numpy())
            stds.append(std.double().numpy())
        return np.concatenate(means), np.concatenate(stds)


def train_surrogate(
    train: StrainData,
    val: StrainData,
    members: int = 8,
    width: int = 128,
    depth: int = 3,
    epochs: int = 60,
    steps_per_epoch: int = 500,
    batch: int = 256,
    lr: float = 2e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[BandGapEnsemble, list[dict]]:
    """Train an ensemble on ``train`` (each member on its own batches of ``batch`` rows),
    then calibrate its standard deviation on the gapped rows of ``val``. The history holds
    per epoch the loss and the validation MAE on metallic and gapped rows (``on_epoch``:
    see :meth:`Trainer.fit`). Returns the model (eval mode) and the history."""
    if len(train) < batch:
        raise InputError(f"need at least {batch} training rows, got {len(train)}")
    torch.manual_seed(seed)
    model = BandGapEnsemble(
        x_mean=train.x.mean(0),
        x_scale=train.x.std(0),
        lower=train.x.min(0),
        upper=train.x.max(0),
        members=members,
        width=width,
        depth=depth,
    )
    x = model.standardize(torch.as_tensor(train.x, dtype=torch.float32))
    y = torch.as_tensor(train.bandgap, dtype=torch.float32)

    def step(rng, gen):
        rows = torch.randint(0, len(y), (members, batch), generator=gen)
        return censored_l1(model(x[rows]), y[rows]) * members

    def evaluate():
        prediction, _ = model.predict(val.x)
        error = np.abs(prediction - val.bandgap)
        return {
            "val_mae_metallic": float(error[val.metallic].mean()),
            "val_mae_gapped": float(error[~val.metallic].mean()),
        }

    trainer = Trainer(
        {"model": model},
        epochs,
        steps_per_epoch,
        lr,
        weight_decay=weight_decay,
        seed=seed,
        checkpoint=checkpoint,
    )
    history = trainer.fit(step, evaluate, progress, on_epoch)
    model.eval()
    model.config["std_scale"] = 1.0
    gapped = val.rows(~val.metallic) if (~val.metallic).sum() >= 2 else val
    model.config["std_scale"] = laplace_std_factor(*model.predict(gapped.x), gapped.bandgap)
    return model, history


def evaluate_surrogate(model: BandGapEnsemble, data: StrainData) -> dict:
    """Accuracy and uncertainty quality (:func:`~matinverse.train.uncertainty.
    uncertainty_report`) on all rows of ``data`` and separately on its metallic and gapped
    rows."""
    prediction, std = model.predict(data.x)
    report = {}
    for name, rows in (
        ("all", np.ones(len(data), bool)),
        ("metallic", data.metallic),
        ("gapped", ~data.metallic),
    ):
        if rows.sum() >= 2:
            report[name] = uncertainty_report(prediction[rows], std[rows], data.bandgap[rows])
    return report
