"""A self-built crystal database: random symmetric crystals (pyxtal) and reference
structures, relaxed by the oracle, deduplicated, with energies above the convex hull and
phonon checks of the low-energy ones.

A database is a folder: ``database.json`` (system, seed, oracle settings), ``records.jsonl``
(one relaxed candidate per line, appended and synced as each finishes, so a run killed at any
moment loses at most the candidates in flight, and rerunning the same command relaxes only
those not yet recorded) and ``phonons.jsonl`` (one phonon check per line, the same way).
``summarize`` turns them into one table.
"""

import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from matinverse.crystals import oracle
from matinverse.crystals.slots import SlotLayout, layout_of
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.io.chunked import lock_folder, unlock_folder
from matinverse.io.tables import write_rows
from matinverse.parallel import Executor, SerialExecutor

FORMAT = "matinverse-crystal-database"
VERSION = 2  # 2: relaxations are rattled until a minimum (oracle.relax_to_minimum)
CONFIG = "database.json"
RECORDS = "records.jsonl"
PHONONS = "phonons.jsonl"
MAX_ATOMS = 24
SPACEGROUP_TRIES = 200
RANDOM = "random-"  # id prefix of the random candidates; every other record is a reference

# elemental references for the hull (relaxed like every candidate): the metals in their
# ground-state lattice (manganese's 58-atom alpha phase approximated by bcc), oxygen as an O2
# molecule in a 10 A box (positions relaxed, cell kept)
ELEMENT_REFERENCES = {
    "Nb": ("Im-3m", 3.30, None),
    "Mg": ("P6_3/mmc", 3.21, 5.21),
    "Mn": ("Im-3m", 2.86, None),
}
O2_BOX = 10.0  # A
O2_BOND = 1.21  # A


@dataclass(frozen=True)
class Candidate:
    """One structure to relax: ``id`` (``random-<k>``, ``oqmd-<structure id>`` or
    ``element-<symbol>``), atoms per element of the layout, the pyxtal seed (random ones),
    the start structure as a pymatgen dict (references) and whether the cell relaxes."""

    id: str
    counts: tuple[int, ...]
    seed: int = -1
    structure: dict | None = None
    relax_cell: bool = True


def allowed_counts(layout: SlotLayout, max_atoms: int = MAX_ATOMS) -> list[tuple[int, ...]]:
    """Atom counts per element that fit the layout's slots, hold 2 to ``max_atoms`` atoms and
    at least one cation, with no more oxygen than the cations' highest oxidation states can
    balance (layout's last element is the anion)."""
    cations, anion = layout.elements[:-1], layout.elements[-1]
    highest = [max(Element(e).oxidation_states) for e in cations]
    out = []
    for counts in np.ndindex(*(n + 1 for n in layout.slots)):
        total = sum(counts)
        if not 2 <= total <= max_atoms or sum(counts[:-1]) == 0:
            continue
        if -Element(anion).oxidation_states[0] * counts[-1] > np.dot(highest, counts[:-1]):
            continue
        out.append(tuple(int(c) for c in counts))
    return out


def random_candidates(
    layout: SlotLayout, n: int, seed: int, max_atoms: int = MAX_ATOMS
) -> list[Candidate]:
    """The first n random candidates of ``seed``: counts drawn uniformly from
    :func:`allowed_counts`, each with its own pyxtal seed (candidate k is the same whatever
    n is, so a database grows by rerunning with a larger n)."""
    pool = allowed_counts(layout, max_atoms)
    out = []
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        counts = pool[int(rng.integers(len(pool)))]
        out.append(Candidate(f"{RANDOM}{k:06d}", counts, int(rng.integers(2**31))))
    return out


