"""Composition -> property networks and their ensembles.

Every network maps (B, 86) atomic fractions over
:data:`~matinverse.compositions.features.PROPERTY_ELEMENTS` to (B, 2): a prediction and the
log of its standard deviation (aleatoric), both in standardised target units, trained with
:func:`robust_loss`: the absolute error of the prediction plus the Laplace negative
log-likelihood of the standard deviation around the (gradient-stopped) prediction. The
standard deviation comes from a :class:`ScaleHead` on gradient-stopped features, so learning
it never pulls on the prediction (shared, it cost a quarter of the accuracy on OQMD).

- ``ElemNet``: ElemNet's 17-layer MLP on the fractions (Jha et al. 2018), two outputs.
- ``ElementAttention``: a transformer over the elements present (Roost/CrabNet family):
  token = projected pymatgen element descriptors + learned element embedding + sinusoidal
  encoding of the fraction; fraction-weighted pooling, then an MLP head.
- ``PropertyEnsemble``: K networks of one architecture and the target's units; ``predict``
  gives the ensemble mean and a standard deviation combining the members' spread
  (epistemic) with their mean aleatoric variance, times a factor calibrated on validation
  data (``std_scale``).
"""

import math

import numpy as np
import torch
from torch import nn

from matinverse.compositions.features import PROPERTY_ELEMENTS, element_descriptors
from matinverse.errors import InputError
from matinverse.nn import SaveableModule

N_ELEMENTS = len(PROPERTY_ELEMENTS)
# floor of the aleatoric standard deviation, in standardised target units
STD_FLOOR = 1e-3


def robust_loss(output: torch.Tensor, target: torch.Tensor, std_floor: float = 1e-3):
    """|y - mu| (the location learns the conditional median, as CrabNet's robust L1) plus the
    Laplace NLL of the standard deviation exp(s) + ``std_floor`` around the gradient-stopped
    mu (the scale learns sqrt(2) times the expected absolute error without pulling mu; the
    floor keeps targets that are exactly predictable, such as the zero band gap of metals,
    from driving s to minus infinity). output (B, 2), target (B,); returns the mean."""
    mu, log_std = output.unbind(-1)
    std = torch.exp(log_std) + std_floor
    error = (target - mu).abs()
    return (error + math.sqrt(2) * error.detach() / std + torch.log(std)).mean()


class ScaleHead(nn.Module):
    """(B, F) features -> (B, 1) log standard deviation, by an MLP of width ``width`` that
    sees the features gradient-stopped."""

    def __init__(self, features: int, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, width), nn.SiLU(), nn.Linear(width, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features.detach())


# ElemNet's layer table: (units, layers, dropout after the block)
ELEMNET_BLOCKS = ((1024, 4, 0.2), (512, 3, 0.1), (256, 3, 0.3), (128, 3, 0.2), (64, 2, 0.0))


class ElemNet(SaveableModule):
    """(B, 86) fractions -> (B, outputs); ElemNet's 17-layer MLP (1024 x 4, 512 x 3,
    256 x 3, 128 x 3, 64 x 2, 32, 1; ReLU; dropout 0.2/0.1/0.3/0.2 after the first four
    blocks), widths scaled by ``width_factor``, and a ScaleHead on its last hidden layer.
    Columns: value, log std, then ``outputs - 2`` more values (a two-part model's gap logit)."""

    def __init__(self, width_factor: float = 1.0, outputs: int = 2):
        super().__init__(width_factor=width_factor, outputs=outputs)
        layers: list[nn.Module] = []
        size = N_ELEMENTS
        for units, count, dropout in ELEMNET_BLOCKS:
            units = max(int(units * width_factor), 8)
            for _ in range(count):
                layers += [nn.Linear(size, units), nn.ReLU()]
                size = units
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(size, 32), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.value = nn.Linear(32, outputs - 1)
        self.scale = ScaleHead(32, 32)

    def forward(self, fractions: torch.Tensor) -> torch.Tensor:
        hidden = self.net(fractions)
        return with_scale(self.value(hidden), self.scale(hidden))


