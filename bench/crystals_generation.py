"""Crystal generation: of N generated crystals per composition, the share that decode sanely,
relax to convergence, are unique and novel, lie within 0.1 eV/atom of the hull (and how
close the best comes), and are phonon-stable. With --database, also how many relaxed
crystals are the known ground state of their formula (the lowest-energy reference of the
database, e.g. Nb-O's OQMD structures relaxed by the oracle, or a reference within
--ground-tolerance eV/atom of it), and whether the ground states of formulas held out of the
model's training (``crystals train --hold-out``) are rediscovered.

Run:  python bench/crystals_generation.py --system Mg-Mn-O [--model FILE] [--n 20]
          [--compositions Mg2Mn2O6,MgMn2O4,...] [--database DIR] [--phonons 3] [--data-dir ROOT]
          [--screen K] [--hops H] [--exchange] [--symmetry] [--random-search] [--decode-only]
          [--workers W]

``--decode-only`` skips the oracle and reports, per composition, the share of sane decodes,
the median density and shortest interatomic distance of the decoded crystals and the share
with atoms closer than 1 A, beside the training structures' medians.

``--random-search`` puts pyxtal's random symmetric crystals of each composition (the
database's own search, seeded per crystal) in the generator's place and runs them through
the same relaxation and checks: the reference a generator has to beat.

Without --database the hull column is empty (the hull needs oracle energies of the whole
system: build them with ``matinverse crystals database``). One torch thread per process; the
oracle is CHGNet. ``--workers W`` relaxes a composition's crystals in W local processes: each
crystal's relaxation and hops are seeded by (seed, its index), so the table is the same as
with one, and the CPU s column adds the workers' CPU time to this process's.
"""

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Composition

from matinverse.crystals.data import training_structures
from matinverse.crystals.database import (
    StructureIndex,
    converged_entries,
    reference_ground_states,
)
from matinverse.crystals.design import (
    evaluate_crystals,
    generate_crystals,
    load_generator,
    random_crystals,
)
from matinverse.crystals.slots import LAYOUTS
from matinverse.crystals.validity import sanity
from matinverse.parallel.executor import make_executor

DEFAULT_COMPOSITIONS = {
    "Mg-Mn-O": "Mg2Mn2O6,MgMn2O4,Mg2MnO4,Mg4Mn4O12,Mg3Mn3O8",
    "Nb-O": "Nb3O3,Nb2O4,Nb2O5,Nb4O10,Nb6O14",
}


def share(rows, key, among=None) -> str:
    pool = [r for r in rows if among is None or among(r)]
    if not pool:
        return "-"
    return f"{np.mean([bool(r[key]) for r in pool]):.2f}"