def reference_candidates(layout: SlotLayout, structures: Iterable[tuple[str, Structure]] = ()):
    """Elemental references of the layout's elements, then the given (name, structure)
    pairs (e.g. the OQMD structures), as candidates."""
    out = []
    for element in layout.elements:
        counts = tuple(int(e == element) for e in layout.elements)
        if element == "O":
            o2 = Structure(
                Lattice.cubic(O2_BOX),
                ["O", "O"],
                [[0, 0, 0], [O2_BOND, 0, 0]],
                coords_are_cartesian=True,
            )
            counts = (0,) * (len(counts) - 1) + (2,)
            out.append(Candidate("element-O", counts, -1, o2.as_dict(), relax_cell=False))
            continue
        group, a, c = ELEMENT_REFERENCES[element]
        lattice = Lattice.hexagonal(a, c) if c else Lattice.cubic(a)
        sites = [[1 / 3, 2 / 3, 1 / 4]] if c else [[0, 0, 0]]
        structure = Structure.from_spacegroup(group, lattice, [element], sites)
        counts = tuple(len(structure) * x for x in counts)
        out.append(Candidate(f"element-{element}", counts, -1, structure.as_dict()))
    for name, structure in structures:
        counts = tuple(int(structure.composition[e]) for e in layout.elements)
        out.append(Candidate(name, counts, -1, structure.as_dict()))
    return out


def random_crystal(elements: tuple[str, ...], counts: tuple[int, ...], seed: int):
    """(Structure, space group number): a pyxtal random crystal of that composition in a
    random compatible space group (2-230)."""
    from pyxtal import pyxtal

    species = [e for e, n in zip(elements, counts, strict=True) if n]
    numbers = [n for n in counts if n]
    rng = np.random.default_rng(seed)
    for _ in range(SPACEGROUP_TRIES):
        group = int(rng.integers(2, 231))
        crystal = pyxtal()
        try:
            crystal.from_random(3, group, species, numbers, random_state=int(rng.integers(2**31)))
        except Exception:  # pyxtal raises several types for incompatible Wyckoff counts
            continue
        if crystal.valid:
            return crystal.to_pymatgen(), group
    formula = "".join(f"{e}{n}" for e, n in zip(species, numbers, strict=True))
    raise InputError(f"pyxtal found no crystal of {formula} in {SPACEGROUP_TRIES} tries")


@dataclass(frozen=True)
class OracleSettings:
    """Relaxation settings recorded with a database (a rerun must use the same)."""

    calculator: str = "CHGNet 0.3.0"
    fmax: float = oracle.FMAX
    max_steps: int = oracle.MAX_STEPS
    rattle: float = oracle.RATTLE
    rattle_rounds: int = oracle.RATTLE_ROUNDS


def relax_candidate(
    candidate: Candidate, elements: tuple[str, ...], settings: OracleSettings
) -> dict:
    """The record of one candidate: start space group, relaxed structure (pymatgen dict; by
    :func:`oracle.relax_to_minimum`, rattled with a seed from the id), energy per atom (eV),
    converged, optimiser steps, seconds, rattles that lowered the energy (module level: runs
    in workers)."""
    if candidate.structure is None:
        start, group = random_crystal(elements, candidate.counts, candidate.seed)
    else:
        start, group = Structure.from_dict(candidate.structure), None
    result = oracle.relax_to_minimum(
        start,
        fmax=settings.fmax,
        max_steps=settings.max_steps,
        cell=candidate.relax_cell,
        rattle=settings.rattle,
        rounds=settings.rattle_rounds,
        seed=zlib.crc32(candidate.id.encode()),
    )
    return {
        "id": candidate.id,
        "formula": start.composition.formula.replace(" ", ""),
        "start_spacegroup": group,
        "energy_per_atom": result.energy_per_atom if np.isfinite(result.energy_per_atom) else None,
        "converged": result.converged,
        "steps": result.steps,
        "seconds": result.seconds,
        "rattles": result.rattles,
        "structure": result.structure.as_dict(),
    }


