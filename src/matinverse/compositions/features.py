"""Inputs of the composition property models: element fractions and descriptors.

- ``fractions``: formulas -> (N, 86) float32 atomic fractions over :data:`PROPERTY_ELEMENTS`
  (OQMD's 86 elements, atomic-number order), with the reason for each formula that cannot be
  represented (unparseable, or an element outside the list).
- ``element_descriptors``: (86, D) standardised element properties from pymatgen's element
  data (:data:`DESCRIPTORS`), the element embedding input of the attention model.
- ``descriptor_statistics``: Magpie-style composition descriptors (fraction-weighted mean,
  mean absolute deviation, minimum, maximum, range of each element property, plus
  stoichiometric norms), the input of the gradient-boosting model.
"""

import warnings
from collections.abc import Sequence
from functools import cache

import numpy as np
from pymatgen.core import Element

from matinverse.compositions.encoding import ELEMENTS, parse
from matinverse.errors import InputError

# OQMD's formation-enthalpy and band-gap tables hold these 86 elements (MatGAN's 85 + Kr).
PROPERTY_ELEMENTS = tuple(sorted((*ELEMENTS, "Kr"), key=lambda s: Element(s).Z))
_INDEX = {symbol: i for i, symbol in enumerate(PROPERTY_ELEMENTS)}

DESCRIPTORS = (
    "Z",
    "row",
    "group",
    "mendeleev_no",
    "atomic_mass",
    "X",
    "atomic_radius",
    "van_der_waals_radius",
    "average_ionic_radius",
    "molar_volume",
    "melting_point",
    "boiling_point",
    "ionization_energy",
    "electron_affinity",
    "log_thermal_conductivity",
    "s_valence",
    "p_valence",
    "d_valence",
    "f_valence",
)


def _valence(element: Element) -> dict[str, int]:
    """Electrons in the outer s and p shells, the (n-1) d and the (n-2) f shells."""
    shells = element.full_electronic_structure
    n_max = max(n for n, _, _ in shells)
    depth = {"s": 0, "p": 0, "d": 1, "f": 2}
    out = dict.fromkeys(depth, 0)
    for n, orbital, electrons in shells:
        if n >= n_max - depth[orbital]:
            out[orbital] += electrons
    return {f"{k}_valence": v for k, v in out.items()}


@cache
def raw_element_descriptors() -> np.ndarray:
    """(86, D) float64 element properties in pymatgen's units (Angstrom, K, eV, amu, ...);
    a missing value (e.g. the atomic radius of Kr and Xe) is the column median."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about missing data
        for symbol in PROPERTY_ELEMENTS:
            element = Element(symbol)
            values = _valence(element)
            for name in DESCRIPTORS:
                if name == "log_thermal_conductivity":
                    values[name] = np.log10(float(element.thermal_conductivity))
                elif name not in values:
                    value = getattr(element, name)
                    values[name] = np.nan if value is None else float(value)
            rows.append([values[name] for name in DESCRIPTORS])
    table = np.asarray(rows, np.float64)
    missing = np.isnan(table)
    table[missing] = np.take(np.nanmedian(table, axis=0), np.nonzero(missing)[1])
    return table


@cache
def element_descriptors() -> np.ndarray:
    """(86, D) float32 element properties, each column standardised to mean 0, std 1."""
    table = raw_element_descriptors()
    return ((table - table.mean(0)) / table.std(0)).astype(np.float32)


def fraction_row(formula: str) -> np.ndarray:
    """(86,) float32 atomic fractions of one formula; InputError naming the problem."""
    composition = parse(formula)
    row = np.zeros(len(PROPERTY_ELEMENTS), np.float32)
    total = composition.num_atoms
    for element, amount in composition.items():
        if element.symbol not in _INDEX:
            raise InputError(f"element {element.symbol} is outside the model's element list")
        row[_INDEX[element.symbol]] += amount / total
    return row


def fractions(formulas: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(N, 86) float32 atomic fractions and a reason per formula ("" when represented; the
    row is all zero otherwise)."""
    out = np.zeros((len(formulas), len(PROPERTY_ELEMENTS)), np.float32)
    reasons = [""] * len(formulas)
    for i, formula in enumerate(formulas):
        try:
            out[i] = fraction_row(formula)
        except InputError as err:
            reasons[i] = str(err)
    return out, reasons


STOICHIOMETRY = ("n_elements", "norm_2", "norm_3", "norm_5", "norm_10", "max_fraction")
STATISTICS = ("mean", "mean_abs_dev", "min", "max", "range")


def descriptor_names() -> list[str]:
    """Column names of :func:`descriptor_statistics`."""
    return list(STOICHIOMETRY) + [f"{s}_{d}" for d in DESCRIPTORS for s in STATISTICS]


def descriptor_statistics(frac: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """(N, 86) fractions -> (N, 6 + 5 D) float32 Magpie-style descriptors: number of elements,
    fraction p-norms (p = 2, 3, 5, 10), largest fraction, then per element property its
    fraction-weighted mean and mean absolute deviation and its minimum, maximum and range
    over the elements present (raw units)."""
    frac = np.asarray(frac, np.float64)
    out = np.empty((len(frac), len(descriptor_names())), np.float32)
    props = raw_element_descriptors()[None]  # (1, 86, D)
    for start in range(0, len(frac), chunk):
        f = frac[start : start + chunk]
        present = (f > 0)[..., None]
        mean = f @ props[0]  # (n, D)
        dev = np.einsum("ne,ned->nd", f, np.abs(props - mean[:, None]))
        low = np.where(present, props, np.inf).min(1)
        high = np.where(present, props, -np.inf).max(1)
        stats = np.stack([mean, dev, low, high, high - low], axis=1)  # (n, 5, D) -> by property
        stoich = [present[..., 0].sum(1)] + [(f**p).sum(1) ** (1 / p) for p in (2, 3, 5, 10)]
        stoich.append(f.max(1))
        out[start : start + chunk] = np.concatenate(
            [np.stack(stoich, 1), stats.transpose(0, 2, 1).reshape(len(f), -1)], axis=1
        )
    return out
