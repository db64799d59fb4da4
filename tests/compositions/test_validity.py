import numpy as np

from matinverse.compositions.validity import HEADLINE, MAX_ELEMENTS, SMACT_DEFAULT, validity


def test_charge_neutrality_and_electronegativity():
    # NaCl, Fe2O3, CaTiO3 balance with common oxidation states; NaCl2 cannot
    got = validity(["NaCl", "Fe2O3", "CaTiO3", "NaCl2", None], HEADLINE)
    assert got.tolist() == [True, True, True, False, False]


def test_settings_differ_on_alloys():
    # an intermetallic has no charge-balanced assignment: only the alloy shortcut accepts it
    assert validity(["CuZn"], HEADLINE).tolist() == [False]
    assert validity(["CuZn"], SMACT_DEFAULT).tolist() == [True]
    assert HEADLINE.describe() == {
        "name": "headline",
        "use_pauling_test": True,
        "include_alloys": False,
        "oxidation_states_set": "smact14",
    }


def test_many_elements_count_invalid_and_duplicates_checked_once(monkeypatch):
    from matinverse.compositions import validity as module

    many = "".join(f"{e}1" for e in "Li Na K Mg Ca Fe O S Cl".split())
    assert len("Li Na K Mg Ca Fe O S Cl".split()) > MAX_ELEMENTS
    calls = []
    real = module.smact_validity
    monkeypatch.setattr(module, "smact_validity", lambda *a, **k: calls.append(a) or real(*a, **k))
    got = validity(["NaCl"] * 50 + [many], HEADLINE)
    assert got.sum() == 50 and not got[-1]
    assert len(calls) == 1
    assert got.dtype == np.bool_
