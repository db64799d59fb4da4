"""Composition-conditioned crystal GAN (after Kim et al., ACS Cent. Sci. 6, 1412 (2020)) on
the fixed-slot form of :mod:`matinverse.crystals.slots`.

The condition is the number of atoms of each element, one-hot per element (counts 0..slots).
The generator fills exactly the first ``count`` slots of each element and leaves the others
empty, and its outputs are squashed into physical ranges, so every sample decodes to a
crystal of the requested composition: gamma 10-170 degrees, alpha and beta from a direction
of c (so the angles always form a cell), a volume per atom of 6-40 A^3 (the training
structures have 9-27; solids of these elements have about 8-25) and length ratios b/a, c/a
of 1/8-8, which together fix the cell lengths; fractional coordinates in [0, 1).
The critic scores (structure, condition) pairs and has an auxiliary head that predicts the
counts from the structure alone (cross-entropy per element), trained on real structures and
asked of generated ones.
"""

import numpy as np
import torch
from torch import nn

from matinverse.crystals.slots import ANGLE_SCALE, LENGTH_SCALE, SlotLayout, occupied
from matinverse.errors import InputError
from matinverse.nn.layers import mlp
from matinverse.nn.saving import SaveableModule

VOLUME_PER_ATOM_RANGE = (6.0, 40.0)  # A^3
LENGTH_RATIO_RANGE = (1 / 8, 8.0)  # b / a and c / a
ANGLE_RANGE = (10.0, 170.0)  # degrees
SLOT_RANGE = (2.5 / 15, 12.5 / 15)  # encoded fractional coordinates [0, 1) -> this range


