"""Optimisers: refinement over binary designs (steepest descent over single flips, binary
particle swarm and random search, each ranking moves with a surrogate and confirming them
with the exact oracle) and projection of continuous designs onto a level set of a
differentiable surrogate."""

from matinverse.optimize.binary import (
    BinaryObjective,
    VerifiedPool,
    binary_swarm,
    flipped,
    random_search,
    steepest_descent,
)
from matinverse.optimize.continuous import solve_level_set

__all__ = [
    "BinaryObjective",
    "VerifiedPool",
    "binary_swarm",
    "flipped",
    "random_search",
    "solve_level_set",
    "steepest_descent",
]
