from matinverse.compositions.data import data_file, load_split, load_table
from matinverse.io.datasets import sha256


def test_oqmd_splits_load_with_bad_rows_dropped(shared_data):
    table = load_table("formation_enthalpy", shared_data)
    sizes = {k: len(v.formulas) + v.dropped for k, v in table.items()}
    assert sizes == {"train": 239190, "val": 51255, "test": 51255}
    assert table["train"].dropped == 69
    assert all(abs(t) <= 5 for v in table.values() for t in v.target)
    assert not set(table["train"].formulas) & set(table["test"].formulas)


def test_local_copy_matches_the_recorded_checksum(shared_data):
    file = data_file("formation_enthalpy", "test")
    assert sha256(shared_data / file.path) == file.sha256
    assert file.url.endswith("OQMD_Formation_Enthalpy/test.csv")
    assert load_split("bandgap", "test", shared_data).dropped == 0
