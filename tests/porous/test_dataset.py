import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

from matinverse.errors import InputError
from matinverse.io.chunked import lock_folder, unlock_folder
from matinverse.porous import LatticeDFT
from matinverse.porous.dataset import (
    GENERATOR_VERSION,
    dataset_status,
    generate_dataset,
    load_dataset,
)
from matinverse.porous.grids import FAMILIES


def markers(path):
    folder = path / "chunk_done" / "c"
    # names of the marker chunk files (a write in progress is a temporary *.partial file)
    return (
        sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit()) if folder.exists() else []
    )


def test_layout_and_second_run_equal(reference, assert_same_dataset, tiny, tmp_path):
    seen = []
    out = tmp_path / "data"
    summary = generate_dataset(out, **tiny, progress=lambda d, t: seen.append((d, t)))
    assert (summary.n, summary.done, summary.computed, summary.resumed) == (45, 45, 45, 0)
    assert seen == [(0, 45), (10, 45), (20, 45), (30, 45), (40, 45), (45, 45)]
    data = load_dataset(out)
    assert_same_dataset(data, reference)
    assert data.grids.shape == (45, 8, 8) and data.grids.dtype == np.uint8
    assert data.adsorption.shape == data.desorption.shape == (45, 41)
    np.testing.assert_array_equal(data.index, np.arange(45))
    assert np.isfinite(data.adsorption).all() and np.isfinite(data.desorption).all()
    assert data.family_names == FAMILIES

    root = zarr.open_group(out, mode="r")
    assert root["grids"].chunks == (10, 8, 8) and root["adsorption"].chunks == (10, 41)
    attrs = dict(root.attrs)
    assert attrs["generator_version"] == GENERATOR_VERSION
    assert (attrs["seed"], attrs["n"], attrs["chunk_size"], attrs["size"]) == (7, 45, 10, 8)
    assert attrs["constants"] == LatticeDFT().constants()
    assert attrs["family_names"] == list(FAMILIES) and attrs["matinverse_version"]
    assert attrs["created"]
    assert markers(out) == [0, 1, 2, 3, 4]
    assert dataset_status(out).complete

    # re-running a finished dataset computes nothing
    again = generate_dataset(out, **tiny)
    assert (again.computed, again.resumed) == (0, 45)


def test_resume_recomputes_unmarked_and_corrupt_chunks(
    reference, assert_same_dataset, tiny, tmp_path
):
    out = tmp_path / "data"
    generate_dataset(out, **tiny)
    for k in (2, 4):  # a middle chunk and the short last one: marker gone, data garbage
        (out / "chunk_done" / "c" / str(k)).unlink()
        for path in (out / "grids" / "c" / str(k)).rglob("*"):
            if path.is_file():
                path.write_bytes(b"garbage")
        (out / "adsorption" / "c" / str(k) / "0").write_bytes(b"\x00" * 7)
    (out / "desorption" / "c" / "2" / "0").unlink()
    (out / "grids" / "c" / "2" / "0" / "0.0123.partial").write_bytes(b"torn")

    status = dataset_status(out)
    assert (status.done_samples, status.total_samples, status.done_chunks) == (30, 45, 3)
    partial = load_dataset(out)
    np.testing.assert_array_equal(partial.index, np.r_[0:20, 30:40])
    np.testing.assert_array_equal(partial.grids, reference.grids[partial.index])

    summary = generate_dataset(out, **tiny)
    assert (summary.computed, summary.resumed, summary.done) == (15, 30, 45)
    assert_same_dataset(load_dataset(out), reference)
    assert not list(out.rglob("*.partial"))


KILLED_RUN = """
import sys, time
from matinverse.porous.dataset import generate_dataset
generate_dataset(sys.argv[1], n=int(sys.argv[2]), seed=int(sys.argv[3]),
                 chunk_size=int(sys.argv[4]), size=int(sys.argv[5]),
                 progress=lambda done, total: time.sleep(0.05))
"""


def test_kill_9_then_resume(reference, assert_same_dataset, tiny, tmp_path):
    out = tmp_path / "data"
    args = [str(tiny[k]) for k in ("n", "seed", "chunk_size", "size")]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(out), *args])
    try:
        deadline = time.monotonic() + 120
        while not markers(out):
            assert proc.poll() is None, "generation ended before writing a chunk"
            assert time.monotonic() < deadline, "no chunk written in 120 s"
            time.sleep(0.002)
        time.sleep(0.07)  # into the next chunk
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = markers(out)
    assert 1 <= len(before) < 5, before

    summary = generate_dataset(out, **tiny)
    assert summary.resumed == 10 * len(before) and summary.done == 45
    data = load_dataset(out)
    assert_same_dataset(data, reference)
    np.testing.assert_array_equal(data.index, np.arange(45))  # every sample once, in order
    assert markers(out) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "change",
    [
        {"n": 50},
        {"seed": 8},
        {"chunk_size": 5},
        {"size": 10},
        {"desorption": False},
        {"families": ["slits"]},
        {"model": LatticeDFT(temperature=300.0)},
    ],
)
def test_mismatch_raises(change, tiny, tmp_path):
    out = tmp_path / "data"
    generate_dataset(out, **{**tiny, "n": 20})
    before = load_dataset(out)
    with pytest.raises(InputError, match="other settings"):
        generate_dataset(out, **{**tiny, "n": 20, **change})
    np.testing.assert_array_equal(load_dataset(out).adsorption, before.adsorption)


def test_bad_folders_and_arguments(tiny, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="not empty"):
        generate_dataset(tmp_path / "other", **tiny)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        generate_dataset(tmp_path / "file", **tiny)
    zarr.open_group(tmp_path / "foreign", mode="w", attributes={"a": 1})
    with pytest.raises(InputError, match="not a matinverse"):
        generate_dataset(tmp_path / "foreign", **tiny)
    with pytest.raises(InputError):
        load_dataset(tmp_path / "missing")
    for bad in ({"n": 0}, {"chunk_size": 0}, {"seed": -1}, {"size": 2}, {"n": 1.5}):
        with pytest.raises(InputError):
            generate_dataset(tmp_path / "bad", **{**tiny, **bad})


def test_folder_in_use_is_refused(tiny, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    fd = lock_folder(out)
    try:
        with pytest.raises(InputError, match="another running process"):
            generate_dataset(out, **tiny)
    finally:
        unlock_folder(fd)
    assert generate_dataset(out, **{**tiny, "n": 5}).done == 5
