import numpy as np
import pytest
import torch

from matinverse.compositions.encoding import (
    ELEMENTS,
    END,
    MAX_COUNT,
    decode,
    encode,
    encode_one,
    one_hot,
    parse,
    tokens,
)
from matinverse.errors import InputError


def test_element_list_is_85_elements_in_atomic_order():
    from pymatgen.core import Element

    numbers = [Element(e).Z for e in ELEMENTS]
    assert len(ELEMENTS) == 85 == len(set(ELEMENTS))
    assert numbers == sorted(numbers) and "Kr" not in ELEMENTS


def test_states_hold_reduced_counts_and_round_trip():
    states, reason = encode_one("Fe2P2O8Li2")  # LiFePO4 x 2
    assert reason == ""
    assert {ELEMENTS[i]: int(states[i]) for i in np.flatnonzero(states)} == {
        "Li": 1,
        "Fe": 1,
        "P": 1,
        "O": 4,
    }
    formulas = ["LiFePO4", "NaCl", "Ta2TeZr", "Cu", "Si2Ba16"]
    states, kept, skipped = encode(formulas)
    assert kept.tolist() == [0, 1, 2, 3, 4] and skipped == []
    assert decode(states) == ["LiFePO4", "NaCl", "ZrTa2Te", "Cu", "Ba8Si"]


def test_formulas_that_do_not_fit_are_reported():
    states, kept, skipped = encode(["NaCl", "KrF2", "Se11Ba4", "Fe0.5O0.5", "H2O"])
    assert kept.tolist() == [0, 3, 4]  # Fe0.5O0.5 reduces to FeO
    assert [s.split(":")[0] for s in skipped] == ["KrF2", "Se11Ba4"]
    assert "Kr not in the element list" in skipped[0] and "count 11" in skipped[1]
    assert decode(encode(["Fe1.5O"])[0]) == ["Fe3O2"]
    with pytest.raises(InputError, match="cannot parse"):
        parse("Na(Cl")
    with pytest.raises(InputError, match="unknown element"):
        parse("Xx3Q")


def test_one_hot_columns_and_empty_rows():
    states, _, _ = encode(["NaCl3"])
    m = one_hot(torch.from_numpy(states))
    assert m.shape == (1, 8, 85)
    assert m.sum().item() == 2
    assert m[0, 0, ELEMENTS.index("Na")] == 1 and m[0, 2, ELEMENTS.index("Cl")] == 1
    assert decode(np.zeros((2, 85), np.uint8)) == [None, None]


def test_tokens_list_elements_by_electronegativity_with_their_counts():
    states, _, _ = encode(["LiFePO4", "OH2", "Cu", "Ba8Si"])
    sequences = tokens(states)
    assert sequences.shape == (4, 9)

    def read(row):
        return [(ELEMENTS[(t - 1) // MAX_COUNT], (t - 1) % MAX_COUNT + 1) for t in row if t != END]

    assert read(sequences[0]) == [("Li", 1), ("Fe", 1), ("P", 1), ("O", 4)]
    assert read(sequences[1]) == [("H", 2), ("O", 1)]
    assert read(sequences[2]) == [("Cu", 1)] and (sequences[2, 1:] == END).all()
    assert read(sequences[3]) == [("Ba", 8), ("Si", 1)]
    # the order is pymatgen's formula order: the tokens spell the reduced formula
    assert ["".join(f"{e}{c if c > 1 else ''}" for e, c in read(r)) for r in sequences] == decode(
        states
    )
