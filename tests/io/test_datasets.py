import hashlib

import pytest

from matinverse.errors import InputError
from matinverse.io import datasets
from matinverse.io.datasets import DataFile, fetch


@pytest.fixture
def origin(tmp_path, monkeypatch):
    """A file served from a file:// origin, an empty cache and no MATINVERSE_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.ENVIRONMENT_VARIABLE, raising=False)
    payload = b"formula,target\nNaCl,-2.1\n"
    src = tmp_path / "origin.csv"
    src.write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    return DataFile("set/table.csv", src.as_uri(), sha, len(payload)), payload


def test_local_copies_win_in_order(origin, tmp_path, monkeypatch):
    file, _ = origin
    for root in ("given", "env"):
        (tmp_path / root / "set").mkdir(parents=True)
        (tmp_path / root / "set" / "table.csv").write_text(root)
    monkeypatch.setenv(datasets.ENVIRONMENT_VARIABLE, str(tmp_path / "env"))
    assert fetch(file, tmp_path / "given").read_text() == "given"
    assert fetch(file).read_text() == "env"


def test_download_is_checked_and_cached(origin):
    file, payload = origin
    seen = []
    path = fetch(file, progress=lambda done, total: seen.append((done, total)))
    assert path == datasets.cache_root() / "set" / "table.csv"
    assert path.read_bytes() == payload and seen[-1] == (len(payload), len(payload))
    assert fetch(file, download=False) == path  # found in the cache next time


def test_corrupt_download_leaves_nothing(origin):
    file, _ = origin
    bad = DataFile(file.path, file.url, "0" * 64, file.size)
    with pytest.raises(InputError, match="SHA-256"):
        fetch(bad)
    assert list((datasets.cache_root() / "set").iterdir()) == []


def test_missing_file_and_folder_are_input_errors(origin, tmp_path):
    file, _ = origin
    with pytest.raises(InputError, match="not found"):
        fetch(file, download=False)
    with pytest.raises(InputError, match="does not exist"):
        fetch(file, tmp_path / "nope")
    unreachable = DataFile(file.path, (tmp_path / "gone.csv").as_uri(), file.sha256, 1)
    with pytest.raises(InputError, match="could not download"):
        fetch(unreachable)


def test_derived_lines_are_computed_once_per_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []

    def compute():
        calls.append(1)
        return ["NaCl", "Fe2O3"]

    assert datasets.cached_lines("formulas", ["sha-a"], compute) == ["NaCl", "Fe2O3"]
    assert datasets.cached_lines("formulas", ["sha-a"], compute) == ["NaCl", "Fe2O3"]
    assert len(calls) == 1  # the second call read the cache
    datasets.cached_lines("formulas", ["sha-b"], compute)
    assert len(calls) == 2  # another key is another file
    assert len(list((tmp_path / "cache" / "matinverse" / "derived").iterdir())) == 2
    with pytest.raises(ValueError):
        datasets.cached_lines("bad", ["k"], lambda: ["a\nb"])
