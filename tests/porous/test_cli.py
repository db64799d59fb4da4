"""The ``matinverse porous`` command as other tools call it: real subprocesses, exit codes."""

import numpy as np
import pytest

from matinverse.porous import LatticeDFT


@pytest.fixture(scope="module")
def grids():
    rng = np.random.default_rng(3)
    g = (rng.random((5, 8, 8)) < 0.7).astype(np.int64)
    g[:, 0, 0] = 1
    return g


def test_simulate_writes_the_contract(run, tmp_path, grids):
    np.save(tmp_path / "g.npy", grids.astype(bool))
    proc = run(
        "porous", "simulate", tmp_path / "g.npy", "--out", tmp_path / "r.npz", "--desorption"
    )
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "r.npz") as f:
        assert set(f.files) == {"relative_pressure", "adsorption", "desorption"}
        np.testing.assert_allclose(f["relative_pressure"], np.linspace(0, 1, 41))
        expected = LatticeDFT().simulate(grids, desorption=True)
        np.testing.assert_array_equal(f["adsorption"], expected.adsorption)
        np.testing.assert_array_equal(f["desorption"], expected.desorption)


def test_simulate_without_desorption_and_jacobi_method(run, tmp_path, grids):
    np.save(tmp_path / "g.npy", grids)
    out = tmp_path / "r.npz"
    proc = run("porous", "simulate", tmp_path / "g.npy", "--out", out, "--method", "jacobi")
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as f:
        assert set(f.files) == {"relative_pressure", "adsorption"}
        expected = LatticeDFT(method="jacobi").simulate(grids).adsorption
        np.testing.assert_array_equal(f["adsorption"], expected)


BAD_INPUTS = {
    "no pore": (np.zeros((2, 6, 6), np.int64), "no pore site"),
    "value 2": (np.full((1, 6, 6), 2), "0 (solid) or 1 (pore)"),
    "non-square": (np.ones((1, 6, 5), np.int64), "square"),
    "nan": (np.full((1, 6, 6), np.nan), "NaN"),
    "2 dims wrong": (np.ones(6), "shape"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_grids_exit_2_with_one_line_and_no_output(run, tmp_path, case):
    array, words = BAD_INPUTS[case]
    np.save(tmp_path / "g.npy", array)
    out = tmp_path / "r.npz"
    proc = run("porous", "simulate", tmp_path / "g.npy", "--out", out)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "g.npy"]


def test_missing_and_unreadable_files_exit_2(run, tmp_path):
    proc = run("porous", "simulate", tmp_path / "missing.npy", "--out", tmp_path / "r.npz")
    assert proc.returncode == 2 and "not found" in proc.stderr
    (tmp_path / "junk.npy").write_text("not an array")
    proc = run("porous", "simulate", tmp_path / "junk.npy", "--out", tmp_path / "r.npz")
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.npz").exists()


def test_usage_error_exits_2(run):
    assert run("porous", "simulate").returncode == 2


def test_dataset_and_plot(run, tmp_path):
    out = tmp_path / "ds"
    proc = run("porous", "dataset", "--n", 12, "--out", out, "--chunk-size", 6, "--size", 8)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "ds.png"
    proc = run("porous", "plot", out, "--out", png, "--n", 3)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # re-running the finished dataset is a no-op resume, not an error
    proc = run("porous", "dataset", "--n", 12, "--out", out, "--chunk-size", 6, "--size", 8)
    assert proc.returncode == 0, proc.stderr
    proc = run("porous", "dataset", "--n", 13, "--out", out, "--chunk-size", 6, "--size", 8)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_plot_from_grids_file(run, tmp_path, grids):
    np.save(tmp_path / "g.npy", grids)
    proc = run("porous", "plot", tmp_path / "g.npy", "--out", tmp_path / "g.png", "--n", 2)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "g.png").stat().st_size > 1000
