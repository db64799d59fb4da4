"""Shared tiny fixtures: a small reference dataset made in process."""

import numpy as np
import pytest

# small enough to generate in about a second; n is not a multiple of chunk_size on purpose
TINY = {"n": 45, "seed": 7, "chunk_size": 10, "size": 8}


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """load_dataset of TINY generated serially (in this process)."""
    from matinverse.porous.dataset import generate_dataset, load_dataset

    out = tmp_path_factory.mktemp("reference") / "data"
    generate_dataset(out, **TINY)
    return load_dataset(out)


@pytest.fixture
def tiny():
    """Keyword arguments of generate_dataset for the reference dataset (a fresh copy)."""
    return dict(TINY)


@pytest.fixture
def assert_same_dataset():
    def check(a, b):
        for name in ("grids", "family", "adsorption", "desorption", "relative_pressure", "index"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert a.family_names == b.family_names

    return check


@pytest.fixture(scope="session")
def run():
    """Run ``python -m matinverse ARGS...`` in a subprocess, as other tools call it."""
    import subprocess
    import sys

    def call(*args, cwd=None):
        return subprocess.run(
            [sys.executable, "-m", "matinverse", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=600,
        )

    return call


@pytest.fixture(scope="session")
def assert_finished_run():
    """Check the run folder of a finished training command that wrote ``model`` (X.pt):
    X.run/config.json names the command, metrics.jsonl holds epochs 1..``epochs`` once,
    and the checkpoint is gone."""
    import json

    def check(model, command, epochs):
        folder = model.with_suffix(".run")
        config = json.loads((folder / "config.json").read_text())
        assert command in config["command"] and config["options"]["out"] == str(model)
        assert config["processes"] == 1 and "torch" in config["versions"]
        lines = (folder / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["epoch"] for line in lines] == list(range(1, epochs + 1))
        assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metrics.jsonl"]
        return config

    return check


SHARED_DATA = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data (development and CI copy of the public data sets)."""
    if not (SHARED_DATA / "crabnet-oqmd-mp").is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: CI keeps ../shared beside the checkout")
    return SHARED_DATA
