"""Nanoporous solids: periodic 2D grids of solid/pore cells and their adsorption isotherms."""

from matinverse.porous.simulator import Isotherms, LatticeDFT, simulate, validate_grids

__all__ = ["Isotherms", "LatticeDFT", "simulate", "validate_grids"]
