import numpy as np
import pytest

from matinverse.errors import InputError
from matinverse.graphene.dataset import generate_sheet_dataset, load_sheet_dataset
from matinverse.graphene.lattice import sheet_area
from matinverse.graphene.oracle import HueckelOracle
from matinverse.graphene.sheets import random_sheets


def test_random_sheets_have_holes_of_many_sizes():
    sheets = random_sheets(200, np.random.default_rng(0), 14, 16)
    vacant = (sheets == 1).sum((1, 2)) + (sheets == 2).sum((1, 2)) + 2 * (sheets == 3).sum((1, 2))
    assert sheets.dtype == np.uint8 and sheets.shape == (200, 14, 16) and sheets.max() <= 3
    assert vacant.min() == 0 and 1 in vacant and vacant.max() > 100
    assert np.percentile(vacant, 50) > 10
    with pytest.raises(InputError):
        random_sheets(1, np.random.default_rng(0), 1, 16)


def test_dataset_holds_oracle_energies_and_resumes(tmp_path, run):
    out = tmp_path / "sheets"
    first = generate_sheet_dataset(out, 10, seed=3, chunk_size=4, nx=6, ny=5)
    assert (first.done, first.computed) == (10, 10)
    data = load_sheet_dataset(out)
    assert data.sheets.shape == (10, 6, 5) and list(data.index) == list(range(10))
    np.testing.assert_allclose(data.energy, HueckelOracle().energies(data.sheets), atol=1e-9)
    np.testing.assert_allclose(data.density, data.energy / sheet_area(6, 5))
    again = generate_sheet_dataset(out, 10, seed=3, chunk_size=4, nx=6, ny=5)
    assert (again.computed, again.resumed) == (0, 10)
    with pytest.raises(InputError, match="other settings"):
        generate_sheet_dataset(out, 10, seed=4, chunk_size=4, nx=6, ny=5)
    # the command line makes the same data
    result = run(
        "graphene",
        "dataset",
        "--n",
        10,
        "--seed",
        3,
        "--chunk-size",
        4,
        "--nx",
        6,
        "--ny",
        5,
        "--out",
        tmp_path / "cli",
        "--workers",
        2,
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(load_sheet_dataset(tmp_path / "cli").sheets, data.sheets)
