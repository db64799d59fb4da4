"""Layers: periodic (torus) convolutions and straight-through binarisation."""

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