def cell_angles(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3) numbers in [0, 1] -> ((B, 1, 3) cell angles / 180 that always form a cell,
    (B,) volume of the cell with unit lengths): gamma (between a and b) in ANGLE_RANGE, and
    c's direction at a polar angle of 0-85 degrees from the normal of the ab plane (azimuth
    0-360), which fixes alpha and beta."""
    low, high = ANGLE_RANGE
    gamma = torch.deg2rad(low + (high - low) * u[:, 0])
    theta = torch.deg2rad(85.0 * u[:, 1])
    phi = 2 * torch.pi * u[:, 2]
    c = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], 1)
    b = torch.stack([gamma.cos(), gamma.sin(), torch.zeros_like(gamma)], 1)
    alpha = torch.arccos((b * c).sum(1).clamp(-1, 1))
    beta = torch.arccos(c[:, 0].clamp(-1, 1))
    angles = torch.rad2deg(torch.stack([alpha, beta, gamma], 1))[:, None] / ANGLE_SCALE
    return angles, gamma.sin() * theta.cos()


def cell_lengths(u: torch.Tensor, unit_volume: torch.Tensor, atoms: torch.Tensor) -> torch.Tensor:
    """(B, 3) numbers in [0, 1], (B,) unit-length cell volume (:func:`cell_angles`) and (B,)
    atom counts -> (B, 1, 3) lengths / LENGTH_SCALE: u[:, 0] sets the volume per atom
    (log-uniform over VOLUME_PER_ATOM_RANGE), u[:, 1:] the ratios b/a and c/a (log-uniform
    over LENGTH_RATIO_RANGE)."""
    log_v = [float(np.log(v)) for v in VOLUME_PER_ATOM_RANGE]
    log_r = [float(np.log(r)) for r in LENGTH_RATIO_RANGE]
    volume = torch.exp(log_v[0] + (log_v[1] - log_v[0]) * u[:, 0]) * atoms
    ratios = torch.exp(log_r[0] + (log_r[1] - log_r[0]) * u[:, 1:])
    a = (volume / (ratios.prod(1) * unit_volume)) ** (1 / 3)
    return torch.cat([a[:, None], a[:, None] * ratios], 1)[:, None] / LENGTH_SCALE


def count_one_hot(counts: torch.Tensor, slots: tuple[int, ...]) -> torch.Tensor:
    """(B, E) int atom counts -> (B, sum(slots + 1)) one-hot per element."""
    parts = [nn.functional.one_hot(counts[:, e].long(), n + 1).float() for e, n in enumerate(slots)]
    return torch.cat(parts, 1)


def slot_mask(counts: torch.Tensor, slots: tuple[int, ...]) -> torch.Tensor:
    """(B, E) counts -> (B, 2 + sum(slots)) float: 1 for the cell rows and the first
    ``count`` slots of each element."""
    parts = [torch.ones(len(counts), 2)]
    for e, n in enumerate(slots):
        parts.append((torch.arange(n)[None] < counts[:, e : e + 1]).float())
    return torch.cat(parts, 1)


def counts_of(x: torch.Tensor, slots: tuple[int, ...]) -> torch.Tensor:
    """(B, R, 3) slot arrays -> (B, E) atom counts (:func:`~matinverse.crystals.slots.occupied`)."""
    filled = occupied(x[:, 2:])
    return torch.stack([part.sum(1) for part in filled.split(list(slots), 1)], 1)


def cell_matrix(x: torch.Tensor) -> torch.Tensor:
    """(B, R, 3) slot arrays -> (B, 3, 3) cell vectors as rows (A), a along x, b in the
    xy plane (differentiable)."""
    a, b, c = (x[:, 0] * LENGTH_SCALE).unbind(1)
    alpha, beta, gamma = torch.deg2rad(x[:, 1] * ANGLE_SCALE).unbind(1)
    cx = c * torch.cos(beta)
    cy = c * (torch.cos(alpha) - torch.cos(beta) * torch.cos(gamma)) / torch.sin(gamma)
    cz = torch.sqrt((c**2 - cx**2 - cy**2).clamp_min(1e-6))
    zero = torch.zeros_like(a)
    rows = [
        torch.stack([a, zero, zero], 1),
        torch.stack([b * torch.cos(gamma), b * torch.sin(gamma), zero], 1),
        torch.stack([cx, cy, cz], 1),
    ]
    return torch.stack(rows, 1)


_IMAGES = torch.tensor(
    [[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=torch.float32
)


def nearest_distances(x: torch.Tensor) -> torch.Tensor:
    """(B, R, 3) slot arrays -> (B, R - 2) distance (A) from each occupied slot's atom to
    its nearest other atom or periodic image (0 for empty slots); differentiable. The images
    searched lie within one cell of the wrapped fractional difference (exact unless the
    cell is extremely skewed)."""
    slots = x[:, 2:]
    filled = occupied(slots)
    frac = 1.5 * slots - 0.25
    delta = frac[:, :, None] - frac[:, None]  # (B, S, S, 3)
    delta = delta - torch.round(delta)
    images = _IMAGES.to(x)
    shifted = (delta[:, :, :, None] + images).reshape(len(x), -1, 3)
    lengths = torch.bmm(shifted, cell_matrix(x)).norm(dim=-1).view(*delta.shape[:3], -1)
    s = slots.shape[1]
    own = torch.eye(s, dtype=torch.bool, device=x.device)[:, :, None] & (
        images.abs().sum(1) == 0
    )  # an atom itself is not its neighbour
    pair = filled[:, :, None] & filled[:, None]
    lengths = lengths.masked_fill(own, float("inf")).masked_fill(~pair[..., None], float("inf"))
    nearest = lengths.amin((-1, -2))
    return torch.where(filled, nearest, torch.zeros_like(nearest))


def log_volume_per_atom(x: torch.Tensor) -> torch.Tensor:
    """(B, R, 3) slot arrays -> (B,) log of the cell volume per atom (A^3), which the critic
    sees beside the slot array (a product of lengths and angles that an MLP finds hard)."""
    volume = torch.linalg.det(cell_matrix(x)).abs()
    atoms = occupied(x[:, 2:]).sum(1).clamp_min(1)
    return torch.log(volume.clamp_min(1e-6) / atoms)


def _mlp(sizes: list[int]) -> nn.Sequential:
    return mlp(sizes, activation=lambda: nn.LeakyReLU(0.2))


class CrystalGenerator(SaveableModule):
    """(B, latent_dim) noise and (B, E) atom counts -> (B, 2 + sum(slots), 3) slot arrays
    (:class:`~matinverse.crystals.slots.SlotLayout` encoding) of that composition."""

    def __init__(
        self,
        elements: tuple[str, ...],
        slots: tuple[int, ...],
        latent_dim: int = 64,
        width: int = 512,
        depth: int = 3,
    ):
        super().__init__(
            elements=list(elements), slots=list(slots), latent_dim=latent_dim, width=width,
            depth=depth,
        )  # fmt: skip
        self.layout = SlotLayout(tuple(elements), tuple(slots))
        self.slots = tuple(slots)
        rows = self.layout.rows
        condition = sum(n + 1 for n in slots)
        self.net = _mlp([latent_dim + condition] + [width] * depth + [rows * 3])
        low = torch.zeros(rows, 3)  # rows 0, 1 in [0, 1]: cell_lengths and cell_angles
        high = torch.ones(rows, 3)
        low[2:], high[2:] = SLOT_RANGE
        self.register_buffer("low", low)
        self.register_buffer("high", high)

    def noise(self, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.config["latent_dim"], generator=gen)

    def forward(self, z: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        h = self.net(torch.cat([z, count_one_hot(counts, self.slots)], 1))
        x = self.low + (self.high - self.low) * torch.sigmoid(h.view(len(z), -1, 3))
        angles, unit_volume = cell_angles(x[:, 1])
        lengths = cell_lengths(x[:, 0], unit_volume, counts.sum(1).to(x))
        x = torch.cat([lengths, angles, x[:, 2:]], 1)
        return x * slot_mask(counts, self.slots)[..., None]

    def check_counts(self, counts) -> torch.Tensor:
        """(B, E) counts as int64, InputError outside 0..slots or with no atom."""
        counts = torch.as_tensor(np.asarray(counts), dtype=torch.int64).reshape(-1, len(self.slots))
        if (counts < 0).any() or (counts > torch.tensor(self.slots)).any():
            raise InputError(f"atom counts must lie in 0..{list(self.slots)} per element")
        if (counts.sum(1) == 0).any():
            raise InputError("a composition needs at least one atom")
        return counts


class CrystalCritic(SaveableModule):
    """(B, R, 3) slot arrays and (B, E) counts -> ((B,) Wasserstein score, (B, sum(slots
    + 1)) count logits of the auxiliary head, which sees the structure only). Besides the
    slot array it sees the log volume per atom."""

    def __init__(self, slots: tuple[int, ...], width: int = 512, depth: int = 3):
        super().__init__(slots=list(slots), width=width, depth=depth)
        self.slots = tuple(slots)
        rows = 2 + sum(slots)
        condition = sum(n + 1 for n in slots)
        self.features = _mlp([rows * 3 + 1] + [width] * depth)
        self.act = nn.LeakyReLU(0.2)
        self.score = _mlp([width + condition, width, 1])
        self.aux = nn.Linear(width, condition)

    def forward(self, x: torch.Tensor, counts: torch.Tensor):
        h = self.act(self.features(torch.cat([x.flatten(1), log_volume_per_atom(x)[:, None]], 1)))
        score = self.score(torch.cat([h, count_one_hot(counts, self.slots)], 1))[:, 0]
        return score, self.aux(h)

    def aux_loss(self, logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the count logits against (B, E) counts, over elements."""
        parts = logits.split([n + 1 for n in self.slots], 1)
        losses = [nn.functional.cross_entropy(p, counts[:, e].long()) for e, p in enumerate(parts)]
        return torch.stack(losses).mean()
