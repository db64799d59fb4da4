"""Neural-network building blocks shared by the design problems."""

from matinverse.nn.layers import EnsembleLinear, PeriodicConv2d, mlp, straight_through_binary
from matinverse.nn.losses import censored_l1, gradient_penalty, mmd_multiscale
from matinverse.nn.saving import SaveableModule, load_model

__all__ = [
    "EnsembleLinear",
    "PeriodicConv2d",
    "SaveableModule",
    "censored_l1",
    "gradient_penalty",
    "load_model",
    "mlp",
    "mmd_multiscale",
    "straight_through_binary",
]
