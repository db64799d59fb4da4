"""``matinverse graphene ...``: porous graphene sheets and their energies."""

from pathlib import Path

import typer

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
    import numpy as np

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
    oracle = HueckelOracle()
    energies = np.empty(len(states))
    with progress_bar("oracle") as progress:
        for start in range(0, len(states), oracle.batch):
            chunk = states[start : start + oracle.batch]
            energies[start : start + len(chunk)] = oracle.energies(chunk)
            progress(start + len(chunk), len(states))
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
