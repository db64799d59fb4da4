"""Neural networks of the composition problem, on MatGAN's count one-hot matrices.

- ``CompositionGenerator``: latent vector -> per-element state logits (B, 85, 9), state 0 =
  absent, c = count c; its softmax gives the relaxed one-hot the critic sees, its argmax
  the decoded formula. The autoencoder's decoder is this same class.
- ``CompositionCritic``: (B, 8, 85) count one-hot -> Wasserstein critic score (B,).
- ``CompositionAutoencoder``: encoder MLP to a latent vector, decoder a
  ``CompositionGenerator``; trained with a negative Dice (+ cross-entropy) loss.
- ``CompositionTransformer``: autoregressive generator over (element, count) tokens in
  electronegativity order (:func:`~matinverse.compositions.encoding.tokens`); (B, T) tokens
  -> (B, T, N_TOKENS) next-token logits. Its ``sample_states`` has the generator's contract.
"""

import numpy as np
import torch
from torch import nn

from matinverse.compositions.encoding import (
    ELEMENTS,
    END,
    MAX_COUNT,
    MAX_TOKENS,
    N_STATES,
    N_TOKENS,
    SEQUENCE_RANK,
)
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


class CompositionTransformer(SaveableModule):
    """Causal transformer over formula tokens: (B, T) int64 tokens, T <= 9, the first a start
    token -> (B, T, N_TOKENS) logits of the next token (END or an (element, count) pair).
    Pre-norm encoder layers of ``width`` units, ``heads`` heads, feed-forward 4 x width.

    Sampling draws each step in two parts: the element (or END), from the next-token
    distribution summed over counts and sharpened or flattened by ``element_temperature``,
    then its count, at ``count_temperature``. Only elements after the last one in the
    sequence order can follow, so a formula never repeats an element; the temperatures
    saved in the config are the defaults."""

    START = N_TOKENS  # the start token, never an output

    def __init__(
        self,
        width: int = 192,
        depth: int = 3,
        heads: int = 4,
        dropout: float = 0.1,
        element_temperature: float = 1.0,
        count_temperature: float = 1.0,
    ):
        super().__init__(
            width=width,
            depth=depth,
            heads=heads,
            dropout=dropout,
            element_temperature=element_temperature,
            count_temperature=count_temperature,
        )
        self.embed = nn.Embedding(N_TOKENS + 1, width)
        self.position = nn.Embedding(MAX_TOKENS, width)
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout, batch_first=True, norm_first=True
        )
        self.body = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, N_TOKENS))
        # position of each element in the sequence order
        self.register_buffer("element_rank", torch.as_tensor(SEQUENCE_RANK), persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(length)
        h = self.embed(tokens) + self.position(torch.arange(length))
        return self.head(self.body(h, mask=mask, is_causal=True))

    def log_likelihood(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B,) log-likelihood (nats) of (B, 9) END-padded token sequences
        (:func:`~matinverse.compositions.encoding.tokens`), END included once."""
        start = torch.full((len(tokens), 1), self.START)
        logits = self(torch.cat([start, tokens[:, :-1]], 1))
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
        ended_before = torch.cumsum(tokens == END, 1) - (tokens == END).long()
        return -(nll * (ended_before == 0)).sum(1)

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood (nats per formula, batch mean) of (B, 9) token sequences."""
        return -self.log_likelihood(tokens).mean()

    @torch.no_grad()
    def sample_states(
        self,
        n: int,
        generator: torch.Generator,
        batch: int = 8192,
        element_temperature: float | None = None,
        count_temperature: float | None = None,
    ) -> np.ndarray:
        """(n, 85) uint8 states of n sampled formulas (temperatures default to the config's)."""
        t_element = element_temperature or self.config["element_temperature"]
        t_count = count_temperature or self.config["count_temperature"]
        out = [
            self._sample(min(batch, n - start), generator, t_element, t_count)
            for start in range(0, n, batch)
        ]
        return np.concatenate(out) if out else np.zeros((0, N_ELEMENTS), np.uint8)

    def _sample(self, size, generator, t_element, t_count) -> np.ndarray:
        rows = torch.arange(size)
        sequence = torch.full((size, 1), self.START)
        last_rank = torch.full((size,), -1)
        ended = torch.zeros(size, dtype=torch.bool)
        states = torch.zeros(size, N_ELEMENTS, dtype=torch.uint8)
        for step in range(MAX_TOKENS):
            log_p = torch.log_softmax(self(sequence)[:, -1].float(), -1)
            counts = log_p[:, 1:].view(size, N_ELEMENTS, MAX_COUNT)
            choice = torch.cat([log_p[:, :1], torch.logsumexp(counts, -1)], 1)  # END, elements
            # END after at least one element; elements later in the order, up to 8
            later = (self.element_rank > last_rank[:, None]) & (step < MAX_TOKENS - 1)
            allowed = torch.cat([torch.full((size, 1), step > 0), later], 1)
            choice = torch.multinomial(
                torch.softmax(choice.masked_fill(~allowed, -torch.inf) / t_element, -1),
                1,
                generator=generator,
            )[:, 0]
            element = (choice - 1).clamp_min(0)
            count = torch.multinomial(
                torch.softmax(counts[rows, element] / t_count, -1), 1, generator=generator
            )[:, 0]
            ended |= choice == 0
            if ended.all():
                break
            live = ~ended
            states[rows[live], element[live]] = (count[live] + 1).to(torch.uint8)
            last_rank = torch.where(live, self.element_rank[element], last_rank)
            token = torch.where(live, 1 + element * MAX_COUNT + count, END)
            sequence = torch.cat([sequence, token[:, None]], 1)
        return states.numpy()
