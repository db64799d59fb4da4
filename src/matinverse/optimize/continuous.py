"""Moving points of a box onto a level set of a differentiable function."""

from collections.abc import Callable

import torch


def solve_level_set(
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    target: float,
    lower: torch.Tensor,
    upper: torch.Tensor,
    steps: int = 30,
    max_step: float = 0.25,
    tolerance: float = 1e-4,
) -> torch.Tensor:
    """Move each row of x0 (B, D) towards f(x) = ``target`` inside the box [lower, upper]
    (D,), where f maps (B, D) to (B,) row by row.

    Each step is the smallest move that solves the linearised equation (a Gauss-Newton step
    on (f - target)^2: -(f - target) grad / |grad|^2), over the coordinates that are not
    pinned at a bound the step would cross, its length capped at ``max_step``, then
    projected onto the box. A row stops moving once |f - target| <= ``tolerance``.
    Returns the points (B, D), detached."""
    x = x0.detach().clone()
    for _ in range(steps):
        x.requires_grad_(True)
        value = f(x)
        (grad,) = torch.autograd.grad(value.sum(), x)
        x = x.detach()
        residual = (value.detach() - target)[:, None]
        direction = -residual * grad
        pinned = ((x <= lower) & (direction < 0)) | ((x >= upper) & (direction > 0))
        grad = grad.masked_fill(pinned, 0.0)
        move = -residual * grad / grad.pow(2).sum(1, keepdim=True).clamp_min(1e-12)
        length = move.norm(dim=1, keepdim=True)
        move = move * (max_step / length.clamp_min(max_step))
        move = move.masked_fill(residual.abs() <= tolerance, 0.0)
        x = torch.minimum(torch.maximum(x + move, lower), upper)
    return x
