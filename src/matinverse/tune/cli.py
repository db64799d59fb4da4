"""``matinverse tune PROBLEM MODEL``: hyperparameter and architecture search with Optuna.

The problems' libraries are imported inside the command, so that other sub-commands of
``matinverse`` do not pay for them at start-up.
"""

import json
from pathlib import Path

import typer

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.progress import progress_bar
from matinverse.tune.spaces import TUNABLES

MODELS_HELP = "porous predictor | compositions attention | compositions elemnet | strain surrogate"
SAMPLER_HELP = (
    "tpe (default), random, or grid: each model's small fixed grid, run once at most ("
    + ", ".join(f"{p} {m} {t.grid_size}" for (p, m), t in TUNABLES.items())
    + " points)."
)
STORAGE_HELP = (
    "A journal file that local processes share (default: STUDY.journal), or "
    "postgresql://USER:PASSWORD@HOST:PORT/DATABASE for workers on many machines."
)
DATA_HELP = (
    "porous: the 'porous dataset' folder (required); compositions, strain: the root "
    "holding the data (else $MATINVERSE_DATA, the cache, then a download)."
)


def tune(
    problem: str = typer.Argument(..., help="porous, compositions or strain."),
    model: str = typer.Argument(..., help=MODELS_HELP),
    trials: int = typer.Option(
        ...,
        "--trials",
        help="Total of finished (complete or pruned) trials the study should hold, over "
        "all workers: rerunning the command adds only the missing ones.",
    ),
    sampler: str = typer.Option("tpe", "--sampler", help=SAMPLER_HELP),
    storage: str = typer.Option(None, "--storage", help=STORAGE_HELP),
    study: str = typer.Option(None, "--study", help="Study name (default: PROBLEM-MODEL)."),
    out: Path = typer.Option(None, "--out", help="JSON of the best (default: STUDY.json)."),
    data_dir: Path = typer.Option(None, "--data-dir", help=DATA_HELP),
    epochs: int = typer.Option(None, help="Epochs of every trial (default: the train command's)."),
    steps: int = typer.Option(None, help="Steps per epoch (compositions, strain)."),
    members: int = typer.Option(None, help="Ensemble members (compositions, strain)."),
    property: str = typer.Option(None, help="compositions: formation_energy or bandgap."),
):
    """Search learning rate, batch size, width, depth and architecture choices of one model
    with Optuna, pruning trials whose validation error per epoch lags; print the best
    configuration and its train command, and write them to OUT. Run the same command in
    several processes (or machines, with PostgreSQL) to share the work; a killed run
    resumes where it stopped."""
    import optuna
    from rich.console import Console
    from rich.table import Table

    from matinverse.tune.spaces import get_tunable
    from matinverse.tune.study import (
        SAMPLERS,
        best_configuration,
        open_storage,
        open_study,
        run_study,
    )

    tunable = get_tunable(problem, model)
    given = {"epochs": epochs, "steps": steps, "members": members, "property": property}
    settings = tunable.resolve({k: v for k, v in given.items() if v is not None})
    if trials < 1:
        raise InputError(f"--trials must be at least 1, got {trials}")
    if sampler not in SAMPLERS:
        raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    tunable.check_data_dir(data_dir)
    name = study or f"{problem}-{model}"
    out = out or Path(f"{name}.json")
    if out.suffix != ".json":
        raise InputError(f"--out must end in .json, got {out}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tuned = open_study(tunable, settings, name, open_storage(storage or f"{name}.journal"), sampler)
    data = tunable.load(data_dir, settings)
    with progress_bar(f"tuning {problem} {model} ({name})") as progress:
        result = run_study(tuned, data, trials, progress)
    record = best_configuration(tuned, result, data_dir)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")

    title = f"{name}: best trial {result.best_number}"
    table = Table(title=title)
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key, value in record["best_params"].items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    table.add_row(f"{tunable.metric} ({record['unit']})", f"{record['best_value']:.5g}")
    console = Console()
    console.print(table)
    typer.echo(
        f"{result.complete} complete, {result.pruned} pruned, {result.failed} failed of "
        f"{result.total} trials (storage {tuned.storage.description}); wrote {out}"
    )
    typer.echo(f"train it: {record['train_command']}")
