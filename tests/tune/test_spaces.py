"""Search spaces: grids inside their spaces, settings checked, every model trains through
its objective, and the printed train command is a valid command line."""

import shlex

import numpy as np
import optuna
import pytest
import typer

from matinverse.cli import app
from matinverse.errors import InputError
from matinverse.tune.spaces import TUNABLES, Splits, dilation_schedule, get_tunable
from matinverse.tune.study import make_objective


def first_grid_point(tunable) -> dict:
    return {p.name: p.grid[0] for p in tunable.space}


@pytest.mark.parametrize("key", list(TUNABLES))
def test_grid_values_lie_in_the_search_space(key):
    tunable = TUNABLES[key]
    assert 1 < tunable.grid_size <= 8
    for p in tunable.space:
        for value in p.grid:
            if p.choices is not None:
                assert value in p.choices, (p.name, value)
            else:
                assert p.low <= value <= p.high, (p.name, value)


def test_dilation_schedules():
    assert dilation_schedule("doubling", 5) == (1, 2, 4, 8, 1)  # the default predictor's
    assert dilation_schedule("doubling", 7) == (1, 2, 4, 8, 8, 8, 1)
    assert dilation_schedule("cycle", 5) == (1, 2, 4, 1, 2)
    assert dilation_schedule("flat", 3) == (1, 1, 1)


def test_settings_are_checked():
    with pytest.raises(InputError, match="takes no --steps"):
        get_tunable("porous", "predictor").resolve({"steps": 3})
    with pytest.raises(InputError, match="--members must be at least 2"):
        get_tunable("strain", "surrogate").resolve({"members": 1})
    with pytest.raises(InputError, match="--property must be one of"):
        get_tunable("compositions", "attention").resolve({"property": "colour"})
    with pytest.raises(InputError, match="no tunable model"):
        get_tunable("porous", "generator")
    assert get_tunable("strain", "surrogate").resolve({"epochs": 2})["members"] == 8


def parses(command: str) -> None:
    """Parse a printed train command with the real CLI (nothing runs)."""
    words = shlex.split(command)
    assert words[0] == "matinverse"
    group = typer.main.get_command(app)
    ctx = group.make_context("matinverse", words[1:2], resilient_parsing=True)
    sub = group.get_command(ctx, words[1])
    sub.get_command(ctx, words[2]).make_context(words[2], words[3:])


def synthetic_data(problem: str, rng: np.random.Generator):
    """Tiny training, validation and test data of a problem, made up (no file read)."""
    if problem == "compositions":
        from matinverse.compositions.property_training import PropertyData

        def part(n):
            frac = np.zeros((n, 86), np.float32)
            for row in frac:
                row[rng.choice(86, 2, replace=False)] = (0.5, 0.5)
            return PropertyData(frac, rng.normal(size=n))

        return Splits(part(300), part(40), part(40))
    from matinverse.strain.data import StrainData

    def part(n):
        x = rng.normal(size=(n, 7))
        return StrainData(x, np.maximum(0.0, x[:, 0] + 0.3))

    return Splits(part(300), part(40), part(40))


@pytest.mark.parametrize(
    "key", [("compositions", "attention"), ("compositions", "elemnet"), ("strain", "surrogate")]
)
def test_each_model_trains_through_its_objective_and_prints_a_valid_command(key):
    tunable = TUNABLES[key]
    settings = tunable.resolve({"epochs": 2, "steps": 2, "members": 2})
    data = synthetic_data(key[0], np.random.default_rng(0))
    params = first_grid_point(tunable)
    value = make_objective(tunable, data, settings)(optuna.trial.FixedTrial(params))
    assert np.isfinite(value) and value >= 0
    command = tunable.command(params, settings, data_dir=None)
    assert "--epochs 2 --steps 2" in command and "--data-dir" not in command
    parses(command)
    assert "--data-dir /d" in tunable.command(params, settings, data_dir="/d")


def test_the_porous_train_command_reproduces_the_trial(tiny, tmp_path):
    from typer.testing import CliRunner

    from matinverse.porous.dataset import generate_dataset

    data_dir = tmp_path / "data"
    generate_dataset(data_dir, **tiny)
    tunable = TUNABLES[("porous", "predictor")]
    settings = tunable.resolve({"epochs": 2})
    data = tunable.load(data_dir, settings)
    params = {**first_grid_point(tunable), "batch_size": 64, "dilations": "cycle"}
    value = make_objective(tunable, data, settings)(optuna.trial.FixedTrial(params))
    command = tunable.command(params, settings, data_dir)
    assert "--dilations 1,2,4,1,2" in command
    out = tmp_path / "predictor.pt"
    words = shlex.split(command.replace("predictor.pt", str(out)))
    result = CliRunner().invoke(app, words[1:])
    assert result.exit_code == 0, result.output
    assert f"all {value:.4f}" in result.output


@pytest.mark.parametrize("key", list(TUNABLES))
def test_defaults_are_the_train_commands_and_lie_in_the_search_space(key):
    tunable = TUNABLES[key]
    for p in tunable.space:
        value = tunable.defaults[p.name]
        assert value in p.choices if p.choices else p.low <= value <= p.high, p.name
    assert set(tunable.defaults) == {p.name for p in tunable.space}
    group = typer.main.get_command(app)
    ctx = group.make_context("matinverse", list(tunable.train_command[:1]))
    command = group.get_command(ctx, tunable.train_command[0]).get_command(
        ctx, tunable.train_command[1]
    )
    defaults = {opt: p.default for p in command.params for opt in p.opts}
    options = tunable.options(tunable.defaults, tunable.settings)
    checked = [o for o in options if defaults.get(o) is not None and o not in ("--model", "--fold")]
    assert len(checked) >= 5
    for option in checked:
        assert str(options[option]) == str(defaults[option]), option
