"""``matinverse porous ...``: simulate isotherms, generate datasets, plot grids, train the
predictor and generator, design grids for target isotherms."""

import json
import os
import shutil
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import torch
import typer

from matinverse.cliutil import command_line, training_run
from matinverse.errors import InputError
from matinverse.io.arrays import load_npy
from matinverse.io.atomic import atomic_path
from matinverse.nn import load_model
from matinverse.parallel.executor import make_executor
from matinverse.porous.dataset import generate_dataset, load_complete_dataset, load_dataset
from matinverse.porous.design import (
    STAGES,
    DesignSettings,
    PorousDesigner,
    default_weights,
    design_summary,
)
from matinverse.porous.models import IsothermPredictor
from matinverse.porous.plot import plot_design, plot_grids_and_isotherms
from matinverse.porous.simulator import (
    Isotherms,
    LatticeDFT,
    default_relative_pressure,
    validate_grids,
)
from matinverse.porous.targets import read_targets
from matinverse.porous.training import evaluate_predictor, train_generator, train_predictor
from matinverse.progress import progress_bar

app = typer.Typer(
    help="Nanoporous grids and their lattice-DFT adsorption isotherms.", no_args_is_help=True
)

METHOD_HELP = "Solver: 'exact' (fixed point, default) or 'jacobi' (the seed's plain Jacobi)."


def load_grids(path: Path) -> np.ndarray:
    """Read an (N, L, L) 0/1 grid array from a .npy file, as validated uint8."""
    return validate_grids(load_npy(path))


def _simulate_chunk(item, model: LatticeDFT, desorption: bool) -> Isotherms:
    _, grids = item
    return model.simulate(grids, desorption=desorption)


def simulate_with_progress(
    grids: np.ndarray, model: LatticeDFT, desorption: bool, workers: int, progress
) -> Isotherms:
    """Simulate grids in batches over ``workers`` local processes, reporting progress."""
    batch = 16
    ads = np.empty((len(grids), len(model.relative_pressure)))
    des = np.empty_like(ads) if desorption else None
    items = [(start, grids[start : start + batch]) for start in range(0, len(grids), batch)]
    task = partial(_simulate_chunk, model=model, desorption=desorption)
    done = 0
    with make_executor(workers=workers) as executor:
        for (start, chunk), result in executor.map_unordered(task, items):
            ads[start : start + len(chunk)] = result.adsorption
            if desorption:
                des[start : start + len(chunk)] = result.desorption
            done += len(chunk)
            progress(done, len(grids))
    return Isotherms(np.asarray(model.relative_pressure), ads, des)


@app.command()
def simulate(
    grids_file: Path = typer.Argument(..., help="GRIDS.npy: (N, L, L) integer/bool, 1 = pore."),
    out: Path = typer.Option(..., "--out", help="RESULT.npz to write."),
    desorption: bool = typer.Option(False, "--desorption", help="Also compute desorption."),
    method: str = typer.Option("exact", help=METHOD_HELP),
    workers: int = typer.Option(1, min=1, help="Local processes."),
):
    """Adsorption (and desorption) isotherms of grids: RESULT.npz holds relative_pressure
    (41,), adsorption (N, 41) and, with --desorption, desorption (N, 41)."""
    if out.suffix != ".npz":
        raise InputError(f"--out must end in .npz, got {out}")
    model = LatticeDFT(method=method)
    grids = load_grids(grids_file)
    with progress_bar("simulating") as progress:
        result = simulate_with_progress(grids, model, desorption, workers, progress)
    arrays = {"relative_pressure": result.relative_pressure, "adsorption": result.adsorption}
    if desorption:
        arrays["desorption"] = result.desorption
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    typer.echo(f"wrote {out} ({len(grids)} isotherms)")


