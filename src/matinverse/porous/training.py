"""Training of the porous predictor and generator on a simulated dataset.

``train_predictor`` fits ``IsothermPredictor`` to the exact isotherms of a dataset made by
``generate_dataset``, with random torus symmetries (translation, the 8 rotations and
reflections) as augmentation. Samples sharing an isotherm (the same grid up to symmetry)
are merged first and the split into train and validation is by isotherm, so validation
grids are never symmetry copies of training grids.

``train_generator`` fits ``GridGenerator`` through the frozen predictor on a mix of dataset
isotherms and synthetic curves, with a mode-seeking term that makes its latent code matter.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from matinverse.errors import InputError
from matinverse.nn import straight_through_binary
from matinverse.porous.dataset import Dataset
from matinverse.porous.models import GridGenerator, IsothermPredictor, sample_codes
from matinverse.porous.simulator import LatticeDFT
from matinverse.porous.targets import synthetic_curves
from matinverse.train import Trainer


def random_symmetry(grids: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(B, L, L) grids, each under a random element of the square's 8 symmetries, all
    rolled by one random periodic translation."""
    out = grids.clone()
    element = torch.randint(0, 8, (len(grids),), generator=gen)
    for e in range(1, 8):
        idx = torch.nonzero(element == e).flatten()
        if len(idx):
            g = torch.rot90(grids[idx], e % 4, dims=(1, 2))
            out[idx] = torch.flip(g, dims=(2,)) if e >= 4 else g
    shift = torch.randint(0, grids.shape[-1], (2,), generator=gen)
    return torch.roll(out, shifts=(int(shift[0]), int(shift[1])), dims=(1, 2))


@dataclass
class Split:
    """Sample indices (into the dataset) of the training and validation parts."""

    train: np.ndarray
    validation: np.ndarray


def isotherm_keys(adsorption: np.ndarray) -> list[bytes]:
    """One hashable key per (N, P) isotherm, rounded to 1e-7: samples with the same key are
    the same grid up to symmetry (the isotherm is invariant under all of them)."""
    return [row.tobytes() for row in np.round(adsorption, 7)]


def split_by_isotherm(adsorption: np.ndarray, val_fraction: float, seed: int) -> Split:
    """Keep one sample per distinct isotherm (``isotherm_keys``) and split those at random."""
    first: dict[bytes, int] = {}
    for i, key in enumerate(isotherm_keys(adsorption)):
        first.setdefault(key, i)
    perm = np.random.default_rng(seed).permutation(np.array(sorted(first.values())))
    n_val = int(round(val_fraction * len(perm)))
    return Split(train=np.sort(perm[n_val:]), validation=np.sort(perm[:n_val]))


def predict(model: IsothermPredictor, grids: np.ndarray, batch: int = 1024) -> np.ndarray:
    """(N, L, L) 0/1 grids -> (N, P) predicted isotherms, numpy in and out."""
    out = []
    with torch.no_grad():
        for start in range(0, len(grids), batch):
            x = torch.as_tensor(np.asarray(grids[start : start + batch]), dtype=torch.float32)
            out.append(model(x).numpy())
    return np.concatenate(out).astype(float)


def per_family_mae(
    predicted: np.ndarray, exact: np.ndarray, family: np.ndarray, names
) -> dict[str, float]:
    """Mean absolute error over all points, overall and for each family present."""
    err = np.abs(predicted - exact).mean(axis=1)
    report = {"all": float(err.mean())}
    for code, name in enumerate(names):
        mask = family == code
        if mask.any():
            report[name] = float(err[mask].mean())
    return report


def evaluate_predictor(
    model: IsothermPredictor, data: Dataset, exclude: Dataset | None = None
) -> dict:
    """Held-out accuracy of ``model`` on ``data``: MAE overall and per family, the median
    and 90th percentile of the per-grid MAE, and the sample count. Samples whose isotherm
    occurs in ``exclude`` (the training set: the same grid up to symmetry) are left out."""
    keep = np.ones(len(data.adsorption), bool)
    if exclude is not None:
        seen = set(isotherm_keys(exclude.adsorption))
        keep = np.array([key not in seen for key in isotherm_keys(data.adsorption)])
    if not keep.any():
        raise InputError("no held-out sample left: every isotherm occurs in the excluded set")
    pred, exact = predict(model, data.grids[keep]), data.adsorption[keep]
    per_grid = np.abs(pred - exact).mean(axis=1)
    return {
        "samples": int(keep.sum()),
        "per_family_samples": {
            name: int((data.family[keep] == code).sum())
            for code, name in enumerate(data.family_names)
        },
        "mae": per_family_mae(pred, exact, data.family[keep], data.family_names),
        "median": float(np.median(per_grid)),
        "p90": float(np.quantile(per_grid, 0.9)),
    }