def read_lines(path: Path) -> list[dict]:
    """The complete JSON lines of ``path`` (a line cut short by a kill is dropped and
    truncated away, so the next append starts on a fresh line)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(end)
    return [json.loads(line) for line in data[:end].splitlines() if line.strip()]


def append_line(handle, record: dict) -> None:
    handle.write(json.dumps(record) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _open_database(out: Path, config: dict) -> None:
    path = out / CONFIG
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("format") != FORMAT:
            raise InputError(f"{out} holds no crystal database")
        diffs = sorted(k for k in config if stored.get(k) != config[k])
        if diffs:
            raise InputError(
                f"{out} holds a database made with other settings ({', '.join(diffs)}); "
                "rerun with the same settings to resume it, or choose a new folder"
            )
        return
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(config, indent=1))


@dataclass
class BuildSummary:
    total: int
    relaxed_now: int
    found_done: int
    seconds: float


def build_database(
    out: str | os.PathLike,
    system: str,
    n: int,
    seed: int = 0,
    references: Iterable[tuple[str, Structure]] = (),
    max_atoms: int = MAX_ATOMS,
    settings: OracleSettings = OracleSettings(),
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildSummary:
    """Relax the elemental references, ``references`` and n random candidates of ``system``
    into the database at ``out`` (created, or resumed: recorded candidates are skipped)."""
    layout = layout_of(system)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(out)
    try:
        config = {
            "format": FORMAT,
            "version": VERSION,
            "system": system,
            "seed": seed,
            "max_atoms": max_atoms,
            "oracle": asdict(settings),
        }
        _open_database(out, config)
        done = {r["id"] for r in read_lines(out / RECORDS)}
        candidates = reference_candidates(layout, references) + random_candidates(
            layout, n, seed, max_atoms
        )
        todo = [c for c in candidates if c.id not in done]
        found = len(candidates) - len(todo)
        seconds = 0.0
        work = partial(relax_candidate, elements=layout.elements, settings=settings)
        executor = executor or SerialExecutor()
        if progress:
            progress(found, len(candidates))
        with open(out / RECORDS, "a") as handle:
            for k, (_, record) in enumerate(executor.map_unordered(work, todo), 1):
                append_line(handle, record)
                seconds += record["seconds"]
                if progress:
                    progress(found + k, len(candidates))
        return BuildSummary(len(candidates), len(todo), found, seconds)
    finally:
        unlock_folder(lock)


SUMMARY_COLUMNS = (
    "id", "formula", "natoms", "start_spacegroup", "spacegroup", "energy_per_atom",
    "e_above_hull", "converged", "unique", "duplicate_of", "steps", "seconds", "rattles",
    "phonon_min_thz", "phonon_stable",
)  # fmt: skip


def spacegroup(structure: Structure, symprec: float = 0.1) -> str:
    try:
        return SpacegroupAnalyzer(structure, symprec=symprec).get_space_group_symbol()
    except Exception:  # spglib fails on some badly distorted cells
        return ""


def summarize(out: str | os.PathLike) -> list[dict]:
    """One row per record (columns :data:`SUMMARY_COLUMNS`): converged records are grouped
    by StructureMatcher within each reduced formula (the lowest energy of a group is its
    ``unique`` member), and the hull is built over every converged record."""
    out = Path(out)
    records = read_lines(out / RECORDS)
    phonons = {p["id"]: p for p in read_lines(out / PHONONS)}
    rows, structures = [], {}
    for r in records:
        s = Structure.from_dict(r["structure"])
        structures[r["id"]] = s
        ok = bool(r["converged"]) and r["energy_per_atom"] is not None
        rows.append(
            {
                "id": r["id"],
                "formula": s.composition.reduced_formula,
                "natoms": len(s),
                "start_spacegroup": r["start_spacegroup"],
                "spacegroup": spacegroup(s) if ok else "",
                "energy_per_atom": r["energy_per_atom"],
                "e_above_hull": None,
                "converged": ok,
                "unique": False,
                "duplicate_of": "",
                "steps": r["steps"],
                "seconds": r["seconds"],
                "rattles": r.get("rattles"),  # absent from version-1 databases
                "phonon_min_thz": phonons.get(r["id"], {}).get("min_frequency"),
                "phonon_stable": phonons.get(r["id"], {}).get("stable"),
            }
        )
    good = [row for row in rows if row["converged"]]
    if good:
        try:
            hull = oracle.energies_above_hull(
                [structures[row["id"]].composition for row in good],
                [row["energy_per_atom"] for row in good],
            )
        except InputError:
            hull = [None] * len(good)
        for row, e in zip(good, hull, strict=True):
            row["e_above_hull"] = None if e is None else float(e)
    good.sort(key=lambda r: r["energy_per_atom"])
    for row, twin in zip(good, twins([structures[r["id"]] for r in good]), strict=True):
        row["unique"] = twin is None
        row["duplicate_of"] = "" if twin is None else good[twin]["id"]
    return rows


@dataclass(frozen=True)
class Entry:
    """A converged record: its id, relaxed structure and oracle energy (eV/atom)."""

    id: str
    structure: Structure
    energy_per_atom: float


def converged_entries(out: str | os.PathLike) -> list[Entry]:
    """The converged records of the database at ``out``; InputError when it holds none."""
    path = Path(out) / RECORDS
    if not path.exists():
        raise InputError(f"{out} holds no crystal database ({RECORDS} missing)")
    return [
        Entry(r["id"], Structure.from_dict(r["structure"]), r["energy_per_atom"])
        for r in read_lines(path)
        if r["converged"] and r["energy_per_atom"] is not None
    ]


def reference_ground_states(
    entries: Iterable[Entry], tolerance: float = 0.0
) -> dict[str, list[Entry]]:
    """Per reduced formula, the reference entries (the known structures and elements, not
    the random candidates) within ``tolerance`` eV/atom of the lowest reference of that
    formula, lowest first: the known ground state by the oracle, with the polymorphs the
    oracle cannot tell from it at that tolerance."""
    by_formula: dict[str, list[Entry]] = {}
    for entry in entries:
        if not entry.id.startswith(RANDOM):
            formula = entry.structure.composition.reduced_formula
            by_formula.setdefault(formula, []).append(entry)
    out = {}
    for formula, found in by_formula.items():
        found.sort(key=lambda e: e.energy_per_atom)
        out[formula] = [
            e for e in found if e.energy_per_atom <= found[0].energy_per_atom + tolerance
        ]
    return out


class StructureIndex:
    """Structures to look crystals up in with pymatgen's StructureMatcher (default
    tolerances: scaled cells and supercells match). Each structure is reduced (Niggli, then
    primitive) once, when its reduced formula is first looked up, and a lookup compares only
    the structures of the same reduced formula and primitive size: the matcher, not asked to
    build supercells, never matches primitive cells of different sizes, so the answers are
    the matcher's own, without its two reductions per comparison."""

    def __init__(self, structures: Iterable[Structure] = ()):
        self._matcher = StructureMatcher()
        self._pending: dict[str, list[tuple[int, Structure]]] = {}
        self._groups: dict[tuple[str, int], list[tuple[int, Structure]]] = {}
        self._size = 0
        for structure in structures:
            self.add(structure)

    def add(self, structure: Structure) -> int:
        """Add ``structure``; returns its position (0, 1, ...)."""
        self._pending.setdefault(structure.composition.reduced_formula, []).append(
            (self._size, structure)
        )
        self._size += 1
        return self._size - 1

    def find(self, structure: Structure, add: bool = False) -> int | None:
        """The position of the first added structure that is the same crystal as
        ``structure``, or None (after adding ``structure`` when ``add``)."""
        formula = structure.composition.reduced_formula
        for position, other in self._pending.pop(formula, []):
            reduced = _reduced_cell(other)
            self._group(formula, reduced).append((position, reduced))
        reduced = _reduced_cell(structure)
        group = self._group(formula, reduced)
        for position, other in group:
            if self._matcher.fit(other, reduced, skip_structure_reduction=True):
                return position
        if add:
            group.append((self._size, reduced))
            self._size += 1
        return None

    def _group(self, formula: str, reduced: Structure) -> list[tuple[int, Structure]]:
        return self._groups.setdefault((formula, len(reduced)), [])


