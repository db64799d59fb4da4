"""What the rattle does to a crystal database.

``--database DIR``: a rattle check of its records: each of ``--sample`` converged records
(every ``--every``-th, the elemental references left out, at most ``--max-atoms`` atoms;
random candidates only with ``--random-only``) is displaced by a 0.05 A Gaussian (seed 1)
and relaxed again with the oracle; prints the energy change of each and how many dropped by
more than 10 meV/atom and 0.1 eV/atom. On a version-1 (unrattled) database this finds the
records that stopped on saddle points.

``--compare OLD``: a version-2 database (``--database``) against a version-1 one of the same
candidates: how many records a rattle lowered, how many ended more than 10 meV/atom and 0.1
eV/atom lower than in OLD (and the largest drop), and the ratio of optimiser steps.

Run:  python bench/crystals_rattle.py --database DIR [--sample 24] [--every 1]
          [--max-atoms 14] [--random-only] [--compare OLD]
"""

import argparse
import time
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from matinverse.crystals import oracle
from matinverse.crystals.database import RANDOM, RECORDS, read_lines


def rattle_check(records: list[dict], sample: int, every: int, max_atoms: int, random_only: bool):
    chosen = [
        r
        for r in records
        if r["converged"]
        and not r["id"].startswith("element-")
        and (r["id"].startswith(RANDOM) or not random_only)
        and len(r["structure"]["sites"]) <= max_atoms
    ][::every][:sample]
    rng = np.random.default_rng(1)
    drops = []
    for r in chosen:
        atoms = oracle.to_atoms(Structure.from_dict(r["structure"]))
        atoms.positions += rng.normal(0, oracle.RATTLE, atoms.positions.shape)
        start = time.process_time()
        result = oracle.relax(atoms)
        drops.append(result.energy_per_atom - r["energy_per_atom"])
        seconds = time.process_time() - start
        print(f"{r['id']} ({len(atoms)} atoms): {r['energy_per_atom']:.4f} -> "
              f"{result.energy_per_atom:.4f} eV/atom ({1000 * drops[-1]:+.1f} meV), "
              f"{result.steps} steps, {seconds:.1f} CPU s", flush=True)  # fmt: skip
    drops = np.array(drops)
    print(f"{len(drops)} records: {(drops < -0.01).sum()} dropped by more than 10 meV/atom, "
          f"{(drops < -0.1).sum()} by more than 0.1 eV/atom")  # fmt: skip


def compare(records: list[dict], old_records: list[dict]) -> None:
    old = {r["id"]: r for r in old_records if r["converged"]}
    new = [r for r in records if r["converged"]]
    both = [r for r in new if r["id"] in old]
    delta = np.array([r["energy_per_atom"] - old[r["id"]]["energy_per_atom"] for r in both])
    steps = sum(r["steps"] for r in both) / sum(old[r["id"]]["steps"] for r in both)
    print(f"{len(new)} converged records, {sum(r.get('rattles', 0) > 0 for r in new)} lowered "
          f"by a rattle; of the {len(both)} also converged in the old database: "
          f"{(delta < -0.01).sum()} more than 10 meV/atom lower, {(delta < -0.1).sum()} more "
          f"than 0.1 eV/atom lower (largest drop {-delta.min():.2f} eV/atom), "
          f"{(delta > 0.01).sum()} more than 10 meV/atom higher; optimiser steps "
          f"{steps:.2f} x the old database's")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--sample", type=int, default=24)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--max-atoms", type=int, default=14)
    parser.add_argument("--random-only", action="store_true")
    parser.add_argument("--compare", help="a version-1 database of the same candidates")
    args = parser.parse_args()
    records = read_lines(Path(args.database) / RECORDS)
    if args.compare:
        compare(records, read_lines(Path(args.compare) / RECORDS))
    else:
        rattle_check(records, args.sample, args.every, args.max_atoms, args.random_only)


if __name__ == "__main__":
    main()