def with_scale(values: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """(B, V) head values and (B, 1) log std -> (B, V + 1): value, log std, other values."""
    return torch.cat([values[:, :1], log_std, values[:, 1:]], 1)


def fraction_encoding(frac: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, M) fractions in (0, 1] -> (B, M, dim) sinusoids: half of the frequencies on the
    fraction, half on its log (CrabNet's fractional encoding, continuous)."""
    quarter = dim // 4
    freqs = torch.exp(torch.linspace(0, math.log(1000.0), quarter, device=frac.device))
    linear = frac[..., None] * freqs * math.pi
    logarithmic = -torch.log(frac.clamp_min(1e-6))[..., None] / math.log(1e6) * freqs * math.pi
    return torch.cat([linear.sin(), linear.cos(), logarithmic.sin(), logarithmic.cos()], -1)


class ElementAttention(SaveableModule):
    """(B, 86) fractions -> (B, outputs); transformer encoder (``layers`` x ``heads`` heads,
    width ``dim``, pre-norm) over the elements present, fraction-weighted pooling, MLP head
    for the prediction and a ScaleHead for its log standard deviation (columns as
    :class:`ElemNet`'s)."""

    def __init__(
        self,
        dim: int = 128,
        heads: int = 4,
        layers: int = 3,
        dropout: float = 0.0,
        outputs: int = 2,
    ):
        super().__init__(dim=dim, heads=heads, layers=layers, dropout=dropout, outputs=outputs)
        if dim % 4:
            raise InputError(f"dim must be a multiple of 4, got {dim}")
        self.register_buffer("descriptors", torch.from_numpy(element_descriptors()))
        self.project = nn.Sequential(
            nn.Linear(self.descriptors.shape[1], dim), nn.SiLU(), nn.Linear(dim, dim)
        )
        self.embedding = nn.Embedding(N_ELEMENTS, dim)
        nn.init.normal_(self.embedding.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(
            nn.Linear(dim, 2 * dim),
            nn.SiLU(),
            nn.Linear(2 * dim, dim),
            nn.SiLU(),
            nn.Linear(dim, outputs - 1),
        )
        self.scale = ScaleHead(dim, dim)

    def forward(self, fractions: torch.Tensor) -> torch.Tensor:
        """(B, 86) -> (B, outputs). Rows are encoded in groups of equal element count, so
        no token is padding (a row with no element is one zero-weight token)."""
        counts = (fractions > 0).sum(1).clamp_min(1)
        out = fractions.new_zeros(len(fractions), self.config["outputs"])
        for width in counts.unique().tolist():
            rows = torch.nonzero(counts == width).squeeze(1)
            out = out.index_put((rows,), self._encode(fractions[rows], width))
        return out

    def _encode(self, fractions: torch.Tensor, width: int) -> torch.Tensor:
        frac, index = fractions.topk(width, dim=1)  # (B, width): the elements present
        tokens = self.project(self.descriptors[index]) + self.embedding(index)
        tokens = tokens + fraction_encoding(frac, tokens.shape[-1])
        hidden = self.norm(self.encoder(tokens))
        weights = frac / frac.sum(1, keepdim=True).clamp_min(1e-12)
        pooled = (hidden * weights[..., None]).sum(1)
        return with_scale(self.head(pooled), self.scale(pooled))


ARCHITECTURES = {"elemnet": ElemNet, "attention": ElementAttention}


class PropertyEnsemble(SaveableModule):
    """``size`` networks of one ``architecture`` ("elemnet" or "attention", built with
    ``member_config``); targets standardised by ``target_mean`` and ``target_scale``.
    ``nonnegative`` clips predictions at 0 (band gaps). ``two_part`` (band gaps): each
    member also predicts the probability that the target is above 0 (a gap), and its value
    and scale are those of the positive targets alone (standardise with their mean and
    scale); the prediction is the value where the members' mean probability is at least
    1/2, else 0. ``property`` and ``unit`` name the target (e.g. "formation_energy",
    "eV/atom"). ``std_scale`` multiplies the predicted standard deviation (set on
    validation data by :func:`~matinverse.compositions.property_training.calibrate`)."""

    def __init__(
        self,
        architecture: str = "attention",
        member_config: dict | None = None,
        size: int = 4,
        target_mean: float = 0.0,
        target_scale: float = 1.0,
        nonnegative: bool = False,
        property: str = "",
        unit: str = "",
        std_scale: float = 1.0,
        two_part: bool = False,
    ):
        super().__init__(
            architecture=architecture,
            member_config=dict(member_config or {}),
            size=size,
            target_mean=target_mean,
            target_scale=target_scale,
            nonnegative=nonnegative,
            property=property,
            unit=unit,
            std_scale=std_scale,
            two_part=two_part,
        )
        if architecture not in ARCHITECTURES:
            raise InputError(f"architecture must be one of {tuple(ARCHITECTURES)}")
        if size < 1:
            raise InputError(f"ensemble size must be at least 1, got {size}")
        if two_part and not nonnegative:
            raise InputError("a two-part model is for nonnegative targets (band gaps)")
        member = ARCHITECTURES[architecture]
        outputs = 3 if two_part else 2
        self.members = nn.ModuleList(
            member(**(member_config or {}), outputs=outputs) for _ in range(size)
        )

    def forward(self, fractions: torch.Tensor) -> torch.Tensor:
        """(B, 86) -> (B, K, 2) members' (location, log std), standardised units; (B, K, 3)
        with the logit of a positive target for a two-part model."""
        return torch.stack([m(fractions) for m in self.members], 1)

    def loss(self, fractions: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Sum over members of :func:`robust_loss` of targets (B,) in the target's units
        (two-part: of the positive targets, plus the binary cross-entropy of target > 0)."""
        scaled = (target - self.config["target_mean"]) / self.config["target_scale"]
        out = self(fractions)
        rows = slice(None)
        total = out.new_zeros(())
        if self.config["two_part"]:
            positive = target > 0
            logits = out[..., 2]
            labels = positive.to(logits.dtype)[:, None].expand_as(logits)
            total = nn.functional.binary_cross_entropy_with_logits(logits, labels) * out.shape[1]
            rows = positive
            if not positive.any():
                return total
        return total + sum(
            robust_loss(out[rows, k, :2], scaled[rows], STD_FLOOR) for k in range(out.shape[1])
        )

    def predict_tensor(
        self, fractions: torch.Tensor, smooth: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 86) -> prediction (B,) and standard deviation (B,) in the target's units,
        differentiable (for design by gradient). Two-part: the value v where the
        probability p of a positive target is at least 1/2, else 0 (``smooth``: the
        mixture's mean p v, whose gradient also moves p, for steering); the standard
        deviation is the mixture's, sqrt(p s^2 + p (1 - p) v^2), s the value's."""
        out = self(fractions)
        mu, std = out[..., 0], out[..., 1].exp() + STD_FLOOR
        total = (std.pow(2).mean(1) + mu.var(1, unbiased=False)).sqrt()
        scale = self.config["target_scale"]
        mean = mu.mean(1) * scale + self.config["target_mean"]
        if self.config["nonnegative"]:
            mean = mean.clamp_min(0)
        total = total * scale
        if self.config["two_part"]:
            p = torch.sigmoid(out[..., 2]).mean(1)
            total = (p * total.pow(2) + p * (1 - p) * mean.pow(2)).sqrt()
            mean = p * mean if smooth else torch.where(p >= 0.5, mean, torch.zeros_like(mean))
        return mean, total * self.std_scale

    @torch.no_grad()
    def predict(self, fractions: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """(N, 86) fractions -> prediction (N,) and standard deviation (N,), float64."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        means, stds = [np.zeros(0)], [np.zeros(0)]
        for start in range(0, len(fractions), batch):
            chunk = torch.as_tensor(fractions[start : start + batch], dtype=torch.float32)
            mean, std = self.predict_tensor(chunk.to(device))
            means.append(mean.double().cpu().numpy())
            stds.append(std.double().cpu().numpy())
        self.train(was_training)
        return np.concatenate(means), np.concatenate(stds)

    @property
    def std_scale(self) -> float:
        """Factor on the predicted standard deviation (1 before calibration)."""
        return self.config["std_scale"]

    @std_scale.setter
    def std_scale(self, value: float) -> None:
        self.config["std_scale"] = float(value)
