"""Neural networks of the porous design problem.

- ``IsothermPredictor``: grid -> adsorption isotherm, the fast differentiable surrogate of
  the lattice-DFT simulator.
- ``GridGenerator``: (target isotherm, latent code) -> grid, trained through the frozen
  predictor; the code selects among the many grids that share one isotherm.

Grids enter as (N, L, L) float tensors, 1 = pore, 0 = solid (relaxed values in [0, 1] are
accepted); isotherms are (N, P) fillings theta at the P relative pressures.
"""

import torch
from torch import nn
from torch.nn import functional as F

from matinverse.nn import PeriodicConv2d, SaveableModule, straight_through_binary


class IsothermPredictor(SaveableModule):
    """Fully convolutional periodic CNN that predicts each site's density at every pressure
    and returns theta = sum(rho eta) / sum(eta), the simulator's own definition.

    Dilated periodic convolutions (receptive field wider than the grid for the default
    dilations) see whole pores; a global-mean context joins the per-site head. Per-site
    densities are cumulative sums of a softmax over P + 1 channels, so every predicted
    isotherm lies in [0, 1] and never decreases with pressure. The model commutes exactly
    with periodic translations; rotations and reflections are learned by augmentation.
    """

    def __init__(self, n_pressures: int = 41, width: int = 24, dilations=(1, 2, 4, 8, 1)):
        super().__init__(n_pressures=n_pressures, width=width, dilations=list(dilations))
        self.stem = PeriodicConv2d(1, width, 3)
        self.blocks = nn.ModuleList(PeriodicConv2d(width, width, 3, dilation=d) for d in dilations)
        self.head = nn.Sequential(
            nn.Conv2d(2 * width, 2 * width, 1), nn.SiLU(), nn.Conv2d(2 * width, n_pressures + 1, 1)
        )

    def site_density(self, grids: torch.Tensor) -> torch.Tensor:
        """(N, L, L) grids -> (N, P, L, L) predicted site densities (before the pore mask)."""
        h = F.silu(self.stem(grids.unsqueeze(1)))
        for block in self.blocks:
            h = h + F.silu(block(h))
        context = h.mean(dim=(2, 3), keepdim=True).expand_as(h)
        logits = self.head(torch.cat([h, context], dim=1))
        return torch.cumsum(torch.softmax(logits, dim=1), dim=1)[:, :-1]

    def forward(self, grids: torch.Tensor) -> torch.Tensor:
        """(N, L, L) grids -> (N, P) isotherms theta."""
        rho = self.site_density(grids)
        pores = grids.unsqueeze(1)
        return (rho * pores).sum(dim=(2, 3)) / pores.sum(dim=(2, 3)).clamp_min(1e-6)


class GridGenerator(SaveableModule):
    """(N, P) target isotherms and (N, code_dim) codes in [-1, 1] -> (N, L, L) grid logits.

    An MLP maps (target, code) to a coarse (width, L/4, L/4) map that two nearest-neighbour
    upsamplings with periodic convolutions bring to L x L. ``grids`` binarises the logits
    with the straight-through estimator, so the predictor always sees 0/1 grids.
    """

    def __init__(self, n_pressures: int = 41, code_dim: int = 4, size: int = 20, width: int = 64):
        if size % 4:
            raise ValueError(f"size must be a multiple of 4, got {size}")
        super().__init__(n_pressures=n_pressures, code_dim=code_dim, size=size, width=width)
        self.coarse = size // 4
        self.mlp = nn.Sequential(
            nn.Linear(n_pressures + code_dim, 256),
            nn.SiLU(),
            nn.Linear(256, 256),
            nn.SiLU(),
            nn.Linear(256, width * self.coarse**2),
        )
        self.up = nn.ModuleList(
            nn.Sequential(
                PeriodicConv2d(width, width, 3), nn.SiLU(), PeriodicConv2d(width, width, 3)
            )
            for _ in range(2)
        )
        self.out = PeriodicConv2d(width, 1, 3)

    def forward(self, targets: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """(N, P), (N, code_dim) -> (N, L, L) logits (positive = pore)."""
        width = self.config["width"]
        h = self.mlp(torch.cat([targets, codes], dim=1)).view(-1, width, self.coarse, self.coarse)
        for block in self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = h + block(F.silu(h))
        return self.out(F.silu(h)).squeeze(1)

    def grids(self, targets: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """(N, L, L) 0/1 grids (straight-through: differentiable through the sigmoid)."""
        return straight_through_binary(self(targets, codes))


def sample_codes(n: int, code_dim: int, gen: torch.Generator) -> torch.Tensor:
    """(n, code_dim) latent codes, uniform in [-1, 1]."""
    return torch.rand(n, code_dim, generator=gen) * 2 - 1
