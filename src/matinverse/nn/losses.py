"""Losses shared by the design problems: maximum mean discrepancy, a censored L1 and the
WGAN-GP gradient penalty."""

from collections.abc import Callable

import torch


def mmd_multiscale(
    x: torch.Tensor, y: torch.Tensor, scales: tuple[tuple[float, float], ...]
) -> torch.Tensor:
    """Biased estimate of the squared maximum mean discrepancy between samples x (B, D) and
    y (M, D) under a sum of inverse multiquadric kernels, as in Ardizzone et al. (2019):
    k(d2) = sum over (C, a) in ``scales`` of C^a ((C + d2) / a)^-a, d2 the squared
    Euclidean distance. Returns a scalar."""
    xx, yy, xy = x @ x.T, y @ y.T, x @ y.T
    rx, ry = xx.diag(), yy.diag()
    distances = (
        (rx[:, None] + rx[None, :] - 2 * xx).clamp_min(0),
        (ry[:, None] + ry[None, :] - 2 * yy).clamp_min(0),
        (rx[:, None] + ry[None, :] - 2 * xy).clamp_min(0),
    )
    kxx, kyy, kxy = (sum(c**a * ((c + d2) / a) ** -a for c, a in scales).mean() for d2 in distances)
    return kxx + kyy - 2 * kxy


def censored_l1(prediction: torch.Tensor, target: torch.Tensor, floor: float = 0.0):
    """Mean absolute error for targets above ``floor``; a target at the floor (a metal's
    zero band gap) only says that the true value is at most the floor, so a prediction
    below it costs nothing and one above costs its excess. Same shapes; returns the mean."""
    excess = (prediction - floor).clamp_min(0)
    return torch.where(target > floor, (prediction - target).abs(), excess).mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    gen: torch.Generator,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): mean (||grad critic(x_hat)||_2 - 1)^2 on
    random interpolates x_hat of ``real`` and ``fake`` (B, ...), one mixing weight per
    sample."""
    alpha = torch.rand(real.shape[0], *[1] * (real.dim() - 1), generator=gen)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
