import csv

import pytest


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_predict_flags_bad_rows_and_predicts_the_rest(run, tmp_path, tiny_property_models):
    source = tmp_path / "in.csv"
    source.write_text("id,formula\n1,NaCl\n2,Xx2O\n3,HeO\n4,\n5,Fe2O3\n")
    out = tmp_path / "out.csv"
    model = tiny_property_models["formation_energy"]
    result = run(
        "compositions",
        "predict",
        source,
        "--property",
        "formation_energy",
        "--out",
        out,
        "--model",
        model,
    )
    assert result.returncode == 0, result.stderr
    got = rows(out)
    assert list(got[0]) == ["id", "formula", "prediction", "uncertainty", "error"]
    assert [r["id"] for r in got] == ["1", "2", "3", "4", "5"]
    assert [bool(r["error"]) for r in got] == [False, True, True, True, False]
    assert "He is outside" in got[2]["error"] and got[3]["error"] == "empty formula"
    assert float(got[0]["prediction"]) < 0 and float(got[0]["uncertainty"]) > 0
    assert "2 of 5 rows predicted" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--property", "density"), "property must be one of"),
        (("--property", "bandgap", "--model", "FE"), "predicts formation_energy"),
        (("--property", "bandgap", "--model", "m.txt"), "ends in .pt or .skops"),
    ],
)
def test_predict_bad_input(run, tmp_path, tiny_property_models, args, message):
    source = tmp_path / "in.csv"
    source.write_text("formula\nNaCl\n")
    args = [str(tiny_property_models["formation_energy"]) if a == "FE" else a for a in args]
    out = tmp_path / "out.csv"
    result = run("compositions", "predict", source, "--out", out, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_design_writes_designs_and_reports_the_hit_rate(
    run, tmp_path, tiny_property_models, shared_data
):
    out = tmp_path / "d.csv"
    result = run(
        "compositions",
        "design",
        "--formation-energy-max",
        -1.0,
        "--bandgap",
        "0.5:4",
        "--confidence",
        0,
        "--n",
        5,
        "--out",
        out,
        "--steps",
        20,
        "--data-dir",
        shared_data,
        "--formation-energy-model",
        tiny_property_models["formation_energy"],
        "--bandgap-model",
        tiny_property_models["bandgap"],
    )
    assert result.returncode == 0, result.stderr
    got = rows(out)
    assert len(got) == 5 and list(got[0]) == [
        "formula",
        "formation_energy",
        "formation_energy_uncertainty",
        "bandgap",
        "bandgap_uncertainty",
    ]
    assert all(float(r["formation_energy"]) <= -1.0 for r in got)
    assert "hit rate" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--n", 5), "at least one"),
        (("--n", 5, "--bandgap", "3:1"), "0 <= LO < HI"),
        (("--n", 5, "--bandgap", "x"), "--bandgap must be LO:HI"),
        (("--n", 0, "--bandgap", "1:2"), "--n must be between"),
    ],
)
def test_design_bad_input(run, tmp_path, args, message):
    out = tmp_path / "d.csv"
    result = run("compositions", "design", "--out", out, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not out.exists()
