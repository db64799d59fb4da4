import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.strain.data import BANDGAP_RANGE, FOLDS, fold_split, load_mos2, read_csv_matrix


def test_table_is_read_and_duplicates_merged(mos2):
    data, report = mos2
    assert report["rows"] == 10798 and report["merged_duplicates"] == 368
    assert len(data) == 10430 and data.x.shape == (10430, 7)
    assert len(np.unique(data.x, axis=0)) == len(data)
    assert data.bandgap.min() == BANDGAP_RANGE[0] and data.bandgap.max() == BANDGAP_RANGE[1]
    assert 0.6 < data.metallic.mean() < 0.68
    # a, b within +-20 % of 3.16 angstrom; the field within -1..1
    assert 2.52 < data.x[:, 0].min() and data.x[:, 0].max() < 3.80
    assert -1 <= data.x[:, 6].min() and data.x[:, 6].max() <= 1


def test_folds_are_disjoint_halves_each_the_others_test_set(mos2):
    data, _ = mos2
    splits = {fold: fold_split(data, fold) for fold in FOLDS}
    design, judge = splits["design"], splits["judge"]
    own = np.concatenate([design.train.x, design.val.x])
    np.testing.assert_array_equal(np.sort(own, axis=0), np.sort(judge.test.x, axis=0))
    assert len(own) + len(design.test) == len(data)
    assert not {tuple(r) for r in own} & {tuple(r) for r in design.test.x}
    assert abs(len(design.val) - 0.1 * len(own)) <= 1
    # fixed: the same split every time
    np.testing.assert_array_equal(fold_split(data, "design").val.x, design.val.x)
    with pytest.raises(InputError, match="fold"):
        fold_split(data, "other")


def test_loader_reads_a_local_root_and_refuses_a_bad_table(tmp_path, shared_data):
    root = tmp_path / "root"
    (root / "mos2").mkdir(parents=True)
    for name in ("data_x.csv", "data_y.csv"):
        lines = (shared_data / "mos2" / name).read_bytes().splitlines()[:5]
        (root / "mos2" / name).write_bytes(b"\r\n".join(lines))
    data, report = load_mos2(root)
    assert report["rows"] == 5 and data.x.shape == (5, 7)
    (root / "mos2" / "data_y.csv").write_text("0.1\nabc\n0\n0\n0\n")
    with pytest.raises(InputError, match="numeric"):
        load_mos2(root)
    (root / "mos2" / "data_y.csv").write_text("0.1\n0\n")
    with pytest.raises(InputError, match="rows"):
        load_mos2(root)
    with pytest.raises(InputError, match="7 numeric columns"):
        read_csv_matrix(root / "mos2" / "data_y.csv", 7)
