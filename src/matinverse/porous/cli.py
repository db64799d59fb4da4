"""``matinverse porous ...``: simulate isotherms, generate datasets, plot grids."""

from functools import partial
from pathlib import Path

import numpy as np
import typer

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.parallel.executor import make_executor
from matinverse.porous.dataset import generate_dataset, load_dataset
from matinverse.porous.plot import plot_grids_and_isotherms
from matinverse.porous.simulator import Isotherms, LatticeDFT, validate_grids
from matinverse.progress import progress_bar

app = typer.Typer(
    help="Nanoporous grids and their lattice-DFT adsorption isotherms.", no_args_is_help=True
)

METHOD_HELP = "Solver: 'exact' (fixed point, default) or 'jacobi' (the seed's plain Jacobi)."


def load_grids(path: Path) -> np.ndarray:
    """Read an (N, L, L) 0/1 grid array from a .npy file, as validated uint8."""
    if not path.is_file():
        raise InputError(f"grids file not found: {path}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"cannot read {path} as a .npy array: {err}") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{path} holds an archive, expected a single .npy array")
    return validate_grids(arr)


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
