import numpy as np
import pytest

from matinverse.compositions.features import (
    DESCRIPTORS,
    PROPERTY_ELEMENTS,
    descriptor_names,
    descriptor_statistics,
    element_descriptors,
    fractions,
    raw_element_descriptors,
)


def test_fractions_are_atomic_fractions_in_atomic_number_order():
    frac, reasons = fractions(["Fe2O3", "O3Fe2", "Fe0.4O0.6", "KrF2"])
    assert reasons == ["", "", "", ""]
    assert len(PROPERTY_ELEMENTS) == 86 and PROPERTY_ELEMENTS[:3] == ("H", "Li", "Be")
    fe, o = PROPERTY_ELEMENTS.index("Fe"), PROPERTY_ELEMENTS.index("O")
    np.testing.assert_allclose(frac[0, [fe, o]], [0.4, 0.6], rtol=1e-6)
    np.testing.assert_array_equal(frac[0], frac[1])  # order of writing does not matter
    np.testing.assert_allclose(frac[0], frac[2], rtol=1e-6)
    np.testing.assert_allclose(frac.sum(1), 1, rtol=1e-6)


def test_fractions_give_a_reason_for_each_bad_formula():
    frac, reasons = fractions(["NaCl", "Xx2O", "HeO", "", "Na(Cl"])
    assert reasons[0] == ""
    assert "unknown element 'Xx'" in reasons[1]
    assert "He is outside" in reasons[2]
    assert all(reasons[3:]) and not frac[1:].any()


def test_element_descriptors_are_pymatgen_data():
    raw = raw_element_descriptors()
    assert raw.shape == (86, len(DESCRIPTORS)) and np.isfinite(raw).all()
    row = dict(zip(DESCRIPTORS, raw[PROPERTY_ELEMENTS.index("O")], strict=True))
    assert row["Z"] == 8 and row["X"] == pytest.approx(3.44)
    assert (row["s_valence"], row["p_valence"], row["d_valence"], row["f_valence"]) == (2, 4, 0, 0)
    row = dict(zip(DESCRIPTORS, raw[PROPERTY_ELEMENTS.index("Fe")], strict=True))
    assert (row["s_valence"], row["d_valence"]) == (2, 6)
    scaled = element_descriptors()
    np.testing.assert_allclose(scaled.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.std(0), 1, rtol=1e-4)


def test_descriptor_statistics_match_a_slow_reference():
    formulas = ["Fe2O3", "NaCl", "LiFePO4", "Ta2TeZr", "CsPbI3"]
    frac, _ = fractions(formulas)
    got = descriptor_statistics(frac, chunk=2)
    raw = raw_element_descriptors()
    names = descriptor_names()
    assert got.shape == (5, len(names))
    for i in range(len(formulas)):
        present = np.flatnonzero(frac[i])
        w = frac[i, present].astype(float)
        expect = {"n_elements": len(present), "max_fraction": w.max()}
        expect["norm_2"] = np.sqrt((w**2).sum())
        for d, name in enumerate(DESCRIPTORS):
            values = raw[present, d]
            mean = (w * values).sum()
            expect[f"mean_{name}"] = mean
            expect[f"mean_abs_dev_{name}"] = (w * np.abs(values - mean)).sum()
            expect[f"range_{name}"] = values.max() - values.min()
            expect[f"min_{name}"] = values.min()
        for key, value in expect.items():
            assert got[i, names.index(key)] == pytest.approx(value, rel=1e-4, abs=1e-4), key
