"""Inverse models: band gap -> strain designs, four methods in one framework.

Every model works in standardised units (designs by ``x_mean``/``x_scale``, gaps by
``y_mean``/``y_scale``, all in its config) and has one contract:

- ``loss(x, y, generator)``: x (B, 7) and y (B, 1) standardised -> {"loss": total, terms};
- ``sample_standardized(y, generator)``: y (B, 1) standardised -> designs (B, 7);
- ``sample(bandgap, n, generator)``: n designs (n, 7) for one gap in eV, in design units
  (a, b, c in angstrom, alpha, beta, gamma in degrees, electric field).

Methods:

- ``INN`` (MatDesINNe, after Ardizzone et al. 2019): an invertible network x (7) <-> [z (6),
  y (1)] of GLOW coupling blocks and fixed random permutations (FrEIA); losses: the squared
  error of y, MMD between [z, y] and [N(0, I), y] (y gradient-stopped), and MMD in the
  backward direction between x and the network inverted at [z ~ N(0, I), y].
- ``CINN``: a conditional invertible network x (7) <-> z (7) given y (GLOW coupling blocks
  whose subnetworks also see y), trained by maximum likelihood.
- ``CVAE``: conditional variational autoencoder, Gaussian decoder with learned per-column
  scale; samples are drawn from the decoder's Gaussian at z ~ N(0, I) (its means alone
  collapse onto a few designs: 40 distinct ones for some targets).
- ``MDN``: mixture density network, p(x | y) a mixture of diagonal Gaussians.

The likelihood-trained models (cINN, cVAE, MDN) see designs with Gaussian noise of
``noise`` (standardised units) added in training: the data hold exact sub-manifolds (a block
with the field exactly 0, another with the angles exactly 90/90/120) on which a density
would otherwise collapse.
"""

import math

import numpy as np
import torch
from torch import nn

from matinverse.nn import SaveableModule, mlp, mmd_multiscale

DIMENSIONS = 7
# inverse multiquadric kernel scales (C, a) of the MMD terms (Ardizzone et al.'s defaults)
FORWARD_SCALES = ((0.2, 2.0), (1.5, 2.0), (3.0, 2.0))
BACKWARD_SCALES = ((0.2, 0.1), (0.2, 0.5), (0.2, 2.0))


