import csv
import json

import pytest

from matinverse.compositions.validity import HEADLINE, validity


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_generate_writes_raw_samples_reproducibly(run, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (a, b):
        result = run("compositions", "generate", "--n", 300, "--out", out, "--seed", 3)
        assert result.returncode == 0, result.stderr
    got = rows(a)
    assert len(got) == 300 and list(got[0]) == ["formula", "valid"]
    assert a.read_text() == b.read_text()
    formulas = [r["formula"] or None for r in got]
    recorded = [r["valid"] == "true" for r in got]
    assert validity(formulas, HEADLINE).tolist() == recorded
    assert "decoded to nothing" in result.stderr


@pytest.mark.parametrize(
    "model",
    [
        ("--model", "all"),
        ("--model", "transformer", "--temperature", "2,0.5"),
        ("--model", "transformer-novel"),
    ],
)
def test_generate_valid_only_and_other_models(run, tmp_path, model):
    out = tmp_path / "v.csv"
    result = run("compositions", "generate", "--n", 50, "--out", out, "--valid-only", *model)
    assert result.returncode == 0, result.stderr
    got = rows(out)
    assert len(got) == 50 and all(r["valid"] == "true" and r["formula"] for r in got)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--n", 0), "--n must be between 1"),
        (("--n", -5), "--n must be between 1"),
        (("--n", 10**9), "--n must be between 1"),
        (("--n", 5, "--model", "nope"), "--model must be one of"),
        (("--n", 5, "--temperature", "2,0.5"), "applies to the transformer generator only"),
        (("--n", 5, "--model", "transformer", "--temperature", "hot"), "two numbers"),
    ],
)
def test_generate_bad_input_is_one_line_and_writes_nothing(run, tmp_path, args, message):
    out = tmp_path / "x.csv"
    result = run("compositions", "generate", "--out", out, *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {result.stderr.strip()[7:]}"]
    assert message in result.stderr and not out.exists()


def test_evaluate_reports_the_metrics(run, tmp_path, shared_data):
    file = tmp_path / "f.csv"
    # NaCl twice, ZrTa2Te (an OQMD formula), one empty sample, an intermetallic
    file.write_text("formula,valid\nNaCl,true\nNaCl,true\nZrTa2Te,true\n,false\nCuZn,false\n")
    out = tmp_path / "r.json"
    result = run("compositions", "evaluate", file, "--data-dir", shared_data, "--json", out)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["samples"] == 5 and report["empty"] == 1
    assert report["validity"]["headline"] == pytest.approx(3 / 5)
    assert report["validity"]["smact-default"] == pytest.approx(4 / 5)
    assert report["unique"] == pytest.approx(3 / 4)
    assert 0 <= report["novel"] < 1  # ZrTa2Te is in OQMD
    assert 0 < report["autoencoder_reconstructed"] <= 1
    assert "valid (headline" in result.stdout


def test_evaluate_names_the_bad_line(run, tmp_path):
    file = tmp_path / "f.csv"
    file.write_text("formula\nNaCl\nNa(Cl\n")
    result = run("compositions", "evaluate", file)
    assert result.returncode == 2
    assert "line 3" in result.stderr and "Na(Cl" in result.stderr


def stored_dtypes(path) -> set:
    """The dtypes of the weights as stored in a model file."""
    import torch

    return {t.dtype for t in torch.load(path, weights_only=True)["state_dict"].values()}


@pytest.mark.parametrize(
    "command, options, stored",
    [
        ("train-gan", ("--batch-size", 64, "--width", 16), "torch.float32"),
        ("train-transformer", ("--batch-size", 64, "--width", 16, "--heads", 2), "torch.float16"),
    ],
)
def test_train_commands_write_a_usable_model(
    run, tmp_path, shared_data, assert_finished_run, command, options, stored
):
    model = tmp_path / "g.pt"
    result = run(
        "compositions",
        command,
        "--subset",
        "all",
        "--out",
        model,
        "--epochs",
        1,
        "--steps",
        6,
        *options,
        "--data-dir",
        shared_data,
    )
    assert result.returncode == 0, result.stderr
    assert "235129 training formulas (69 rows dropped" in result.stdout
    assert_finished_run(model, f"compositions {command}", 1)
    assert stored in {str(d) for d in stored_dtypes(model)}
    out = tmp_path / "s.csv"
    result = run("compositions", "generate", "--n", 5, "--out", out, "--generator", model)
    assert result.returncode == 0, result.stderr
    assert len(rows(out)) == 5
    result = run("compositions", command, "--out", tmp_path / "g.bin")
    assert result.returncode == 2 and "--out must end in .pt" in result.stderr


def test_finetune_transformer_keeps_the_sampling_temperatures(
    run, tmp_path, shared_data, assert_finished_run
):
    from matinverse.nn import load_model

    model = tmp_path / "agent.pt"  # from the shipped transformer, whose samples check fast
    common = ("--epochs", 1, "--steps", 2, "--batch-size", 16)
    result = run(
        "compositions",
        "finetune-transformer",
        "--out",
        model,
        *common,
        "--temperature",
        "0.8,0.7",
        "--data-dir",
        shared_data,
    )
    assert result.returncode == 0, result.stderr
    assert_finished_run(model, "compositions finetune-transformer", 1)
    assert "torch.float16" in {str(d) for d in stored_dtypes(model)}  # half the file
    config = load_model(model).config
    assert (config["element_temperature"], config["count_temperature"]) == (0.8, 0.7)
    result = run(
        "compositions",
        "finetune-transformer",
        "--out",
        tmp_path / "b.pt",
        *common,
        "--temperature",
        "hot",
    )
    assert result.returncode == 2 and "two numbers" in result.stderr
    assert not (tmp_path / "b.pt").exists()