@app.command()
def dataset(
    n: int = typer.Option(..., "--n", min=1, help="Number of grids."),
    out: Path = typer.Option(..., "--out", help="Dataset folder (Zarr group)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    chunk_size: int = typer.Option(500, "--chunk-size", min=1, help="Samples per chunk."),
    size: int = typer.Option(20, "--size", min=4, help="Grid side L."),
):
    """Generate grids from several families and simulate them, resumably, into Zarr."""
    with make_executor(workers=workers, scheduler=scheduler) as executor:
        with progress_bar("dataset") as progress:
            summary = generate_dataset(
                out,
                n,
                seed=seed,
                chunk_size=chunk_size,
                size=size,
                executor=executor,
                progress=progress,
            )
    typer.echo(
        f"{out}: {summary.done}/{summary.n} samples complete "
        f"({summary.computed} computed now, {summary.resumed} found done, {summary.seconds:.0f} s)"
    )


@app.command()
def plot(
    source: Path = typer.Argument(..., help="A dataset folder, or GRIDS.npy."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    isotherms: Path = typer.Option(None, help="RESULT.npz for GRIDS.npy (else simulated)."),
    n: int = typer.Option(6, "--n", min=1, help="How many grids to draw."),
    seed: int = typer.Option(0, "--seed", help="Which grids of a dataset to draw."),
):
    """Draw grids beside their adsorption (and desorption) isotherms."""
    if out.suffix.lower() != ".png":
        raise InputError(f"--out must end in .png, got {out}")
    if source.is_dir():
        data = load_dataset(source)
        if len(data.grids) == 0:
            raise InputError(f"dataset {source} has no complete chunk yet")
        pick = np.sort(
            np.random.default_rng(seed).choice(
                len(data.grids), min(n, len(data.grids)), replace=False
            )
        )
        grids = data.grids[pick]
        result = Isotherms(
            data.relative_pressure,
            data.adsorption[pick],
            None if data.desorption is None else data.desorption[pick],
        )
        titles = [f"#{i} {data.family_names[data.family[i]]}" for i in pick]
    else:
        grids = load_grids(source)[:n]
        result = (
            _load_isotherms(isotherms, len(grids))
            if isotherms
            else LatticeDFT().simulate(grids, desorption=True)
        )
        titles = [f"#{i}" for i in range(len(grids))]
    plot_grids_and_isotherms(grids, result, out, titles=titles)
    typer.echo(f"wrote {out}")


def _load_isotherms(path: Path, n: int) -> Isotherms:
    if not path.is_file():
        raise InputError(f"isotherms file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            rh, ads = f["relative_pressure"], f["adsorption"][:n]
            des = f["desorption"][:n] if "desorption" in f else None
    except (KeyError, ValueError, OSError) as err:
        raise InputError(f"cannot read isotherms from {path}: {err}") from None
    if len(ads) != n:
        raise InputError(f"{path} holds {len(ads)} isotherms, fewer than the {n} grids drawn")
    return Isotherms(rh, ads, des)


@app.command("train-predictor")
def train_predictor_command(
    ctx: typer.Context,
    dataset_dir: Path = typer.Argument(..., help="Dataset folder from 'porous dataset'."),
    out: Path = typer.Option(..., "--out", help="Model file (.pt) to write."),
    epochs: int = typer.Option(12, min=1, help="Passes over the training isotherms."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(2e-3, help="Peak learning rate (cosine decay)."),
    width: int = typer.Option(24, min=1, help="Channels of the convolutions."),
    dilations: str = typer.Option("1,2,4,8,1", help="Dilation of each residual block."),
    seed: int = typer.Option(0),
):
    """Train the isotherm predictor (CNN with periodic padding, symmetry augmentation).
    The run folder OUT.run keeps config.json, metrics.jsonl and a checkpoint per epoch;
    an interrupted run resumes from it. Runs under torchrun on several processes."""
    run = training_run(out, ctx)
    try:
        dil = tuple(int(d) for d in dilations.split(","))
    except ValueError:
        raise InputError(
            f"--dilations must be comma-separated integers, got {dilations!r}"
        ) from None
    data = load_complete_dataset(dataset_dir)
    run.add_config(data={"dataset": str(dataset_dir), **data.attrs})
    with progress_bar("training predictor") as progress:
        model, report = train_predictor(
            data,
            epochs,
            batch_size,
            lr,
            width,
            dil,
            seed=seed,
            checkpoint=run,
            progress=progress,
        )
    report.update(dataset=str(dataset_dir), dataset_attrs=data.attrs, command=command_line())
    run.finish(lambda: model.save(out, metadata=report))
    maes = ", ".join(f"{k} {v:.4f}" for k, v in report["validation_mae"].items())
    typer.echo(f"wrote {out}; validation MAE: {maes}")


@app.command("evaluate-predictor")
def evaluate_predictor_command(
    dataset_dir: Path = typer.Argument(..., help="Held-out dataset folder."),
    predictor: Path = typer.Option(None, help="Predictor weights (default: shipped)."),
    exclude: Path = typer.Option(None, help="Training dataset: drop isotherms it holds."),
):
    """Held-out accuracy of the predictor (MAE of theta over the 41 points) per family."""
    model = load_model(predictor or default_weights()[0], IsothermPredictor)
    data = load_complete_dataset(dataset_dir)
    report = evaluate_predictor(model, data, load_complete_dataset(exclude) if exclude else None)
    typer.echo(
        f"{report['samples']} held-out grids; MAE per grid: median {report['median']:.4f}, "
        f"90th percentile {report['p90']:.4f}"
    )
    for name, mae in report["mae"].items():
        count = report["per_family_samples"].get(name, report["samples"])
        typer.echo(f"  {name:<9} MAE {mae:.4f}  ({count} grids)")


@app.command("train-generator")
def train_generator_command(
    ctx: typer.Context,
    dataset_dir: Path = typer.Argument(..., help="Dataset folder (targets drawn from it)."),
    predictor: Path = typer.Option(..., "--predictor", help="Trained predictor (.pt)."),
    out: Path = typer.Option(..., "--out", help="Model file (.pt) to write."),
    epochs: int = typer.Option(8, min=1),
    steps: int = typer.Option(150, min=1, help="Batches per epoch."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(1e-3),
    code_dim: int = typer.Option(4, min=1, help="Size of the latent code."),
    width: int = typer.Option(64, min=1),
    diversity_weight: float = typer.Option(3.0, help="Weight of the mode-seeking loss."),
    seed: int = typer.Option(0),
):
    """Train the generator (target isotherm, latent code) -> grid through the frozen
    predictor. Run folder OUT.run as for train-predictor (resumable, torchrun)."""
    run = training_run(out, ctx)
    model = load_model(predictor, IsothermPredictor)
    data = load_complete_dataset(dataset_dir)
    if data.grids.shape[-1] % 4:
        raise InputError(
            f"the generator needs a grid side divisible by 4, got {data.grids.shape[-1]}"
        )
    run.add_config(data={"dataset": str(dataset_dir), **data.attrs})
    with progress_bar("training generator") as progress:
        generator, report = train_generator(
            model,
            data,
            epochs,
            steps,
            batch_size,
            lr,
            code_dim,
            width,
            diversity_weight,
            seed=seed,
            checkpoint=run,
            progress=progress,
        )
    report.update(dataset=str(dataset_dir), predictor=str(predictor), command=command_line())
    run.finish(lambda: generator.save(out, metadata=report))
    last = report["history"][-1]
    typer.echo(
        f"wrote {out}; exact MAE of code-0 grids: dataset targets "
        f"{last['exact_mae_dataset']:.4f}, synthetic targets {last['exact_mae_synthetic']:.4f}"
    )


def _design_one(item, settings: DesignSettings, seed: int, predictor, generator, threads):
    index, target = item
    torch.set_num_threads(threads)
    designer = PorousDesigner.pretrained(predictor, generator, settings=settings)
    return designer.design(target, np.random.default_rng([seed, index]))


@app.command()
def design(
    targets_file: Path = typer.Argument(..., help="TARGETS.csv: 41 theta values per line."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    candidates: int = typer.Option(5, "--candidates", min=1, help="Grids per target."),
    seed: int = typer.Option(0, "--seed"),
    time_limit: float = typer.Option(9.0, "--time-limit", min=0.0, help="Seconds per target."),
    stages: str = typer.Option("generator,descent", help=f"Comma-separated, from {STAGES}."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes (over targets)."),
    predictor: Path = typer.Option(None, help="Predictor weights (default: shipped)."),
    generator: Path = typer.Option(None, help="Generator weights (default: shipped)."),
):
    """Design grids whose simulated adsorption isotherm matches each target. Writes
    OUT/designs.npz, OUT/summary.json and one PNG per target; every grid is verified by the
    exact simulator."""
    rh = default_relative_pressure()
    targets = read_targets(targets_file, len(rh))
    settings = DesignSettings(
        stages=tuple(st.strip() for st in stages.split(",") if st.strip()),
        candidates=candidates,
        time_limit=time_limit,
    )
    predictor = predictor or default_weights()[0]
    generator = generator or default_weights()[1]
    PorousDesigner.pretrained(predictor, generator, settings=settings)  # fail early
    results = [None] * len(targets)
    task = partial(
        _design_one,
        settings=settings,
        seed=seed,
        predictor=predictor,
        generator=generator,
        threads=max(1, torch.get_num_threads() // workers),
    )
    with make_executor(workers=workers) as executor, progress_bar("designing") as progress:
        progress(0, len(targets))
        for done, ((index, _), result) in enumerate(
            executor.map_unordered(task, list(enumerate(targets))), start=1
        ):
            results[index] = result
            progress(done, len(targets))
    _write_design(out, targets, results, rh, settings, seed)
    for i, r in enumerate(results):
        typer.echo(f"target {i}: best MAE {r.mae[0]:.4f}, max error {r.max_error[0]:.4f}")
    typer.echo(f"wrote {out}/designs.npz, summary.json and {len(results)} plots")


def _write_design(out: Path, targets, results, rh, settings: DesignSettings, seed: int) -> None:
    """Write the design folder under a temporary name, then swap it into place."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        k = min(len(r.grids) for r in results)
        with open(tmp / "designs.npz", "wb") as fh:
            np.savez(
                fh,
                target=np.asarray(targets),
                grids=np.stack([r.grids[:k] for r in results]).astype(np.uint8),
                adsorption=np.stack([r.adsorption[:k] for r in results]),
                relative_pressure=rh,
            )
        summary = design_summary(results, settings, seed)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        for i, r in enumerate(results):
            plot_design(r, rh, tmp / f"target-{i:03d}.png", title=f"target {i}")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
