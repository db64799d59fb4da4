"""``matinverse tune PROBLEM MODEL``: hyperparameter and architecture search with Optuna;
``matinverse learning-curve PROBLEM MODEL``: test error against training-set size.

The problems' libraries are imported inside the command, so that other sub-commands of
``matinverse`` do not pay for them at start-up.
"""

import json
from pathlib import Path

import typer

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.progress import progress_bar
from matinverse.tune.curve import DEFAULT_FRACTIONS
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


def _tuned_params(path: Path, tunable) -> tuple[dict, dict]:
    """The best parameters and the non-budget settings (--property) in ``tune``'s JSON."""
    try:
        found = json.loads(path.read_text())
        params, settings = found["best_params"], found.get("settings", {})
        problem, model = found["problem"], found["model"]
    except FileNotFoundError:
        raise InputError(f"--params {path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"--params {path} is not a 'matinverse tune' result ({err})") from None
    if (problem, model) != (tunable.problem, tunable.model):
        raise InputError(
            f"--params {path} holds a {problem} {model} configuration, not "
            f"{tunable.problem} {tunable.model}"
        )
    if set(params) != set(tunable.defaults):
        raise InputError(f"--params {path}: parameters {sorted(params)} do not fit the model")
    return params, {k: v for k, v in settings.items() if k == "property"}


def learning_curve(
    problem: str = typer.Argument(..., help="porous, compositions or strain."),
    model: str = typer.Argument(..., help=MODELS_HELP),
    fractions: str = typer.Option(
        None,
        "--fractions",
        help=f"Fractions of the training rows, one per point (default {DEFAULT_FRACTIONS}, "
        "less those too small for one batch).",
    ),
    params: Path = typer.Option(
        None,
        "--params",
        help="A 'matinverse tune' result (BEST.json): draw the curve of its best "
        "configuration (default: the train command's).",
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder of the plot and record (default: learning-curve-PROBLEM-MODEL)."
    ),
    data_dir: Path = typer.Option(None, "--data-dir", help=DATA_HELP),
    test_dir: Path = typer.Option(
        None, "--test-dir", help="porous: a held-out dataset folder (required)."
    ),
    epochs: int = typer.Option(None, help="Epochs of the full run (default: the train command's)."),
    steps: int = typer.Option(None, help="Steps per epoch (compositions, strain)."),
    members: int = typer.Option(None, help="Ensemble members (compositions, strain)."),
    property: str = typer.Option(None, help="compositions: formation_energy or bandgap."),
):
    """Train one configuration on nested random subsets of the training rows and plot its
    error on the test split against the training-set size (log-log), with the power law
    error = a N^-b fitted in log-log space. Every point takes as many optimiser steps as
    the run on all rows. Writes OUT/learning-curve.png and OUT/learning-curve.json (each
    point recorded as it finishes: a rerun skips finished points)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    from rich.console import Console
    from rich.table import Table

    from matinverse.train.learning_curve import CurveRecord, plot_curve, save_figure
    from matinverse.tune.curve import (
        curve_identity,
        curve_sizes,
        parse_fractions,
        run_learning_curve,
    )
    from matinverse.tune.spaces import get_tunable

    tunable = get_tunable(problem, model)
    chosen, given = dict(tunable.defaults), {}
    if params is not None:
        chosen, given = _tuned_params(params, tunable)
    options = {"epochs": epochs, "steps": steps, "members": members, "property": property}
    given.update({k: v for k, v in options.items() if v is not None})
    settings = tunable.resolve(given)
    wanted = parse_fractions(fractions or DEFAULT_FRACTIONS)
    tunable.check_data_dir(data_dir)
    tunable.check_test_dir(test_dir)
    out = out or Path(f"learning-curve-{problem}-{model}")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is not a folder")
    data = tunable.load(data_dir, settings, test_dir)
    n_full = tunable.training_rows(data)
    sizes = curve_sizes(tunable, chosen, wanted, n_full, drop_small=fractions is None)
    record = CurveRecord(
        out / "learning-curve.json", curve_identity(tunable, chosen, settings, n_full)
    )
    with progress_bar(f"learning curve {problem} {model}") as progress:
        fit = run_learning_curve(tunable, data, chosen, settings, sizes, record, progress)

    unit = tunable.unit(settings)
    points = sorted(record.points.values(), key=lambda p: p["n_train"])
    figure, ax = plt.subplots(figsize=(5, 4))
    plot_curve(
        ax, [p["n_train"] for p in points], [p["test_error"] for p in points], model, fit=fit
    )
    ax.set(
        xlabel="training rows",
        ylabel=f"{tunable.test_metric} ({unit})",
        title=f"{problem} {model}",
    )
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # labels overlap
    ax.legend()
    figure.tight_layout()
    save_figure(figure, out / "learning-curve.png")
    plt.close(figure)

    table = Table(title=f"{problem} {model}: learning curve")
    for name in ("fraction", "n_train", f"{tunable.test_metric} ({unit})", "steps", "seconds"):
        table.add_column(name, justify="right")
    for p in points:
        table.add_row(
            f"{p['fraction']:.4g}",
            str(p["n_train"]),
            f"{p['test_error']:.5g}",
            str(p["steps"]),
            f"{p['seconds']:.1f}",
        )
    Console().print(table)
    if fit is None:
        typer.echo("power law: needs two points with a positive error")
    else:
        typer.echo(
            f"power law error = a N^-b (log-log fit of {fit.points} points): a {fit.a:.4g}, "
            f"b {fit.b:.4f}, R^2 {fit.r2:.4f}"
        )
    typer.echo(f"wrote {out / 'learning-curve.png'} and {out / 'learning-curve.json'}")
