"""Deduplicating a crystal database: ``database.twins`` (each structure reduced once, compared
only within its reduced formula and primitive size) against the plain use of pymatgen's
StructureMatcher (``fit`` of each structure against every earlier first of its formula, two
cell reductions per call), on the converged records of a ``matinverse crystals database``
folder in order of energy, as ``summarize`` orders them. Prints both times, their ratio and
whether the two give the same twins (they must).

Run:  python bench/crystals_dedup.py --database DIR [--limit N]
"""

import argparse
import time

from pymatgen.analysis.structure_matcher import StructureMatcher

from matinverse.crystals.database import converged_entries, twins


def pairwise_twins(structures):
    """The reference: StructureMatcher().fit against every earlier first of the formula."""
    matcher = StructureMatcher()
    firsts: dict[str, list[int]] = {}
    out = []
    for i, structure in enumerate(structures):
        kept = firsts.setdefault(structure.composition.reduced_formula, [])
        twin = next((k for k in kept if matcher.fit(structures[k], structure)), None)
        if twin is None:
            kept.append(i)
        out.append(twin)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--limit", type=int, default=0, help="first N records only (0: all)")
    args = parser.parse_args()
    entries = converged_entries(args.database)
    entries = entries[: args.limit] if args.limit else entries
    structures = [e.structure for e in sorted(entries, key=lambda e: e.energy_per_atom)]
    start = time.process_time()
    ours = twins(structures)
    fast = time.process_time() - start
    start = time.process_time()
    reference = pairwise_twins(structures)
    slow = time.process_time() - start
    formulas = len({s.composition.reduced_formula for s in structures})
    unique = sum(t is None for t in ours)
    print(f"{len(structures)} converged records, {formulas} formulas, {unique} unique")
    print(f"twins: {fast:.1f} CPU s; pairwise StructureMatcher: {slow:.1f} CPU s; "
          f"ratio {slow / fast:.1f}; same twins: {ours == reference}")  # fmt: skip


if __name__ == "__main__":
    main()