def _reduced_cell(structure: Structure) -> Structure:
    """The Niggli-reduced primitive cell the matcher compares."""
    return structure.get_reduced_structure(reduction_algo="niggli").get_primitive_structure()


def twins(structures: list[Structure]) -> list[int | None]:
    """For structures in order of preference (lowest energy first): the index of the earlier
    one each matches (:class:`StructureIndex`), or None for the first of its kind."""
    index = StructureIndex()
    firsts: list[int] = []  # index position -> list position
    out: list[int | None] = []
    for i, structure in enumerate(structures):
        twin = index.find(structure, add=True)
        if twin is None:
            firsts.append(i)
        out.append(None if twin is None else firsts[twin])
    return out


def check_phonons(
    out: str | os.PathLike,
    within: float = 0.05,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Phonon checks (:func:`oracle.phonon_check`, default tolerance and mesh) of the unique
    converged records within ``within`` eV/atom of the hull not yet checked; returns how
    many were checked now."""
    out = Path(out)
    lock = lock_folder(out)
    try:
        rows = summarize(out)
        records = {r["id"]: r for r in read_lines(out / RECORDS)}
        todo = [
            (row["id"], records[row["id"]]["structure"])
            for row in rows
            if row["unique"]
            and row["e_above_hull"] is not None
            and row["e_above_hull"] <= within
            and row["phonon_stable"] is None
        ]
        executor = executor or SerialExecutor()
        if progress:
            progress(0, len(todo))
        with open(out / PHONONS, "a") as handle:
            for k, (item, check) in enumerate(executor.map_unordered(_phonon_item, todo), 1):
                append_line(handle, {"id": item[0], **asdict(check)})
                if progress:
                    progress(k, len(todo))
        return len(todo)
    finally:
        unlock_folder(lock)


def _phonon_item(item: tuple[str, dict]) -> "oracle.PhononCheck":
    return oracle.phonon_check(Structure.from_dict(item[1]))


def write_summary(out: str | os.PathLike, rows: list[dict]) -> Path:
    """``out``/summary.csv of :func:`summarize`'s rows (written atomically)."""
    path = Path(out) / "summary.csv"
    write_rows(path, rows, SUMMARY_COLUMNS)
    return path


def database_system(out: str | os.PathLike) -> str:
    """The chemical system of the database at ``out``; InputError when it holds none."""
    path = Path(out) / CONFIG
    config = json.loads(path.read_text()) if path.exists() else {}
    if config.get("format") != FORMAT:
        raise InputError(f"{out} holds no crystal database")
    return config["system"]


def training_tensor(
    out: str | os.PathLike, within: float | None = None, hold_out: Iterable[str] = ()
) -> tuple[np.ndarray, dict]:
    """(N, R, 3) slot encodings of a database's unique converged compounds, to train a
    generator on, and a report of what was left out: the elemental references, formulas in
    ``hold_out`` (any formula form; matched as reduced formulas), structures more than
    ``within`` eV/atom above the hull (when given) and ones that do not fit the slots."""
    layout = layout_of(database_system(out))
    held = {layout.check(f).reduced_formula for f in hold_out}
    structures = {r["id"]: r["structure"] for r in read_lines(Path(out) / RECORDS)}
    report = {"database": str(out), "unique": 0, "elements": 0, "held_out": 0, "above": 0}
    report.update(within=within, hold_out=sorted(held), misfits=0)
    fits = []
    for row in summarize(out):
        if not row["unique"]:
            continue
        report["unique"] += 1
        structure = Structure.from_dict(structures[row["id"]])
        if len(structure.composition) < 2:
            report["elements"] += 1
        elif row["formula"] in held:
            report["held_out"] += 1
        elif within is not None and (row["e_above_hull"] is None or row["e_above_hull"] > within):
            report["above"] += 1
        else:
            try:
                fits.append(layout.encode(structure))
            except InputError:
                report["misfits"] += 1
    if not fits:
        raise InputError(f"{out}: no structure left to train on ({report})")
    report["structures"] = len(fits)
    return np.stack(fits), report


def fingerprint(out: str | os.PathLike) -> str:
    """12 hex digits naming the database's content as a hull sees it: the sha256 of its
    records' ids, convergence flags and energies rounded to 0.1 meV/atom, in id order (so the
    order workers finished in does not matter). Two builds with the same fingerprint give
    every generated crystal the same energy above the hull."""
    lines = sorted(
        f"{r['id']} {int(bool(r['converged']))} "
        f"{'-' if r['energy_per_atom'] is None else format(r['energy_per_atom'], '.4f')}"
        for r in read_lines(Path(out) / RECORDS)
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def cpu_hours(out: str | os.PathLike) -> float:
    """Oracle wall hours summed over the records (one process each)."""
    return sum(r["seconds"] for r in read_lines(Path(out) / RECORDS)) / 3600
