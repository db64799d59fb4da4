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


@pytest.fixture(scope="module")
def own_table(tmp_path_factory, shared_data):
    """A user's formula,target table: 1,500 OQMD formulas with their mean Pauling
    electronegativity (a property the fractions determine) and one row without a target."""
    from pymatgen.core import Composition

    from matinverse.compositions.data import load_split

    formulas = load_split("formation_enthalpy", "val", shared_data).formulas[:1500]
    path = tmp_path_factory.mktemp("table") / "electronegativity.csv"
    lines = ["formula,target,source"]
    lines += [f"{f},{Composition(f).average_electroneg:.4f},oqmd" for f in formulas]
    path.write_text("\n".join(lines + ["NaCl,,missing"]) + "\n")
    return path


def test_train_property_on_your_own_table(run, tmp_path, own_table):
    out = tmp_path / "chi.pt"
    common = ["compositions", "train-property", "--table", own_table, "--property", "chi"]
    small = ["--dim", 16, "--heads", 2, "--layers", 1, "--size", 2, "--epochs", 2, "--steps", 100]
    result = run(*common, "--unit", "Pauling", "--out", out, *small, "--batch-size", 64)
    assert result.returncode == 0, result.stderr
    from matinverse.nn import load_model

    model = load_model(out)
    assert model.config["property"] == "chi" and model.config["unit"] == "Pauling"
    report = model.metadata["data"]
    assert report["dropped_bad_target"] == 1
    assert report["train_rows"] + report["val_rows"] + report["test_rows"] <= 1500
    assert abs(report["train_rows"] - 0.7 * 1500) < 30 and "Pauling" in result.stdout
    # it learned the property: validation MAE well under the spread of the target
    history = model.metadata["history"]
    assert history[-1]["val_mae"] < 0.5 * history[0]["val_mae"] or history[-1]["val_mae"] < 0.15
    source = tmp_path / "in.csv"
    source.write_text("formula\nNaCl\nSiO2\n")
    predicted = tmp_path / "p.csv"
    result = run(
        "compositions", "predict", source, "--property", "chi", "--model", out, "--out", predicted
    )
    assert result.returncode == 0, result.stderr
    got = [float(r["prediction"]) for r in rows(predicted)]
    # Pauling: NaCl (0.93 + 3.16) / 2 = 2.05, SiO2 (1.90 + 2 x 3.44) / 3 = 2.93
    assert got[0] < got[1]
    # recalibrating on the same validation split finds the factor training set (up to the
    # float16 rounding of the stored weights, which training fitted it before)
    factor = model.std_scale
    result = run("compositions", "calibrate", out, "--table", own_table)
    assert result.returncode == 0, result.stderr
    again = load_model(out)
    assert again.std_scale == pytest.approx(factor, rel=1e-3)
    assert again.metadata["calibrations"][0]["old_std_scale"] == pytest.approx(factor)


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("formula,value\nNaCl,1\n", ("--unit", "x"), "missing ['target']"),
        ("formula,target\nNaCl,1\nKCl,abc\n", ("--unit", "x"), "line 3: target 'abc' is not"),
        ("formula,target\nNaCl,1\n", (), "needs its unit"),
        ("formula,target,split\nNaCl,1,train\nKCl,2,dev\n", ("--unit", "x"), "split values"),
        ("formula,target,split\nNaCl,1,train\nKCl,2,val\n", ("--unit", "x"), "test split has"),
        (None, ("--unit", "x"), "no such file"),
    ],
)
def test_train_property_bad_table(run, tmp_path, content, args, message):
    table = tmp_path / "t.csv"
    if content is not None:
        table.write_text(content)
    out = tmp_path / "m.pt"
    result = run(
        "compositions", "train-property", "--table", table, "--property", "chi", "--out", out, *args
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--property", "bandgap", "--model", "boosting", "--out", "m.skops"), "not boosting"),
        (("--property", "formation_energy", "--out", "m.pt"), "needs a nonnegative target"),
    ],
)
def test_two_part_needs_a_network_and_a_nonnegative_target(run, tmp_path, args, message):
    result = run("compositions", "train-property", "--two-part", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not list(tmp_path.iterdir())