def decode_report(generator, compositions, n, seed, known, symmetry) -> None:
    data = [sanity(s) for s in known]
    print(
        f"training structures: {np.mean([c.sane for c in data]):.2f} sane, "
        f"median density {np.median([c.density for c in data]):.2f} "
        f"g/cm^3, median shortest distance {np.median([c.min_distance for c in data]):.2f} A"
    )
    print("| composition | sane | median density (g/cm^3) | median shortest distance (A) "
          "| shortest < 1 A |")  # fmt: skip
    print("|:--|--:|--:|--:|--:|")
    for composition in compositions:
        candidates = generate_crystals(
            generator, composition, n, seed, relax=False, symmetry=symmetry
        )
        checks = [sanity(c.generated) for c in candidates]
        print(
            f"| {composition} | {np.mean([c.sane for c in checks]):.2f} | "
            f"{np.median([c.density for c in checks]):.2f} | "
            f"{np.median([c.min_distance for c in checks]):.2f} | "
            f"{np.mean([c.min_distance < 1.0 for c in checks]):.2f} |",
            flush=True,
        )


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished (reaped) worker processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="Mg-Mn-O", choices=sorted(LAYOUTS))
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--compositions", default=None)
    parser.add_argument("--database", type=Path, default=None)
    parser.add_argument("--phonons", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ground-tolerance", type=float, default=0.01)
    parser.add_argument("--screen", type=int, default=1, help="sample K x N, keep N (design.py)")
    parser.add_argument("--hops", type=int, default=0, help="basin hops per crystal (design.py)")
    parser.add_argument("--symmetry", action="store_true", help="impose a space group (design.py)")
    parser.add_argument(
        "--exchange", action="store_true", help="hops also swap unlike cations (design.py)"
    )
    parser.add_argument(
        "--random-search",
        action="store_true",
        help="the reference: pyxtal random symmetric crystals (the database's search) in the "
        "generator's place, through the same checks",
    )
    parser.add_argument("--decode-only", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="local processes relaxing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    layout = LAYOUTS[args.system]
    generator = load_generator(args.system, args.model)
    known = [layout.decode(x) for x in training_structures(args.system, args.data_dir)]
    compositions = (args.compositions or DEFAULT_COMPOSITIONS[args.system]).split(",")
    held_out = generator.metadata.get("data", {}).get("hold_out") or []
    source = "pyxtal random symmetric crystals (reference), " if args.random_search else ""
    print(
        f"{source}model {args.model or 'shipped'} "
        f"(held out of training: {', '.join(held_out) or 'none'}); "
        f"{args.n} crystals per composition "
        f"(screened from {args.screen} x {args.n}, {args.hops} basin hops"
        f"{' with cation exchanges' if args.exchange else ''}"
        f"{', space group imposed' if args.symmetry else ''}), seed {args.seed}"
    )
    if args.decode_only:
        decode_report(generator, compositions, args.n, args.seed, known, args.symmetry)
        return
    ground = (
        reference_ground_states(converged_entries(args.database), args.ground_tolerance)
        if args.database
        else {}
    )
    print(
        "| composition | sane | relaxed (of sane) | unique (of relaxed) | novel (of unique) "
        "| within 0.1 eV/atom (of unique) | lowest above hull (eV/atom) | phonon-stable (checked) "
        "| ground state (relaxed) | CPU s |"
    )
    print("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    totals, found = [], {}
    for composition in compositions:
        start = cpu_seconds()
        with make_executor(workers=args.workers) as executor:  # closed here: workers reaped
            if args.random_search:
                sampled = random_crystals(layout, composition, args.n * args.screen, args.seed)
                candidates = evaluate_crystals(
                    sampled, args.n, args.seed, args.phonons, known, args.database,
                    hops=args.hops, executor=executor, exchange=args.exchange,
                )  # fmt: skip
            else:
                candidates = generate_crystals(
                    generator,
                    composition,
                    args.n,
                    args.seed,
                    True,
                    args.phonons,
                    known,
                    args.database,
                    screen=args.screen,
                    hops=args.hops,
                    executor=executor,
                    symmetry=args.symmetry,
                    exchange=args.exchange,
                )
        rows = [c.row for c in candidates]
        totals += rows
        unique = [r for r in rows if r["unique"]]
        near = lowest = "-"
        if unique and args.database:
            near = f"{np.mean([r['e_above_hull'] <= 0.1 for r in unique]):.2f}"
            lowest = f"{min(r['e_above_hull'] for r in unique):.3f}"
        checked = [r for r in rows if r["phonon_stable"] is not None]
        stable = f"{sum(r['phonon_stable'] for r in checked)}/{len(checked)}" if checked else "-"
        formula = Composition(composition).reduced_formula
        hits = "-"
        if formula in ground:
            state = StructureIndex(e.structure for e in ground[formula])
            count = sum(state.find(c.structure) is not None for c in candidates if c.row["relaxed"])
            found[formula] = found.get(formula, 0) + count
            hits = str(count)
        label = f"{composition} (held out)" if formula in held_out else composition
        print(
            f"| {label} | {share(rows, 'sane')} | "
            f"{share(rows, 'relaxed', lambda r: r['sane'])} | "
            f"{share(rows, 'unique', lambda r: r['relaxed'])} | "
            f"{share(unique, 'novel')} | {near} | {lowest} | {stable} | {hits} | "
            f"{cpu_seconds() - start:.0f} |",
            flush=True,
        )
    unique = [r for r in totals if r["unique"]]
    near = sum(r["e_above_hull"] is not None and r["e_above_hull"] <= 0.1 for r in unique)
    print(f"all: sane {share(totals, 'sane')}, relaxed of sane "
          f"{share(totals, 'relaxed', lambda r: r['sane'])}, within 0.1 eV/atom of the hull "
          f"{near} of {len(unique)} unique relaxed; "
          f"{sum(bool(r['hops']) for r in totals)} relaxed crystals lowered by a hop")  # fmt: skip
    tried = [f for f in held_out if f in found]
    if tried:
        print(
            f"held-out ground states rediscovered: {sum(found[f] > 0 for f in tried)} of "
            f"{len(tried)} ({', '.join(f'{f} {found[f]}' for f in tried)} matching crystals)"
        )


if __name__ == "__main__":
    main()
