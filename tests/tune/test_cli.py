"""``matinverse tune``: bad requests are one-line errors with exit status 2 (in process)."""

import sys

import pytest

from matinverse.cli import main


def tune(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run ``matinverse tune ARGS`` in this process: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["matinverse", "tune", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize(
    "args, message",
    [
        (["porous", "generator", "--trials", 2], "no tunable model 'porous' 'generator'"),
        (["alloys", "predictor", "--trials", 2], "no tunable model 'alloys'"),
        (["porous", "predictor", "--trials", 0], "--trials must be at least 1"),
        (["porous", "predictor", "--trials", 2, "--sampler", "cmaes"], "--sampler must be"),
        (["porous", "predictor", "--trials", 2], "porous predictor needs --data-dir"),
        (["strain", "surrogate", "--trials", 2, "--data-dir", "nowhere"], "is not a folder"),
        (["strain", "surrogate", "--trials", 2, "--steps", 0], "--steps must be at least 1"),
        (["porous", "predictor", "--trials", 2, "--members", 3], "takes no --members"),
        (["strain", "surrogate", "--trials", 2, "--storage", "sqlite:///t.db"], "SQLite"),
        (["strain", "surrogate", "--trials", 2, "--storage", "postgresql://h:x/db"], "malformed"),
        (["strain", "surrogate", "--trials", 2, "--out", "best.txt"], "must end in .json"),
    ],
)
def test_bad_requests_are_one_line_errors(monkeypatch, capsys, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = tune(monkeypatch, capsys, *args)
    assert status == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing written for a bad request


def test_help_names_the_grid_sizes(monkeypatch, capsys):
    status, out, _ = tune(monkeypatch, capsys, "--help")
    text = " ".join(out.replace("│", " ").split())  # rich wraps the help in a box
    assert status == 0
    assert "porous predictor 8, compositions attention 8" in text and "postgresql://" in text
