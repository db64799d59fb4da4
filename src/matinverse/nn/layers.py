"""Layers: periodic (torus) convolutions, straight-through binarisation, batched ensembles
of linear maps, plain MLPs."""

from collections.abc import Callable

import torch
from torch import nn


class PeriodicConv2d(nn.Conv2d):
    """2D convolution on a torus: circular padding keeps (H, W), so the layer commutes with
    every periodic translation of its (N, C, H, W) input. Odd ``kernel_size`` only."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, **kwargs):
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        dilation = kwargs.pop("dilation", 1)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            padding=dilation * (kernel_size // 2),
            padding_mode="circular",
            dilation=dilation,
            **kwargs,
        )


def straight_through_binary(logits: torch.Tensor) -> torch.Tensor:
    """0/1 values round(sigmoid(logits)) in the forward pass, the gradient of the sigmoid in
    the backward pass (the straight-through estimator)."""
    soft = torch.sigmoid(logits)
    return soft + ((logits > 0).to(soft.dtype) - soft).detach()


class EnsembleLinear(nn.Module):
    """``members`` independent linear maps evaluated as one batched product:
    (members, B, in_features) -> (members, B, out_features); a (B, in_features) input is
    shared by all members. Each member is initialised like ``nn.Linear``."""

    def __init__(self, members: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1 / in_features**0.5
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(members, 1, out_features))
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.expand(len(self.weight), *x.shape)
        return torch.baddbmm(self.bias, x, self.weight)


def mlp(
    sizes: list[int], zero_last: bool = False, activation: Callable[[], nn.Module] = nn.SiLU
) -> nn.Sequential:
    """Linear layers of ``sizes`` (input, hidden..., output) with ``activation()`` (SiLU by
    default) between them; ``zero_last`` zeroes the last layer (a coupling block then starts
    as the identity)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), activation()]
    layers.pop()
    if zero_last:
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)
