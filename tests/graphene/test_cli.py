import csv

import numpy as np
import pytest


def test_energy_command_writes_energies_and_exports(run, tmp_path):
    from ase.io import read

    sheets = np.zeros((3, 14, 16), np.uint8)
    sheets[1, 2, 2] = 1
    sheets[2, 5:8, 5:8] = 3
    np.save(tmp_path / "s.npy", sheets)
    out, export = tmp_path / "e.csv", tmp_path / "s.xyz"
    result = run("graphene", "energy", tmp_path / "s.npy", "--out", out, "--export", export)
    assert result.returncode == 0, result.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["carbons"]) for r in rows] == [448, 447, 430]
    energies = [float(r["energy_eV"]) for r in rows]
    assert energies[0] == pytest.approx(0, abs=1e-5) and energies[1] == pytest.approx(7.7, abs=0.05)
    area = 14 * 16 * 2.46**2 * np.sqrt(3) / 2
    assert float(rows[2]["density_eV_per_A2"]) == pytest.approx(energies[2] / area, rel=1e-5)
    frames = read(export, index=":")
    assert [len(f) for f in frames] == [448, 447, 430]
    assert frames[1].info["energy_eV"] == pytest.approx(energies[1], abs=1e-5)
    assert list(frames[0].pbc) == [True, True, False]
    np.testing.assert_allclose(frames[0].cell.lengths()[:2], [14 * 2.46, 16 * 2.46])
    # one sheet to CIF
    np.save(tmp_path / "one.npy", sheets[1])
    result = run("graphene", "energy", tmp_path / "one.npy", "--export", tmp_path / "one.cif")
    assert result.returncode == 0 and len(read(tmp_path / "one.cif")) == 447
    assert result.stdout.splitlines()[0] == "sheet,carbons,energy_eV,density_eV_per_A2"


@pytest.mark.parametrize(
    "array, args, message",
    [
        (np.full((2, 4, 4), 7), (), "0..3"),
        (np.zeros((2, 4, 4), np.uint8), ("--out", "e.txt"), ".csv"),
        (np.zeros((2, 4, 4), np.uint8), ("--export", "s.pdb"), ".xyz, .extxyz or .cif"),
        (np.zeros((2, 4, 4), np.uint8), ("--export", "s.cif"), "one sheet"),
        (None, (), "file not found"),
    ],
)
def test_energy_command_bad_input(run, tmp_path, array, args, message):
    path = tmp_path / "s.npy"
    if array is not None:
        np.save(path, array)
    result = run("graphene", "energy", path, *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == (["s.npy"] if array is not None else [])


def test_train_then_generate_at_two_scales(run, tmp_path, assert_finished_run):
    from ase.io import read

    from matinverse.graphene.dataset import generate_sheet_dataset
    from matinverse.nn import load_model

    generate_sheet_dataset(tmp_path / "d", 64, seed=0, chunk_size=32, nx=6, ny=8)
    model = tmp_path / "g.pt"
    small = ["--epochs", 1, "--steps", 12, "--batch-size", 16, "--width", 8, "--blocks", 2]
    result = run("graphene", "train", "--data", tmp_path / "d", "--out", model, *small)
    assert result.returncode == 0, result.stderr
    assert "oracle check" in result.stdout and model.exists()
    assert assert_finished_run(model, "graphene train", 1)["data"]["sheets"] == 64
    for scale in (1, 2):
        args = ["--n", 130, "--scale", scale]
        result = run("graphene", "calibrate", model, "--data", tmp_path / "d", *args)
        assert result.returncode == 0 and "KS" in result.stdout, result.stderr
    calibrated = load_model(model)
    assert sorted(calibrated.config["calibration"]) == ["1", "2"]
    assert len(calibrated.metadata["calibrations"]) == 2 and calibrated.metadata["history"]
    result = run("graphene", "calibrate", tmp_path / "none.pt", "--data", tmp_path / "d")
    assert result.returncode == 2 and "not found" in result.stderr
    for scale in (1, 2):
        out = tmp_path / f"k{scale}"
        args = ["--density", 0.1, "--n", 6, "--scale", scale, "--out", out, "--model", model]
        result = run("graphene", "generate", *args, "--export", 2, "--candidates", 3)
        assert result.returncode == 0, result.stderr
        sheets = np.load(out / "sheets.npy")
        assert sheets.shape == (6, 6 * scale, 8 * scale) and sheets.max() <= 3
        with open(out / "energies.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 6 and float(rows[0]["requested_density"]) == 0.1
        frame = read(out / "sheet-001.xyz")
        assert frame.info["oracle_density"] == pytest.approx(float(rows[1]["oracle_density"]))
        assert not (out / "sheet-002.xyz").exists()
    for bad, message in (
        (["--density", 5.0], "outside the training data's range"),
        (["--density", 0.1, "--scale", 0], "--scale"),
        (["--density", 0.1, "--n", 0], "--n"),
    ):
        args = ["--n", 2, *bad] if "--n" not in bad else bad
        result = run("graphene", "generate", *args, "--out", tmp_path / "bad", "--model", model)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert not (tmp_path / "bad").exists()


def test_shipped_generator_hits_requests(run, tmp_path):
    """The shipped, calibrated generator with generate's defaults: sheets of the training
    size whose oracle density lies near the request (bench MAE 0.0036 eV/A^2)."""
    for density in (0.03, 0.09):
        out = tmp_path / f"d{density}"
        result = run("graphene", "generate", "--density", density, "--n", 16, "--out", out)
        assert result.returncode == 0, result.stderr
        assert np.load(out / "sheets.npy").shape == (16, 14, 16)
        with open(out / "energies.csv", newline="") as f:
            achieved = np.array([float(r["oracle_density"]) for r in csv.DictReader(f)])
        assert np.abs(achieved - density).mean() < 0.01
