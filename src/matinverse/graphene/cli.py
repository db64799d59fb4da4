"""``matinverse graphene ...``: porous graphene sheets and their energies."""

from pathlib import Path

import typer

from matinverse.cliutil import command_line, training_run
from matinverse.errors import InputError
from matinverse.progress import progress_bar

app = typer.Typer(
    help="Porous graphene sheets: energy oracle, export to ASE formats.", no_args_is_help=True
)


@app.command()
def dataset(
    n: int = typer.Option(65_536, "--n", min=1, help="Number of sheets."),
    out: Path = typer.Option(..., "--out", help="Dataset folder (Zarr group)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    nx: int = typer.Option(14, "--nx", min=2, help="Cells along a1."),
    ny: int = typer.Option(16, "--ny", min=2, help="Cells along a2."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    chunk_size: int = typer.Option(512, "--chunk-size", min=1, help="Sheets per chunk."),
):
    """Random porous sheets (1-6 holes of radius 0.8-5 angstrom) and their oracle energies,
    resumably, into Zarr."""
    from matinverse.graphene.dataset import generate_sheet_dataset
    from matinverse.parallel.executor import make_executor

    with make_executor(workers=workers, scheduler=scheduler) as executor:
        with progress_bar("dataset") as progress:
            summary = generate_sheet_dataset(
                out, n, seed, chunk_size, nx, ny, executor=executor, progress=progress
            )
    typer.echo(
        f"{out}: {summary.done}/{summary.n} sheets complete ({summary.computed} computed now, "
        f"{summary.resumed} found done, {summary.seconds:.0f} s)"
    )


@app.command()
def energy(
    file: Path = typer.Argument(..., help=".npy array (N, nx, ny) (or (nx, ny)) of states 0..3."),
    out: Path = typer.Option(None, "--out", help="CSV to write (default: print a table)."),
    export: Path = typer.Option(
        None, "--export", help="Also write the sheets with their energies (.xyz extxyz, .cif)."
    ),
):
    """Energies of sheets by the built-in Hueckel + dangling-bond oracle: eV relative to
    pristine graphene, and the energy density in eV per square angstrom."""

    from matinverse.graphene.atoms import export_format, write_sheets
    from matinverse.graphene.lattice import carbon_sites, check_states
    from matinverse.graphene.oracle import HueckelOracle, energy_density
    from matinverse.io.arrays import load_npy
    from matinverse.io.atomic import atomic_path

    if out is not None and out.suffix.lower() != ".csv":
        raise InputError(f"--out must be a .csv file, got {out}")
    states = check_states(load_npy(file))
    _, nx, ny = states.shape
    if export is not None:
        export_format(export, len(states))
    with progress_bar("oracle") as progress:
        energies = HueckelOracle().energies(states, progress)
    density = energy_density(energies, nx, ny)
    carbons = carbon_sites(states).sum(1)
    lines = ["sheet,carbons,energy_eV,density_eV_per_A2"] + [
        f"{i},{c},{e:.6f},{d:.8f}"
        for i, (c, e, d) in enumerate(zip(carbons, energies, density, strict=True))
    ]
    if export is not None:
        infos = [
            {"energy_eV": float(e), "density_eV_per_A2": float(d)}
            for e, d in zip(energies, density, strict=True)
        ]
        write_sheets(export, states, infos)
    if out is None:
        typer.echo("\n".join(lines))
        return
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    typer.echo(f"wrote {out}: {len(states)} sheets of {nx} x {ny} cells", err=True)


@app.command()
def train(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Dataset folder from 'graphene dataset'."),
    out: Path = typer.Option(..., "--out", help="Generator file (.pt) to write."),
    epochs: int = typer.Option(30, min=1),
    steps: int = typer.Option(1200, min=1, help="Steps per epoch (critic or generator)."),
    batch_size: int = typer.Option(64, min=1),
    n_critic: int = typer.Option(5, min=1, help="Critic updates per generator update."),
    lr: float = typer.Option(1e-4),
    width: int = typer.Option(64, min=4),
    blocks: int = typer.Option(4, min=2),
    seed: int = typer.Option(0),
):
    """Train the conditional sheet WGAN (gradient penalty 10, consistency term 2, Adam
    betas (0, 0.9)); after each epoch the oracle checks sheets made for the data's
    densities (MAE, KS). The run folder OUT.run keeps config.json, metrics.jsonl and a
    checkpoint per epoch; an interrupted run resumes from it. Runs under torchrun."""
    from matinverse.graphene.dataset import load_sheet_dataset
    from matinverse.graphene.training import train_sheet_gan

    run = training_run(out, ctx)
    dataset = load_sheet_dataset(data)
    report = {"sheets": len(dataset.sheets), "folder": str(data), **dataset.attrs}
    run.add_config(data=report)
    with progress_bar("training sheet GAN") as progress:
        generator, history = train_sheet_gan(
            dataset,
            epochs,
            steps,
            batch_size,
            n_critic,
            lr=lr,
            width=width,
            blocks=blocks,
            seed=seed,
            checkpoint=run,
            progress=progress,
        )
    run.finish(
        lambda: generator.save(out, {"data": report, "history": history, "command": command_line()})
    )
    last = history[-1]
    typer.echo(f"wrote {out}; oracle check: MAE {last['mae']:.4f} eV/A^2, KS {last['ks']:.3f}")


@app.command()
def calibrate(
    model: Path = typer.Argument(..., help="Generator file (.pt) from 'graphene train'."),
    data: Path = typer.Option(..., "--data", help="The dataset folder it was trained on."),
    n: int = typer.Option(8192, "--n", min=130, help="Sheets generated to fit the map."),
    scale: int = typer.Option(1, "--scale", min=1, max=16, help="K: the sheet size to fit."),
):
    """Calibrate a generator's requests at scale K: generate sheets for conditions drawn
    from the data's densities, fit the oracle's mean density as a function of the condition
    and store its inverse for that scale in the file (rewritten in place, the old
    calibration kept in its metadata); scales above K use it until they get their own.
    Prints the oracle check (MAE, KS) on a fresh draw of N requests before and after."""
    import numpy as np

    from matinverse.graphene.dataset import load_sheet_dataset
    from matinverse.graphene.models import SheetGenerator
    from matinverse.graphene.training import calibrate_requests, request_quality
    from matinverse.nn import load_model

    generator = load_model(model, SheetGenerator)
    dataset = load_sheet_dataset(data)
    requests = np.random.default_rng(2).choice(dataset.density, n)
    with progress_bar("calibrating") as progress:
        progress(0, 3)
        before, _ = request_quality(generator, requests, 2, scale)
        progress(1, 3)
        knots = calibrate_requests(generator, dataset.density, n, scale=scale)
        progress(2, 3)
        calibration = {**(generator.config["calibration"] or {}), str(scale): knots}
        calibrated = generator.with_calibration(calibration)
        after, _ = request_quality(calibrated, requests, 2, scale)
        progress(3, 3)
    metadata = dict(generator.metadata or {})
    metadata.setdefault("calibrations", []).append(
        {
            "old": generator.config["calibration"],
            "before": before,
            "after": after,
            "sheets": n,
            "scale": scale,
            "command": command_line(),
        }
    )
    calibrated.save(model, metadata)
    typer.echo(
        f"{model}: oracle check on {n} fresh requests at scale {scale}: MAE {before['mae']:.4f} -> "
        f"{after['mae']:.4f} eV/A^2, KS {before['ks']:.3f} -> {after['ks']:.3f}"
    )


@app.command()
def generate(
    density: float = typer.Option(..., "--density", help="Energy density, eV per square angstrom."),
    n: int = typer.Option(..., "--n", help="Number of sheets."),
    out: Path = typer.Option(..., "--out", help="Folder to write."),
    scale: int = typer.Option(1, "--scale", help="K: sheets of K x the training size per side."),
    seed: int = typer.Option(0),
    model: Path = typer.Option(
        None, help="Generator file (.pt) from 'graphene train' (default: the shipped one)."
    ),
    export: int = typer.Option(5, help="How many sheets to write as extxyz files."),
    candidates: int = typer.Option(
        4, min=1, help="Sheets drawn per request; the one the oracle finds closest is kept."
    ),
):
    """Sheets of a requested energy density, checked by the oracle: OUT/sheets.npy
    (N, K nx, K ny) states, OUT/energies.csv (requested and oracle density, energy) and
    OUT/sheet-000.xyz... for the first few. Each sheet is the best of --candidates draws
    (the oracle's cost grows with it: about 4 ms a sheet at K = 1, 0.2 s at K = 2)."""
    import numpy as np

    from matinverse.graphene.atoms import write_sheets
    from matinverse.graphene.design import design_sheets
    from matinverse.graphene.models import SheetGenerator
    from matinverse.graphene.weights import WEIGHTS
    from matinverse.io.atomic import atomic_path
    from matinverse.nn import load_model

    if n < 1 or n > 1_000_000:
        raise InputError(f"--n must be 1 to 1,000,000, got {n}")
    if scale < 1 or scale > 16:
        raise InputError(f"--scale must be 1 to 16, got {scale}")
    generator = load_model(model or WEIGHTS / "generator.pt", SheetGenerator)
    low, high = generator.config["density_range"]
    if not low <= density <= high:
        raise InputError(
            f"--density {density} is outside the training data's range {low:.4f} to {high:.4f}"
        )
    with progress_bar("oracle") as progress:
        designs = design_sheets(generator, np.full(n, density), scale, candidates, seed, progress)
    sheets, energies, achieved = designs.sheets, designs.energy, designs.density
    _, nx, ny = sheets.shape
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "sheets.npy") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, sheets)
    lines = ["sheet,requested_density,oracle_density,energy_eV"] + [
        f"{i},{density},{d:.8f},{e:.6f}"
        for i, (d, e) in enumerate(zip(achieved, energies, strict=True))
    ]
    with atomic_path(out / "energies.csv") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    for i in range(min(export, n)):
        info = {"requested_density": density, "oracle_density": float(achieved[i])}
        write_sheets(out / f"sheet-{i:03d}.xyz", sheets[i : i + 1], [info])
    typer.echo(
        f"wrote {out}: {n} sheets of {nx} x {ny} cells; oracle density mean "
        f"{achieved.mean():.4f}, MAE to the request {np.abs(achieved - density).mean():.4f} eV/A^2"
    )
