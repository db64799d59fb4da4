"""Chemical validity of formulas by SMACT: charge neutrality and Pauling electronegativity.

The verdict depends on SMACT's settings, so every report names the setting it used:

- ``headline``: oxidation states of SMACT's 2014 set (``smact14``), the Pauling test on,
  no all-metal (alloy) shortcut: the setting closest to MatGAN's own check;
- ``smact-default``: ``smact_validity``'s defaults (ICSD-24 oxidation states filtered by
  consensus, Pauling test on, alloys accepted).

SMACT enumerates every combination of oxidation states, which grows exponentially with the
number of elements; formulas of more than MAX_ELEMENTS distinct elements (OQMD has none above
7) are counted invalid without that enumeration.
"""

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
from pymatgen.core import Composition
from smact.screening import smact_validity

MAX_ELEMENTS = 8


@dataclass(frozen=True)
class ValiditySetting:
    """Arguments of ``smact.screening.smact_validity`` under a name."""

    name: str
    use_pauling_test: bool = True
    include_alloys: bool = True
    oxidation_states_set: str | None = None

    def describe(self) -> dict:
        return asdict(self)


HEADLINE = ValiditySetting("headline", True, False, "smact14")
SMACT_DEFAULT = ValiditySetting("smact-default")
SETTINGS = (HEADLINE, SMACT_DEFAULT)


def is_valid(formula: str, setting: ValiditySetting = HEADLINE) -> bool:
    """SMACT verdict for one formula (any string pymatgen parses); False above
    MAX_ELEMENTS elements."""
    if len(Composition(formula)) > MAX_ELEMENTS:
        return False
    return bool(
        smact_validity(
            formula,
            use_pauling_test=setting.use_pauling_test,
            include_alloys=setting.include_alloys,
            oxidation_states_set=setting.oxidation_states_set,
        )
    )


def validity(
    formulas: Iterable[str | None],
    setting: ValiditySetting = HEADLINE,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(N,) bool verdicts; each distinct formula is checked once; None (nothing) is invalid."""
    formulas = list(formulas)
    distinct = sorted({f for f in formulas if f is not None})
    verdict = {}
    for i, formula in enumerate(distinct):
        verdict[formula] = is_valid(formula, setting)
        if progress is not None and ((i + 1) % 1000 == 0 or i + 1 == len(distinct)):
            progress(i + 1, len(distinct))
    return np.array([f is not None and verdict[f] for f in formulas], bool)
