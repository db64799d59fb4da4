"""MatGAN's count one-hot encoding of chemical formulas.

A reduced formula becomes a state per element of :data:`ELEMENTS` (0 = absent, c = c atoms
in the reduced formula, c = 1..8); the one-hot matrix is (8, 85): column e is the one-hot
of element e's count (row c - 1), an all-zero column when the element is absent.
Fractional formulas are scaled to their smallest integer formula (Fe0.5O0.5 -> FeO);
formulas with an element outside the list or a count above 8 do not fit.
"""

import math
from functools import reduce

import numpy as np
import torch
from pymatgen.core import Composition, Element

from matinverse.errors import InputError

# The 86 elements of OQMD's formation-enthalpy table less krypton (4 of 341,700 formulas),
# in order of atomic number: 85 elements, the width of MatGAN's matrix.
ELEMENTS = (
    "H Li Be B C N O F Na Mg Al Si P S Cl K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy "
    "Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Ac Th Pa U Np Pu"
).split()
MAX_COUNT = 8
N_STATES = MAX_COUNT + 1  # absent, 1..8
_INDEX = {symbol: i for i, symbol in enumerate(ELEMENTS)}

# Sequence form (the autoregressive generator's): the present elements in order of Pauling
# electronegativity, ties by atomic number (pymatgen's formula order: cations before anions),
# token 1 + 8 e + (c - 1) for element e with count c, then END (0) up to MAX_TOKENS.
END = 0
N_TOKENS = 1 + len(ELEMENTS) * MAX_COUNT
MAX_TOKENS = 9  # 8 elements at most (the encoding's widest formula), then END
SEQUENCE_RANK = np.argsort(
    np.lexsort((np.arange(len(ELEMENTS)), [Element(e).X for e in ELEMENTS]))
)  # (85,) position of each element in the sequence order


def parse(formula: str) -> Composition:
    """pymatgen Composition of a formula string; InputError naming it when malformed."""
    try:
        composition = Composition(formula)
    except Exception:  # pymatgen raises ValueError, KeyError or others on bad input
        raise InputError(f"cannot parse formula {formula!r}") from None
    if composition.num_atoms <= 0:
        raise InputError(f"formula {formula!r} has no atoms")
    unknown = [getattr(e, "symbol", str(e)) for e in composition if not isinstance(e, Element)]
    if unknown:
        raise InputError(f"formula {formula!r} has an unknown element {unknown[0]!r}")
    return composition


def encode_one(formula: str) -> tuple[np.ndarray | None, str]:
    """(85,) uint8 states of a formula, or None with the reason it does not fit."""
    composition = parse(formula)
    if any(abs(a - round(a)) > 1e-6 for a in composition.values()):
        # fractional amounts (Fe0.5O0.5): the smallest integer formula, FeO
        composition = Composition(composition.get_integer_formula_and_factor()[0])
    composition = composition.reduced_composition
    states = np.zeros(len(ELEMENTS), np.uint8)
    for element, amount in composition.items():
        symbol = element.symbol
        if symbol not in _INDEX:
            return None, f"element {symbol} not in the element list"
        count = round(amount)
        if abs(amount - count) > 1e-6:
            return None, f"fractional count {amount:g} of {symbol}"
        if count > MAX_COUNT:
            return None, f"count {count} of {symbol} above {MAX_COUNT}"
        states[_INDEX[symbol]] = count
    return states, ""


def encode(formulas) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """States (M, 85) uint8 of the formulas that fit, their indices (M,) into ``formulas``,
    and the reasons (one per formula that does not fit, "formula: reason")."""
    rows, kept, skipped = [], [], []
    for i, formula in enumerate(formulas):
        states, reason = encode_one(formula)
        if states is None:
            skipped.append(f"{formula}: {reason}")
        else:
            rows.append(states)
            kept.append(i)
    states = np.stack(rows) if rows else np.zeros((0, len(ELEMENTS)), np.uint8)
    return states, np.asarray(kept, np.int64), skipped


def one_hot(states: torch.Tensor) -> torch.Tensor:
    """(B, 85) integer states -> (B, 8, 85) float count one-hot (absent = zero column)."""
    full = torch.nn.functional.one_hot(states.long(), N_STATES).float()  # (B, 85, 9)
    return full[..., 1:].transpose(1, 2)


def tokens(states: np.ndarray) -> np.ndarray:
    """(B, 85) states -> (B, 9) int64 token sequences (sequence form above, END-padded)."""
    states = np.asarray(states)
    out = np.full((len(states), MAX_TOKENS), END, np.int64)
    rows, elements = np.nonzero(states)
    order = np.lexsort((SEQUENCE_RANK[elements], rows))
    rows, elements = rows[order], elements[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, rows)  # index within its row
    out[rows, position] = 1 + elements * MAX_COUNT + states[rows, elements].astype(np.int64) - 1
    return out


def decode(states: np.ndarray) -> list[str | None]:
    """(B, 85) states -> reduced formulas (pymatgen's reduced_formula, e.g. ``LiFePO4``);
    None for a row with no element (decodes to nothing)."""
    cache: dict[bytes, str | None] = {}
    out = []
    for row in np.asarray(states, np.uint8):
        key = row.tobytes()
        if key not in cache:
            cache[key] = _formula(row)
        out.append(cache[key])
    return out


def _formula(row: np.ndarray) -> str | None:
    present = np.flatnonzero(row)
    if present.size == 0:
        return None
    counts = [int(row[i]) for i in present]
    divisor = reduce(math.gcd, counts)
    return Composition(
        {ELEMENTS[i]: c // divisor for i, c in zip(present, counts, strict=True)}
    ).reduced_formula
