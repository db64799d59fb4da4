"""Refinement over binary designs: steepest descent over single flips, binary particle
swarm and random search, each ranking moves with a surrogate and confirming them with
the exact oracle."""

from matinverse.optimize.binary import (
    BinaryObjective,
    VerifiedPool,
    binary_swarm,
    flipped,
    random_search,
    steepest_descent,
)

__all__ = [
    "BinaryObjective",
    "VerifiedPool",
    "binary_swarm",
    "flipped",
    "random_search",
    "steepest_descent",
]
