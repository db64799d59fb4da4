"""Neural-network building blocks shared by the design problems."""

from matinverse.nn.layers import PeriodicConv2d, straight_through_binary
from matinverse.nn.saving import SaveableModule, load_model

__all__ = ["PeriodicConv2d", "SaveableModule", "load_model", "straight_through_binary"]
