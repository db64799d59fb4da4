"""Conditional WGAN for porous graphene (RUGAN, Mills, Casert and Tamblyn 2019): a generator
of periodic, translation-invariant convolutions, so that a larger noise block gives a
larger sheet, and a conditional critic.

Labels are energy densities (eV per square angstrom), standardised by the training data's
mean and scale stored in the generator's config.
"""

import numpy as np
import torch
from torch import nn

from matinverse.errors import InputError
from matinverse.graphene.lattice import N_STATES
from matinverse.nn import PeriodicConv2d, SaveableModule


def label_map(density: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """(B,) standardised labels -> (B, 1, H, W) constant label channels."""
    return density[:, None, None, None].expand(-1, 1, *shape)


class ResidualBlock(nn.Module):
    """x + conv(act(norm(conv(act(norm([x, label]))))))): periodic 3 x 3 convolutions, the
    label channel fed to the first, group normalisation (batch- and size-independent)."""

    def __init__(self, width: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, width), width)
        self.conv1 = PeriodicConv2d(width + 1, width, 3)
        self.norm2 = nn.GroupNorm(min(8, width), width)
        self.conv2 = PeriodicConv2d(width, width, 3)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.conv1(torch.cat([self.act(self.norm1(x)), label_map(label, x.shape[-2:])], 1))
        return x + self.conv2(self.act(self.norm2(h)))


class SheetGenerator(SaveableModule):
    """(B, noise_channels, h, w) noise and (B,) energy densities (eV per square angstrom)
    -> (B, 4, 2h, 2w) state logits; the training size comes from a ``latent_shape`` block
    (7 x 8 -> 14 x 16) and a K-times larger block gives a K-times larger sheet.
    ``density_range``: the training data's (min, max) density, the range requests may
    take. ``calibration``: optional knots per scale, ``{"K": [requests, conditions]}`` (two
    increasing lists, eV per square angstrom, from
    :func:`matinverse.graphene.training.calibrate_requests`); :meth:`sample` then feeds
    each request the condition whose sheets match it on average, by the knots of its scale
    (or of the largest calibrated scale below it: larger sheets average their holes more,
    so the response to the condition depends on the size)."""

    def __init__(
        self,
        noise_channels: int = 63,
        width: int = 64,
        blocks: int = 4,
        latent_shape: tuple[int, int] = (7, 8),
        density_mean: float = 0.0,
        density_scale: float = 1.0,
        density_range: tuple[float, float] = (0.0, 1.0),
        calibration: dict[str, list[list[float]]] | None = None,
    ):
        super().__init__(
            noise_channels=noise_channels,
            width=width,
            blocks=blocks,
            latent_shape=list(latent_shape),
            density_mean=density_mean,
            density_scale=density_scale,
            density_range=list(density_range),
            calibration=calibration,
        )
        self.stem = PeriodicConv2d(noise_channels + 1, width, 3)
        self.low = ResidualBlock(width)
        self.high = nn.ModuleList(ResidualBlock(width) for _ in range(blocks - 1))
        self.head = nn.Sequential(
            nn.GroupNorm(min(8, width), width),
            nn.LeakyReLU(0.2),
            PeriodicConv2d(width, N_STATES, 3),
        )

    def standardise(self, density: torch.Tensor) -> torch.Tensor:
        return (density - self.config["density_mean"]) / self.config["density_scale"]

    def forward(self, noise: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
        label = self.standardise(density)
        x = self.stem(torch.cat([noise, label_map(label, noise.shape[-2:])], 1))
        x = self.low(x, label)
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        for block in self.high:
            x = block(x, label)
        return self.head(x)

    def noise(self, n: int, scale: int, gen: torch.Generator) -> torch.Tensor:
        """(n, noise_channels, scale h, scale w) standard normal noise."""
        h, w = self.config["latent_shape"]
        return torch.randn(n, self.config["noise_channels"], scale * h, scale * w, generator=gen)

    def with_calibration(
        self, calibration: dict[str, list[list[float]]] | None
    ) -> "SheetGenerator":
        """A copy with the same weights and the given calibration knots (None: none)."""
        copy = SheetGenerator(**{**self.config, "calibration": calibration})
        copy.load_state_dict(self.state_dict())
        return copy.eval()

    def condition(self, density: np.ndarray, scale: int = 1) -> np.ndarray:
        """The label to feed for requested densities (n,) at ``scale``: the calibrated
        condition, or the request itself where no scale up to ``scale`` is calibrated."""
        density = np.asarray(density, np.float64)
        calibrated = [int(k) for k in self.config["calibration"] or {} if int(k) <= scale]
        if not calibrated:
            return density
        requests, conditions = self.config["calibration"][str(max(calibrated))]
        return np.interp(density, requests, conditions)

    @torch.no_grad()
    def sample(
        self, density: np.ndarray, scale: int = 1, seed: int = 0, batch: int = 256
    ) -> np.ndarray:
        """Sheets for requested densities (n,) eV per square angstrom: (n, 2 scale h,
        2 scale w) uint8 states, the most probable state of every cell (requests pass
        through :meth:`condition`)."""
        if scale < 1:
            raise InputError(f"scale must be at least 1, got {scale}")
        self.eval()
        gen = torch.Generator().manual_seed(seed)
        density = torch.as_tensor(self.condition(density, scale), dtype=torch.float32)
        parts = []
        for start in range(0, len(density), batch):
            chunk = density[start : start + batch]
            logits = self(self.noise(len(chunk), scale, gen), chunk)
            parts.append(logits.argmax(1).to(torch.uint8).numpy())
        h, w = self.config["latent_shape"]
        empty = np.empty((0, 2 * scale * h, 2 * scale * w), np.uint8)
        return np.concatenate(parts) if parts else empty


class SheetCritic(SaveableModule):
    """(B, 4, H, W) state probabilities and (B,) standardised labels -> (B,) scores and
    (B, width) penultimate features (for the consistency term); periodic convolutions with
    dropout, one 2 x 2 average pooling, a global mean (any sheet size)."""

    def __init__(self, width: int = 64, blocks: int = 3, dropout: float = 0.1):
        super().__init__(width=width, blocks=blocks, dropout=dropout)
        layers: list[nn.Module] = [PeriodicConv2d(N_STATES + 1, width, 3), nn.LeakyReLU(0.2)]
        for k in range(blocks):
            layers += [PeriodicConv2d(width, width, 3), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            if k == 0:
                layers.append(nn.AvgPool2d(2))
        self.net = nn.Sequential(*layers)
        self.score = nn.Linear(width + 1, 1)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.net(torch.cat([x, label_map(label, x.shape[-2:])], 1)).mean((2, 3))
        return self.score(torch.cat([features, label[:, None]], 1)).squeeze(1), features
