"""``matinverse strain ...``: train the MoS2 band-gap surrogate and the inverse models, and
design strains and fields for a target band gap.

The library (torch, FrEIA) is imported inside each command, so that other sub-commands of
``matinverse`` do not pay for it at start-up.
"""

from pathlib import Path

import typer

from matinverse.cliutil import command_line, training_run
from matinverse.errors import InputError
from matinverse.progress import progress_bar

app = typer.Typer(
    help="Strain design of monolayer MoS2: band-gap surrogate, inverse models, design.",
    no_args_is_help=True,
)

DATA_DIR_HELP = "Root holding mos2/ (else $MATINVERSE_DATA, the cache, then a download)."
METHOD_HELP = "Inverse model: inn, cinn, cvae or mdn (cinn: the best in bench/strain_design.py)."


def _split(fold: str, data_dir: Path | None, run=None):
    from matinverse.strain.data import fold_split, load_mos2

    with progress_bar("downloading") as progress:
        data, report = load_mos2(data_dir, progress)
    split = fold_split(data, fold)
    if run is not None:
        run.add_config(data=dict(report, fold=fold))
    typer.echo(
        f"{report['rows']} rows, {report['merged_duplicates']} duplicates merged; fold "
        f"{fold}: {len(split.train)} training, {len(split.val)} validation, "
        f"{len(split.test)} held-out rows"
    )
    return split, dict(report, fold=fold)


def _save(run, model, out: Path, **metadata) -> None:
    """Save a trained model with its metadata and command line (rank 0); finish ``run``."""
    run.finish(lambda: model.save(out, {**metadata, "command": command_line()}))


@app.command("train-surrogate")
def train_surrogate_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Surrogate file (.pt) to write."),
    fold: str = typer.Option("design", help="Training half: 'design' or 'judge'."),
    members: int = typer.Option(8, min=2),
    width: int = typer.Option(128, min=4),
    depth: int = typer.Option(3, min=1),
    epochs: int = typer.Option(60, min=1),
    steps: int = typer.Option(500, min=1, help="Steps per epoch."),
    batch_size: int = typer.Option(256, min=1, help="Rows per batch of each member."),
    lr: float = typer.Option(2e-3, help="Peak learning rate (cosine decay)."),
    seed: int = typer.Option(0),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Train the band-gap ensemble on one half of the data and report its accuracy on the
    other half (metallic and gapped rows apart). The run folder OUT.run keeps config.json,
    metrics.jsonl and a checkpoint per epoch; an interrupted run resumes from it."""
    from matinverse.strain.surrogate import evaluate_surrogate, train_surrogate

    run = training_run(out, ctx)
    split, report = _split(fold, data_dir, run)
    with progress_bar("training surrogate") as progress:
        model, history = train_surrogate(
            split.train,
            split.val,
            members=members,
            width=width,
            depth=depth,
            epochs=epochs,
            steps_per_epoch=steps,
            batch=batch_size,
            lr=lr,
            seed=seed,
            checkpoint=run,
            progress=progress,
        )
    held_out = evaluate_surrogate(model, split.test)
    _save(run, model, out, data=report, history=history, held_out=held_out)
    for name, figures in held_out.items():
        typer.echo(
            f"held-out {name}: {figures['rows']} rows, MAE {figures['mae']:.4f} eV, "
            f"within 1 std {figures['within_1std']:.3f}"
        )
    typer.echo(f"wrote {out}")


@app.command("train-inverse")
def train_inverse_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Inverse model file (.pt) to write."),
    method: str = typer.Option("inn", help=METHOD_HELP),
    surrogate: Path = typer.Option(
        None, help="Surrogate to follow raw-sample quality with (default: the shipped one)."
    ),
    epochs: int = typer.Option(20, min=1),
    steps: int = typer.Option(300, min=1, help="Steps per epoch."),
    batch_size: int = typer.Option(256, min=8),
    lr: float = typer.Option(1e-3),
    seed: int = typer.Option(0),
    data_dir: Path = typer.Option(None, help=DATA_DIR_HELP),
):
    """Train an inverse model (band gap -> designs) on the design half of the data.
    Run folder OUT.run as for train-surrogate (resumable)."""
    from matinverse.nn import load_model
    from matinverse.strain.inverse import METHODS
    from matinverse.strain.surrogate import BandGapEnsemble
    from matinverse.strain.training import train_inverse
    from matinverse.strain.weights import WEIGHTS

    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    run = training_run(out, ctx)
    judge = load_model(surrogate or WEIGHTS / "surrogate.pt", BandGapEnsemble)
    split, report = _split("design", data_dir, run)
    with progress_bar(f"training {method}") as progress:
        model, history = train_inverse(
            method,
            split.train,
            split.val,
            epochs=epochs,
            steps_per_epoch=steps,
            batch=batch_size,
            lr=lr,
            seed=seed,
            surrogate=judge,
            checkpoint=run,
            progress=progress,
        )
    _save(run, model, out, data=report, history=history)
    last = history[-1]
    typer.echo(
        f"wrote {out}; raw samples at the benchmark targets: MAE {last['raw_mae']:.3f} eV, "
        f"{last['raw_in_bounds']:.3f} inside the data bounds"
    )


@app.command()
def design(
    bandgap: float = typer.Option(..., "--bandgap", help="Target band gap in eV."),
    n: int = typer.Option(..., "--n", help="Number of distinct designs to write."),
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    method: str = typer.Option("cinn", help=METHOD_HELP),
    seed: int = typer.Option(0),
    localize: bool = typer.Option(
        True, "--localize/--no-localize", help="Refine designs onto the target gap."
    ),
    screen: float = typer.Option(
        10.0,
        help="Screening by confidence: find SCREEN x N designs and write the N of lowest "
        "bandgap_std (1: no screening).",
    ),
    inverse: Path = typer.Option(None, help="Inverse model file (default: the shipped one)."),
    surrogate: Path = typer.Option(None, help="Surrogate file (default: the shipped one)."),
):
    """Write N distinct strain + field designs whose predicted band gap is BANDGAP, best
    first: columns a, b, c (angstrom), alpha, beta, gamma (degrees), efield, bandgap_pred,
    bandgap_std (eV)."""
    from matinverse.nn import load_model
    from matinverse.strain.design import (
        DesignSettings,
        check_target,
        load_pretrained,
        write_designs,
    )
    from matinverse.strain.design import design as run_design
    from matinverse.strain.inverse import METHODS, InverseModel
    from matinverse.strain.surrogate import BandGapEnsemble

    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    check_target(bandgap)
    if n < 1:
        raise InputError(f"--n must be at least 1, got {n}")
    if not screen >= 1:
        raise InputError(f"--screen must be at least 1, got {screen}")
    if out.suffix != ".csv":
        raise InputError(f"--out must end in .csv, got {out}")
    if inverse is None or surrogate is None:
        shipped_inverse, shipped_surrogate = load_pretrained(method)
    net = load_model(inverse, InverseModel) if inverse else shipped_inverse
    driver = load_model(surrogate, BandGapEnsemble) if surrogate else shipped_surrogate
    with progress_bar("designing") as progress:
        settings = DesignSettings(localize=localize, screen=screen)
        result = run_design(net, driver, bandgap, n, seed, settings, progress)
    write_designs(out, result)
    message = f"wrote {out}: {len(result.x)} designs"
    if len(result.x):
        error = abs(result.bandgap - bandgap).mean()
        message += f", predicted gap within {error:.4f} eV of the target on average"
    typer.echo(message)
    if len(result.x) < n:
        typer.echo(f"warning: found only {len(result.x)} of {n} distinct designs", err=True)