class InverseModel(SaveableModule):
    """Base of the inverse models: standardisation, training noise and sampling in design
    units. Subclasses implement ``loss`` and ``sample_standardized`` and pass the
    standardisation (``x_mean``, ``x_scale``, ``y_mean``, ``y_scale``) through as keywords."""

    def __init__(
        self,
        noise: float = 0.0,
        *,
        x_mean: list[float],
        x_scale: list[float],
        y_mean: float,
        y_scale: float,
        **config,
    ):
        super().__init__(
            x_mean=list(map(float, x_mean)),
            x_scale=list(map(float, x_scale)),
            y_mean=float(y_mean),
            y_scale=float(y_scale),
            noise=noise,
            **config,
        )
        self.register_buffer("mean", torch.tensor(self.config["x_mean"]))
        self.register_buffer("scale", torch.tensor(self.config["x_scale"]))

    def standardize(self, x: torch.Tensor, bandgap: torch.Tensor):
        """Designs (B, 7) and gaps (B,) in eV -> standardised x (B, 7) and y (B, 1)."""
        y = (bandgap[:, None] - self.config["y_mean"]) / self.config["y_scale"]
        return (x - self.mean) / self.scale, y

    def loss(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> dict:
        raise NotImplementedError

    def sample_standardized(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, bandgap: float, n: int, generator: torch.Generator) -> np.ndarray:
        """(n, 7) designs drawn for the band gap ``bandgap`` (eV), in design units."""
        y = torch.full((n, 1), (bandgap - self.config["y_mean"]) / self.config["y_scale"])
        x = self.sample_standardized(y, generator)
        return (x * self.scale + self.mean).double().numpy()


def _without_global_seed(build):
    """Run ``build()`` leaving numpy's global random state as it was (FrEIA's
    PermuteRandom reseeds it)."""
    state = np.random.get_state()  # noqa: NPY002
    try:
        return build()
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _coupling_network(blocks: int, width: int, clamp: float, condition: int = 0):
    """FrEIA SequenceINN of 7 dimensions: ``blocks`` x (GLOW coupling, random permutation),
    the coupling subnetworks (two hidden layers of ``width``, last layer zeroed: each block
    starts as the identity) conditioned on a
    ``condition``-dimensional input when it is positive."""
    from FrEIA.framework import SequenceINN
    from FrEIA.modules import GLOWCouplingBlock, PermuteRandom

    def subnet(n_in: int, n_out: int) -> nn.Module:
        return mlp([n_in, width, width, n_out], zero_last=True)

    def build():
        net = SequenceINN(DIMENSIONS)
        for k in range(blocks):
            cond = {"cond": 0, "cond_shape": (condition,)} if condition else {}
            net.append(GLOWCouplingBlock, subnet_constructor=subnet, clamp=clamp, **cond)
            net.append(PermuteRandom, seed=k)
        return net

    return _without_global_seed(build)


class INN(InverseModel):
    """MatDesINNe's invertible network x <-> [z, y], ``blocks`` GLOW coupling blocks with
    subnetworks of width ``width``; loss weights of the y fit, the forward MMD on [z, y]
    and the backward MMD on x."""

    def __init__(
        self,
        noise: float = 0.0,
        blocks: int = 6,
        width: int = 128,
        clamp: float = 2.0,
        fit_weight: float = 1.0,
        forward_mmd_weight: float = 1.0,
        backward_mmd_weight: float = 100.0,
        **standardization,
    ):
        super().__init__(
            noise,
            blocks=blocks,
            width=width,
            clamp=clamp,
            fit_weight=fit_weight,
            forward_mmd_weight=forward_mmd_weight,
            backward_mmd_weight=backward_mmd_weight,
            **standardization,
        )
        self.net = _coupling_network(blocks, width, clamp)

    def loss(self, x, y, generator):
        out, _ = self.net(x)
        z_out, y_out = out[:, :-1], out[:, -1:]
        fit = (y_out - y).pow(2).sum(1).mean()
        z = torch.randn(z_out.shape, generator=generator)
        forward = mmd_multiscale(
            torch.cat([z_out, y_out.detach()], 1), torch.cat([z, y], 1), FORWARD_SCALES
        )
        backward_x, _ = self.net(torch.cat([z, y], 1), rev=True)
        backward = mmd_multiscale(backward_x, x, BACKWARD_SCALES)
        c = self.config
        total = (
            c["fit_weight"] * fit
            + c["forward_mmd_weight"] * forward
            + c["backward_mmd_weight"] * backward
        )
        return {"loss": total, "fit": fit, "mmd_forward": forward, "mmd_backward": backward}

    def sample_standardized(self, y, generator):
        z = torch.randn(len(y), DIMENSIONS - 1, generator=generator)
        x, _ = self.net(torch.cat([z, y], 1), rev=True)
        return x


class CINN(InverseModel):
    """Conditional invertible network x <-> z given y: ``blocks`` GLOW coupling blocks whose
    subnetworks (width ``width``) see y; maximum likelihood under z ~ N(0, I)."""

    def __init__(
        self,
        noise: float = 0.02,
        blocks: int = 6,
        width: int = 128,
        clamp: float = 2.0,
        **standardization,
    ):
        super().__init__(noise, blocks=blocks, width=width, clamp=clamp, **standardization)
        self.net = _coupling_network(blocks, width, clamp, condition=1)

    def loss(self, x, y, generator):
        z, log_det = self.net(x, c=[y])
        nll = (0.5 * z.pow(2).sum(1) - log_det).mean() / DIMENSIONS
        return {"loss": nll, "nll": nll}

    def sample_standardized(self, y, generator):
        z = torch.randn(len(y), DIMENSIONS, generator=generator)
        x, _ = self.net(z, c=[y], rev=True)
        return x


class CVAE(InverseModel):
    """Conditional VAE: encoder [x, y] -> q(z | x, y) (``latent`` dimensions), decoder
    [z, y] -> mean of x with a learned scale per column; MLPs of ``depth`` hidden layers
    of ``width``; the KL term weighted by ``beta``."""

    def __init__(
        self,
        noise: float = 0.02,
        latent: int = 4,
        width: int = 128,
        depth: int = 3,
        beta: float = 1.0,
        **standardization,
    ):
        super().__init__(
            noise,
            latent=latent,
            width=width,
            depth=depth,
            beta=beta,
            **standardization,
        )
        self.encoder = mlp([DIMENSIONS + 1] + [width] * depth + [2 * latent])
        self.decoder = mlp([latent + 1] + [width] * depth + [DIMENSIONS])
        self.log_scale = nn.Parameter(torch.full((DIMENSIONS,), math.log(0.3)))

    def loss(self, x, y, generator):
        mu, log_var = self.encoder(torch.cat([x, y], 1)).chunk(2, 1)
        eps = torch.randn(mu.shape, generator=generator)
        z = mu + (0.5 * log_var).exp() * eps
        mean = self.decoder(torch.cat([z, y], 1))
        nll = (0.5 * ((x - mean) / self.log_scale.exp()).pow(2) + self.log_scale).sum(1)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(1)
        total = (nll + self.config["beta"] * kl).mean() / DIMENSIONS
        return {"loss": total, "reconstruction": nll.mean(), "kl": kl.mean()}

    def sample_standardized(self, y, generator):
        z = torch.randn(len(y), self.config["latent"], generator=generator)
        mean = self.decoder(torch.cat([z, y], 1))
        return mean + self.log_scale.exp() * torch.randn(mean.shape, generator=generator)


# smallest standard deviation of a mixture component, standardised units
MIN_LOG_SCALE = math.log(1e-3)


class MDN(InverseModel):
    """Mixture density network: y -> ``components`` diagonal Gaussians over x (weights,
    means, scales) by an MLP of ``depth`` hidden layers of ``width``."""

    def __init__(
        self,
        noise: float = 0.02,
        components: int = 16,
        width: int = 128,
        depth: int = 3,
        **standardization,
    ):
        super().__init__(
            noise,
            components=components,
            width=width,
            depth=depth,
            **standardization,
        )
        self.net = mlp([1] + [width] * depth + [components * (1 + 2 * DIMENSIONS)])

    def mixture(self, y: torch.Tensor):
        """y (B, 1) -> log weights (B, K), means (B, K, 7), log scales (B, K, 7)."""
        k = self.config["components"]
        out = self.net(y)
        logits, rest = out[:, :k], out[:, k:].view(len(y), k, 2 * DIMENSIONS)
        mean, log_scale = rest.chunk(2, -1)
        return logits.log_softmax(1), mean, log_scale.clamp_min(MIN_LOG_SCALE)

    def loss(self, x, y, generator):
        log_weight, mean, log_scale = self.mixture(y)
        z = (x[:, None, :] - mean) / log_scale.exp()
        log_normal = (-0.5 * z.pow(2) - log_scale - 0.5 * math.log(2 * math.pi)).sum(-1)
        nll = -(log_weight + log_normal).logsumexp(1).mean() / DIMENSIONS
        return {"loss": nll, "nll": nll}

    def sample_standardized(self, y, generator):
        log_weight, mean, log_scale = self.mixture(y)
        pick = torch.multinomial(log_weight.exp(), 1, generator=generator)[:, 0]
        rows = torch.arange(len(y))
        eps = torch.randn(len(y), DIMENSIONS, generator=generator)
        return mean[rows, pick] + log_scale[rows, pick].exp() * eps


METHODS = {"inn": INN, "cinn": CINN, "cvae": CVAE, "mdn": MDN}
