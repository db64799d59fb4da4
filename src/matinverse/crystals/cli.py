"""``matinverse crystals ...``: crystal structures of the Nb-O and Mg-Mn-O systems."""

from pathlib import Path

import typer

from matinverse.progress import progress_bar

app = typer.Typer(
    help="Crystal structures: a self-built database relaxed by a universal potential.",
    no_args_is_help=True,
)


@app.command()
def database(
    out: Path = typer.Option(..., "--out", help="Database folder (created or resumed)."),
    system: str = typer.Option("Nb-O", "--system", help="Nb-O or Mg-Mn-O."),
    n: int = typer.Option(..., "--n", min=0, help="Random (pyxtal) candidates."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    max_atoms: int = typer.Option(24, "--max-atoms", min=2, help="Atoms per cell at most."),
    oqmd: bool = typer.Option(
        True, "--oqmd/--no-oqmd", help="Nb-O: relax OQMD's 50 distinct structures too."
    ),
    phonons_within: float = typer.Option(
        None,
        "--phonons-within",
        min=0.0,
        help="Then check phonons of unique structures this close to the hull (eV/atom).",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Root holding nbo/ (else cache)."),
):
    """Relax random symmetric crystals (and references) with the oracle (CHGNet), resumably;
    write OUT/summary.csv with energies above the hull, duplicates and phonon verdicts."""
    from matinverse.crystals.data import nbo_references
    from matinverse.crystals.database import (
        build_database,
        check_phonons,
        cpu_hours,
        summarize,
        write_summary,
    )
    from matinverse.parallel.executor import make_executor

    references = nbo_references(data_dir) if oqmd and system == "Nb-O" else []
    with make_executor(workers=workers, scheduler=scheduler) as executor:
        with progress_bar("relax") as progress:
            built = build_database(
                out,
                system,
                n,
                seed,
                references,
                max_atoms,
                executor=executor,
                progress=progress,
            )
        if phonons_within is not None:
            with progress_bar("phonons") as progress:
                check_phonons(out, phonons_within, executor, progress)
    rows = summarize(out)
    path = write_summary(out, rows)
    converged = [r for r in rows if r["converged"]]
    unique = [r for r in converged if r["unique"]]
    near = [r for r in unique if r["e_above_hull"] is not None and r["e_above_hull"] <= 0.1]
    typer.echo(
        f"{out}: {built.relaxed_now} relaxed now, {built.found_done} found done; "
        f"{len(converged)}/{len(rows)} converged, {len(unique)} unique, "
        f"{len(near)} within 0.1 eV/atom of the hull; {cpu_hours(out):.2f} CPU hours; "
        f"wrote {path}"
    )