def predictor_steps(n_train: int, batch_size: int) -> int:
    """Batches of one pass over ``n_train`` training isotherms (at least 1)."""
    return max(1, n_train // batch_size)


def train_predictor(
    data: Dataset,
    epochs: int = 12,
    batch_size: int = 256,
    lr: float = 2e-3,
    width: int = 24,
    dilations=(1, 2, 4, 8, 1),
    val_fraction: float = 0.05,
    seed: int = 0,
    checkpoint=None,
    progress=None,
    on_epoch=None,
    split: Split | None = None,
    steps_per_epoch: int | None = None,
) -> tuple[IsothermPredictor, dict]:
    """Fit a predictor to ``data``; returns it (eval mode) and a report with the split
    sizes, the history and the validation MAE per family. ``on_epoch``: see
    :meth:`Trainer.fit` (the record holds ``val_mae``). ``split``: the training and
    validation samples (default: ``split_by_isotherm(data.adsorption, val_fraction,
    seed)``); ``steps_per_epoch``: batches per epoch (default: one pass over the training
    isotherms, :func:`predictor_steps`)."""
    torch.manual_seed(seed)
    if split is None:
        split = split_by_isotherm(data.adsorption, val_fraction, seed)
    grids = torch.as_tensor(np.asarray(data.grids), dtype=torch.float32)
    targets = torch.as_tensor(data.adsorption, dtype=torch.float32)
    train_idx = torch.as_tensor(split.train)
    model = IsothermPredictor(targets.shape[1], width, dilations)
    steps = steps_per_epoch or predictor_steps(len(train_idx), batch_size)

    def step(rng, gen):
        idx = train_idx[torch.randint(0, len(train_idx), (batch_size,), generator=gen)]
        return F.l1_loss(model(random_symmetry(grids[idx], gen)), targets[idx])

    def evaluate():
        pred = predict(model, data.grids[split.validation])
        return {"val_mae": float(np.abs(pred - data.adsorption[split.validation]).mean())}

    trainer = Trainer({"predictor": model}, epochs, steps, lr, seed=seed, checkpoint=checkpoint)
    history = trainer.fit(step, evaluate, progress, on_epoch)
    val = split.validation
    report = {
        "samples": len(data.grids),
        "distinct_isotherms": len(split.train) + len(val),
        "train": len(split.train),
        "validation": len(val),
        "history": history,
        "validation_mae": per_family_mae(
            predict(model, data.grids[val]),
            data.adsorption[val],
            data.family[val],
            data.family_names,
        ),
    }
    return model.eval(), report


def two_point_correlation(grids: torch.Tensor) -> torch.Tensor:
    """(N, L, L) -> (N, L, L) periodic two-point correlation S2(r) = mean_x g(x) g(x + r),
    the classic microstructure statistic; it ignores where a pattern sits on the torus."""
    f = torch.fft.rfft2(grids)
    return torch.fft.irfft2(f * f.conj(), s=grids.shape[-2:]) / grids[0].numel()


def code_diversity(generator: GridGenerator, targets: torch.Tensor, n_codes: int = 16) -> dict:
    """How much the code changes the grid for fixed ``targets`` (T, P), averaged over pairs of
    random codes: ``cells``, the fraction of cells that differ, and ``s2``, the mean absolute
    difference of the two-point correlations (blind to translated copies). 0 = code ignored."""
    gen = torch.Generator().manual_seed(0)
    codes = sample_codes(n_codes, generator.config["code_dim"], gen)
    cells, s2 = [], []
    pairs = n_codes * (n_codes - 1)
    with torch.no_grad():
        for target in targets:
            grids = generator.grids(target.expand(n_codes, -1), codes)
            flat = grids.flatten(1)
            cells.append(torch.cdist(flat, flat, p=1).sum() / pairs / flat.shape[1])
            corr = two_point_correlation(grids).flatten(1)
            s2.append(torch.cdist(corr, corr, p=1).sum() / pairs / corr.shape[1])
    return {"cells": float(torch.stack(cells).mean()), "s2": float(torch.stack(s2).mean())}


def train_generator(
    predictor: IsothermPredictor,
    data: Dataset,
    epochs: int = 8,
    steps_per_epoch: int = 150,
    batch_size: int = 256,
    lr: float = 1e-3,
    code_dim: int = 4,
    width: int = 64,
    diversity_weight: float = 3.0,
    diversity_margin: float = 0.03,
    logit_penalty: float = 0.1,
    synthetic_fraction: float = 0.5,
    seed: int = 0,
    checkpoint=None,
    progress=None,
    simulator: LatticeDFT | None = None,
    n_verify: int = 64,
) -> tuple[GridGenerator, dict]:
    """Fit a generator through the frozen ``predictor``.

    Each batch pairs every target with two random codes. Loss = MAE(predictor(grid), target)
    + diversity_weight * mode seeking + logit_penalty * mean(logit^2). Mode seeking (MSGAN,
    Mao et al. 2019) is the hinge mean(relu(margin - d_S2 / d_code)): two codes for one
    target must give grids whose two-point correlations differ by at least ``margin`` per
    unit of code distance, so the code selects different microstructures, not translated
    copies. The logit penalty keeps logits out of the sigmoid's flat tails, where the
    straight-through gradient vanishes. Targets: dataset isotherms and, with probability
    ``synthetic_fraction``, synthetic curves. After each epoch the grids made for
    ``n_verify`` fixed targets (half dataset, half synthetic; code 0) are run through the
    exact simulator and their exact MAE is recorded, with the code diversity."""
    torch.manual_seed(seed)
    predictor.eval().requires_grad_(False)
    size = data.grids.shape[-1]
    rh = np.asarray(data.relative_pressure)
    generator = GridGenerator(len(rh), code_dim, size, width)
    real = torch.as_tensor(data.adsorption, dtype=torch.float32)
    rng0 = np.random.default_rng([seed, 10**6])
    fixed = np.concatenate(
        [
            data.adsorption[rng0.choice(len(data.adsorption), n_verify // 2, replace=False)],
            synthetic_curves(n_verify - n_verify // 2, rng0, rh),
        ]
    )
    simulator = simulator if simulator is not None else LatticeDFT()

    def step(rng, gen):
        half = batch_size // 2
        n_syn = int(rng.binomial(half, synthetic_fraction))
        idx = torch.randint(0, len(real), (half - n_syn,), generator=gen)
        syn = torch.as_tensor(synthetic_curves(n_syn, rng, rh), dtype=torch.float32)
        targets = torch.cat([real[idx], syn]).repeat(2, 1)  # each target with two codes
        codes = sample_codes(2 * half, code_dim, gen)
        logits = generator(targets, codes)
        grids = straight_through_binary(logits)
        fit = F.l1_loss(predictor(grids), targets)
        s2 = two_point_correlation(grids)
        spread = (s2[:half] - s2[half:]).abs().mean(dim=(1, 2))
        code_gap = (codes[:half] - codes[half:]).abs().mean(dim=1)
        seeking = F.relu(diversity_margin - spread / code_gap.clamp_min(1e-3)).mean()
        return fit + diversity_weight * seeking + logit_penalty * logits.square().mean()

    def evaluate():
        targets = torch.as_tensor(fixed, dtype=torch.float32)
        grids = generator.grids(targets, torch.zeros(len(fixed), code_dim)).numpy()
        grids = grids.astype(np.uint8)
        ok = grids.reshape(len(grids), -1).any(axis=1)
        exact = np.full(len(grids), 1.0)
        if ok.any():
            exact[ok] = np.abs(simulator.simulate(grids[ok]).adsorption - fixed[ok]).mean(axis=1)
        surrogate = np.abs(predict(predictor, grids) - fixed).mean(axis=1)
        half = n_verify // 2
        return {
            "surrogate_mae": float(surrogate.mean()),
            "exact_mae_dataset": float(exact[:half].mean()),
            "exact_mae_synthetic": float(exact[half:].mean()),
            **{f"code_diversity_{k}": v for k, v in code_diversity(generator, targets[:8]).items()},
        }

    trainer = Trainer(
        {"generator": generator},
        epochs,
        steps_per_epoch,
        lr,
        seed=seed,
        checkpoint=checkpoint,
    )
    history = trainer.fit(step, evaluate, progress)
    return generator.eval(), {"history": history}
