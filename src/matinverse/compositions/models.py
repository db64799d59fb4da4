"""Neural networks of the composition problem, on MatGAN's count one-hot matrices.

- ``CompositionGenerator``: latent vector -> per-element state logits (B, 85, 9), state 0 =
  absent, c = count c; its softmax gives the relaxed one-hot the critic sees, its argmax
  the decoded formula. The autoencoder's decoder is this same class.
- ``CompositionCritic``: (B, 8, 85) count one-hot -> Wasserstein critic score (B,).
- ``CompositionAutoencoder``: encoder MLP to a latent vector, decoder a
  ``CompositionGenerator``; trained with a negative Dice (+ cross-entropy) loss.
"""

import numpy as np
import torch
from torch import nn

from matinverse.compositions.encoding import ELEMENTS, MAX_COUNT, N_STATES
from matinverse.nn import SaveableModule

N_ELEMENTS = len(ELEMENTS)


def _mlp(sizes: list[int], activation: type[nn.Module], norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1], strict=False):
        layers += [nn.Linear(a, b)] + ([nn.LayerNorm(b)] if norm else []) + [activation()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def relaxed_one_hot(logits: torch.Tensor) -> torch.Tensor:
    """(B, 85, 9) state logits -> (B, 8, 85) count probabilities (absent mass dropped)."""
    return torch.softmax(logits, dim=-1)[..., 1:].transpose(1, 2)


class CompositionGenerator(SaveableModule):
    """(B, latent_dim) -> (B, 85, 9) state logits; an MLP of ``depth`` hidden layers of
    ``width`` units (LayerNorm, ReLU)."""

    def __init__(self, latent_dim: int = 128, width: int = 512, depth: int = 3):
        super().__init__(latent_dim=latent_dim, width=width, depth=depth)
        self.net = _mlp([latent_dim] + [width] * depth + [N_ELEMENTS * N_STATES], nn.ReLU, True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, N_ELEMENTS, N_STATES)

    @torch.no_grad()
    def sample_states(self, n: int, generator: torch.Generator, batch: int = 8192) -> np.ndarray:
        """(n, 85) uint8 states (argmax) decoded from n standard-normal latent vectors."""
        out = []
        for start in range(0, n, batch):
            size = min(batch, n - start)
            z = torch.randn(size, self.config["latent_dim"], generator=generator)
            out.append(self(z).argmax(-1).to(torch.uint8).numpy())
        return np.concatenate(out) if out else np.zeros((0, N_ELEMENTS), np.uint8)


class CompositionCritic(SaveableModule):
    """(B, 8, 85) count one-hot (relaxed or exact) -> (B,) Wasserstein critic score; MLP
    with LeakyReLU and no normalisation (the gradient penalty needs per-sample gradients)."""

    def __init__(self, width: int = 512, depth: int = 3):
        super().__init__(width=width, depth=depth)
        sizes = [MAX_COUNT * N_ELEMENTS] + [width] * depth + [1]
        self.net = _mlp(sizes, lambda: nn.LeakyReLU(0.2), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


class CompositionAutoencoder(SaveableModule):
    """Encoder (B, 8, 85) -> (B, latent_dim) (MLP, LayerNorm, ReLU, tanh-free latent) and a
    ``CompositionGenerator`` decoder of the same latent_dim, width and depth."""

    def __init__(self, latent_dim: int = 128, width: int = 512, depth: int = 3):
        super().__init__(latent_dim=latent_dim, width=width, depth=depth)
        sizes = [MAX_COUNT * N_ELEMENTS] + [width] * depth + [latent_dim]
        self.encoder = _mlp(sizes, nn.ReLU, True)
        self.decoder = CompositionGenerator(latent_dim, width, depth)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 8, 85) one-hot -> (B, 85, 9) reconstructed state logits."""
        return self.decoder(self.encode(x))
