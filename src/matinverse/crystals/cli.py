"""``matinverse crystals ...``: crystal structures of the Nb-O and Mg-Mn-O systems."""

from pathlib import Path

import typer

from matinverse.errors import InputError
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
    known: bool = typer.Option(
        True,
        "--known/--no-known",
        help="Relax the system's known structures too (Nb-O: OQMD's 50 distinct ones; "
        "Mg-Mn-O: the 1,253 of the GAN's training set).",
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
    from matinverse.crystals.data import known_structures
    from matinverse.crystals.database import (
        build_database,
        check_phonons,
        cpu_hours,
        fingerprint,
        summarize,
        write_summary,
    )
    from matinverse.parallel.executor import make_executor

    references = known_structures(system, data_dir) if known else []
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
    rattled = sum(bool(r["rattles"]) for r in converged)
    typer.echo(
        f"{out}: {built.relaxed_now} relaxed now, {built.found_done} found done; "
        f"{len(converged)}/{len(rows)} converged ({rattled} lowered by a rattle), "
        f"{len(unique)} unique, "
        f"{len(near)} within 0.1 eV/atom of the hull; {cpu_hours(out):.2f} CPU hours; "
        f"fingerprint {fingerprint(out)}; wrote {path}"
    )


@app.command()
def train(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Generator file (.pt) to write."),
    system: str = typer.Option("Mg-Mn-O", "--system", help="Mg-Mn-O or Nb-O."),
    epochs: int = typer.Option(30, min=1),
    steps: int = typer.Option(500, min=1, help="Steps per epoch (critic or generator)."),
    batch_size: int = typer.Option(64, min=1),
    n_critic: int = typer.Option(5, min=1, help="Critic updates per generator update."),
    lr: float = typer.Option(1e-4),
    width: int = typer.Option(512, min=8),
    repulsion: float = typer.Option(10.0, min=0.0, help="Weight of the overlap prior."),
    volume_match: float = typer.Option(
        10.0, min=0.0, help="Weight of matching the batch's volume per atom to the data's."
    ),
    seed: int = typer.Option(0),
    database: Path = typer.Option(
        None,
        help="Train on this self-built database's unique relaxed compounds (made by "
        "'crystals database' for --system) instead of the published training set.",
    ),
    within: float = typer.Option(
        None, min=0.0, help="With --database: only structures this close to the hull (eV/atom)."
    ),
    hold_out: str = typer.Option(
        None,
        metavar="FORMULAS",
        help="With --database: comma-separated formulas left out (e.g. NbO,NbO2,Nb2O5).",
    ),
    threads: int = typer.Option(
        None,
        "--threads",
        min=1,
        help="Torch threads (default: torch's own choice). The same seed and thread count "
        "give the same weights; another thread count sums in another order.",
    ),
    data_dir: Path = typer.Option(None, "--data-dir", help="Root holding mgmno/ or nbo/."),
):
    """Train the composition-conditioned crystal WGAN-GP (auxiliary composition head,
    augmentation by translations, slot shuffles and axis permutations); after each epoch
    the history records the share of sane decodes. The run folder OUT.run keeps
    config.json, metrics.jsonl and a checkpoint per epoch; an interrupted run resumes."""
    import torch

    from matinverse.cliutil import command_line, training_run
    from matinverse.crystals.data import training_structures
    from matinverse.crystals.database import database_system, training_tensor
    from matinverse.crystals.slots import layout_of
    from matinverse.crystals.training import train_crystal_gan

    if threads is not None:
        torch.set_num_threads(threads)
    layout = layout_of(system)
    if database is None:
        if within is not None or hold_out is not None:
            raise InputError("--within and --hold-out apply to --database only")
        tensor = training_structures(system, data_dir)
        report = {"system": system, "structures": len(tensor)}
    else:
        found = database_system(database)
        if found != system:
            raise InputError(f"{database} is a {found} database, not {system}: pass its --system")
        held = [f.strip() for f in hold_out.split(",") if f.strip()] if hold_out else []
        tensor, report = training_tensor(database, within, held)
        report["system"] = system
    run = training_run(out, ctx)
    run.add_config(data=report, threads=torch.get_num_threads())
    with progress_bar("training crystal GAN") as progress:
        generator, history = train_crystal_gan(
            tensor,
            layout,
            epochs,
            steps,
            batch_size,
            n_critic,
            repulsion=repulsion,
            volume_match=volume_match,
            lr=lr,
            width=width,
            seed=seed,
            checkpoint=run,
            progress=progress,
        )
    run.finish(
        lambda: generator.save(
            out,
            {
                "data": report,
                "history": history,
                "command": command_line(),
                "threads": torch.get_num_threads(),
            },
        )
    )
    last = history[-1]
    typer.echo(
        f"wrote {out}; samples: {last['sane']:.1%} sane, median shortest distance "
        f"{last['median_min_distance']:.2f} A, median density {last['median_density']:.2f} g/cm^3"
    )


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="Folder for summary.csv and the CIF files."),
    system: str = typer.Option(..., "--system", help="Mg-Mn-O or Nb-O."),
    composition: str = typer.Option(..., "--composition", help="Formula, e.g. Mg2Mn2O6."),
    n: int = typer.Option(10, "--n", min=1, help="Crystals to generate."),
    relax: bool = typer.Option(True, "--relax/--no-relax", help="Relax the sane ones."),
    phonons: bool = typer.Option(False, "--phonons", help="Phonon check of the best 3."),
    screen: int = typer.Option(
        1,
        "--screen",
        min=1,
        help="Sample K x N, relax each sane one for 30 steps, keep the N lowest in energy.",
        metavar="K",
    ),
    hops: int = typer.Option(
        0,
        "--hops",
        min=0,
        help="Basin hops after relaxing: H times displace every atom by 0.4 A and relax "
        "again, keeping the lowest minimum.",
        metavar="H",
    ),
    exchange: bool = typer.Option(
        False,
        "--exchange",
        help="With --hops: each hop also swaps two unlike metal atoms (Mg and Mn) with "
        "probability 1/2, reaching cation orders that displacements do not.",
    ),
    symmetry: bool = typer.Option(
        False,
        "--symmetry",
        help="Project each generated crystal onto a random space group that its composition "
        "fits (cell onto the lattice system, atoms onto Wyckoff orbits) before relaxing.",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Local processes relaxing."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    seed: int = typer.Option(0, "--seed"),
    model: Path = typer.Option(None, "--model", help="Generator file (default: shipped)."),
    database: Path = typer.Option(
        None, "--database", help="A 'crystals database' folder: its energies make the hull."
    ),
    data_dir: Path = typer.Option(None, "--data-dir", help="Root holding mgmno/ or nbo/."),
):
    """Generate crystals of a composition, decode and sanity-check them, relax them with the
    oracle, deduplicate, check novelty against the training structures, place them on the
    hull of --database and check phonons of the best; write DIR/summary.csv and DIR/<id>.cif
    (and .vasp) for every row."""
    from matinverse.crystals.data import training_structures
    from matinverse.crystals.design import generate_crystals, load_generator, write_candidates
    from matinverse.crystals.slots import layout_of
    from matinverse.parallel.executor import make_executor

    layout = layout_of(system)
    layout.check(composition)
    generator = load_generator(system, model)
    known = [layout.decode(x) for x in training_structures(system, data_dir)] if relax else []
    with make_executor(workers=workers, scheduler=scheduler) as executor:
        with progress_bar("relax") as progress:
            candidates = generate_crystals(
                generator,
                composition,
                n,
                seed,
                relax,
                3 if phonons else 0,
                known,
                database,
                progress=progress,
                screen=screen,
                hops=hops,
                executor=executor,
                symmetry=symmetry,
                exchange=exchange,
            )
    summary = write_candidates(out, candidates)
    sane = sum(c.row["sane"] for c in candidates)
    relaxed = sum(bool(c.row["relaxed"]) for c in candidates)
    typer.echo(f"{len(candidates)} generated, {sane} sane, {relaxed} relaxed; wrote {summary}")
