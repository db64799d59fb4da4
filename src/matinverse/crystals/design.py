"""Crystals for a requested composition: generate, decode, sanity filter, relax with the
oracle, deduplicate, check novelty, place on the hull and check phonons."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Composition, Structure

from matinverse.crystals import oracle
from matinverse.crystals.database import StructureIndex, converged_entries, random_crystal, twins
from matinverse.crystals.models import CrystalGenerator
from matinverse.crystals.slots import SlotLayout
from matinverse.crystals.symmetry import impose_symmetry
from matinverse.crystals.validity import sanity
from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.io.tables import write_rows
from matinverse.parallel.executor import Executor, SerialExecutor

WEIGHTS = {"Mg-Mn-O": "generator-mgmno.pt", "Nb-O": "generator-nbo.pt"}

SCREEN_STEPS = 30  # FIRE steps of the oracle before the screen ranks the samples by energy
HOP_RATTLE = 0.4  # A: per-coordinate standard deviation of a basin hop's displacement
HOP_EXCHANGE = 0.5  # chance that a basin hop (with ``exchange``) also swaps two unlike cations

SUMMARY_COLUMNS = (
    "id", "formula", "energy_per_atom", "e_above_hull", "min_distance", "relaxed", "novel",
    "unique", "phonon_stable",
)  # fmt: skip


@dataclass
class Candidate:
    """One generated crystal: its id, the decoded structure, the relaxed one (if relaxed)
    and the row of the summary (:data:`SUMMARY_COLUMNS`, None where not computed)."""

    id: str
    generated: Structure
    structure: Structure
    row: dict = field(default_factory=dict)


def load_generator(system: str, path: str | os.PathLike | None = None) -> CrystalGenerator:
    """The generator at ``path``, or the shipped one of ``system``; InputError when there is
    none or it generates another system."""
    from importlib import resources

    from matinverse.nn.saving import load_model

    if path is None:
        path = Path(str(resources.files("matinverse.crystals.weights") / WEIGHTS[system]))
        if not path.exists():
            raise InputError(
                f"the shipped {system} generator is missing ({path}): reinstall matinverse, or "
                "train one with 'matinverse crystals train' and pass it with --model"
            )
    generator = load_model(path, CrystalGenerator)
    if "-".join(generator.layout.elements) != system:
        raise InputError(f"{path} generates {'-'.join(generator.layout.elements)}, not {system}")
    return generator


def generate_crystals(
    generator: CrystalGenerator,
    composition: str | Composition,
    n: int,
    seed: int = 0,
    relax: bool = True,
    phonons: int = 0,
    known: list[Structure] = (),
    database: str | os.PathLike | None = None,
    calculator=None,
    progress: Callable[[int, int], None] | None = None,
    screen: int = 1,
    hops: int = 0,
    executor: Executor | None = None,
    symmetry: bool = False,
    exchange: bool = False,
) -> list[Candidate]:
    """n generated crystals of ``composition`` (checked against the generator's layout):
    :func:`sample_crystals` (``screen`` x n of them with ``screen`` > 1 and ``relax``), then,
    with ``relax``, :func:`evaluate_crystals`."""
    if screen < 1:
        raise InputError(f"screen must be at least 1, not {screen}")
    check_hops(hops, exchange)
    candidates = sample_crystals(generator, composition, n * screen if relax else n, seed, symmetry)
    if not relax:
        return candidates
    return evaluate_crystals(
        candidates, n, seed, phonons, known, database, calculator, progress, hops, executor,
        exchange,
    )  # fmt: skip


def check_hops(hops: int, exchange: bool) -> None:
    """InputError unless ``hops`` >= 0, and > 0 where ``exchange`` (a hop makes the swap)."""
    if hops < 0:
        raise InputError(f"hops must be at least 0, not {hops}")
    if exchange and not hops:
        raise InputError("cation exchanges are made by basin hops: give hops as well")


def sample_crystals(
    generator: CrystalGenerator,
    composition: str | Composition,
    n: int,
    seed: int = 0,
    symmetry: bool = False,
) -> list[Candidate]:
    """n crystals of ``composition`` sampled from the generator, decoded (with ``symmetry``,
    projected onto a drawn space group by
    :func:`~matinverse.crystals.symmetry.impose_symmetry`; the row's ``spacegroup``) and
    sanity-checked, none relaxed."""
    layout = generator.layout
    composition, counts = _whole_counts(layout, composition)
    counts = generator.check_counts([counts]).repeat(n, 1)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = generator(generator.noise(n, gen), counts).numpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    out = []
    for k, row in enumerate(x):
        structure, group = layout.decode(row), None
        if symmetry:
            structure, group = impose_symmetry(structure, rng)
        out.append(_candidate(f"{_name(composition)}-{seed}-{k:04d}", structure, group))
    return out


def random_crystals(
    layout: SlotLayout, composition: str | Composition, n: int, seed: int = 0
) -> list[Candidate]:
    """n pyxtal random symmetric crystals of ``composition`` (the database's random search,
    :func:`~matinverse.crystals.database.random_crystal`; the k-th seeded by (seed, k)),
    sanity-checked, none relaxed: the reference a generator is measured against."""
    composition, counts = _whole_counts(layout, composition)
    out = []
    for k in range(n):
        crystal_seed = int(np.random.default_rng([seed, k]).integers(2**31))
        structure, group = random_crystal(layout.elements, counts, crystal_seed)
        out.append(_candidate(f"{_name(composition)}-random-{seed}-{k:04d}", structure, group))
    return out


def _whole_counts(
    layout: SlotLayout, composition: str | Composition
) -> tuple[Composition, tuple[int, ...]]:
    """The composition checked against ``layout`` and its atom counts per layout element;
    InputError when a count is not a whole number."""
    composition = layout.check(composition)
    counts = tuple(int(composition[e]) for e in layout.elements)
    if any(c != composition[e] for c, e in zip(counts, layout.elements, strict=True)):
        raise InputError(f"{composition.formula}: atom counts must be whole numbers")
    return composition, counts


def _name(composition: Composition) -> str:
    return composition.formula.replace(" ", "")


def _candidate(name: str, structure: Structure, group: int | None) -> Candidate:
    """A sampled crystal's candidate: sanity-checked, nothing else computed yet."""
    check = sanity(structure)
    row = dict.fromkeys(SUMMARY_COLUMNS[1:])
    row.update(
        formula=structure.composition.reduced_formula,
        min_distance=round(check.min_distance, 4),
        sane=check.sane,
        hops=None,
        spacegroup=group,
    )
    return Candidate(name, structure, structure, row)


def evaluate_crystals(
    candidates: list[Candidate],
    n: int,
    seed: int = 0,
    phonons: int = 0,
    known: list[Structure] = (),
    database: str | os.PathLike | None = None,
    calculator=None,
    progress: Callable[[int, int], None] | None = None,
    hops: int = 0,
    executor: Executor | None = None,
    exchange: bool = False,
) -> list[Candidate]:
    """The n of sampled ``candidates`` kept and checked by the oracle. With more than n, the
    sane ones are relaxed for :data:`SCREEN_STEPS` steps and the n lowest in energy kept
    (insane ones only when fewer than n are sane), the rest dropped (the screen). Sane ones
    are relaxed (from the screened structure), then, with ``hops``, basin-hopped: ``hops``
    times displaced by :data:`HOP_RATTLE` A and relaxed again, the lowest minimum kept
    (:func:`~matinverse.crystals.oracle.relax_to_minimum`; the row's ``hops`` counts the
    hops that went lower), with ``exchange`` each hop swapping two unlike cations with
    probability :data:`HOP_EXCHANGE`; relaxed structures are deduplicated among themselves
    (StructureMatcher; the lowest energy is ``unique``), compared for novelty with
    ``known`` structures and the relaxed ones of ``database`` (a
    :mod:`matinverse.crystals.database` folder), placed on the hull of ``database``'s
    records plus themselves, and the ``phonons`` lowest in energy above the hull (unique
    ones) get a phonon check. The relaxations are fanned out over ``executor`` (in this
    process by default; ``calculator`` must then pickle, and None means each worker's own
    CHGNet). InputError for a negative ``hops`` or ``exchange`` without hops."""
    check_hops(hops, exchange)
    out = candidates
    for candidate in out:
        candidate.row["relaxed"] = False
    sane = [c for c in out if c.row["sane"]]
    screen = len(out) > n
    total = len(sane) + min(n, len(sane)) if screen else len(sane)
    executor = executor or SerialExecutor()
    done = 0

    def relaxed_in_turn(candidates, **settings):
        """Yield (candidate, Relaxation) as the executor finishes them."""
        nonlocal done
        work = partial(_relax, calculator=calculator, seed=seed, **settings)
        items = [(k, c.structure) for k, c in enumerate(candidates)]
        for (k, _), result in executor.map_unordered(work, items):
            done += 1
            if progress:
                progress(done, total)
            yield candidates[k], result

    if screen:
        energy = {}
        for candidate, result in relaxed_in_turn(sane, max_steps=SCREEN_STEPS):
            candidate.structure = result.structure
            energy[candidate.id] = result.energy_per_atom
        sane.sort(key=lambda c: np.nan_to_num(energy[c.id], nan=np.inf))
        out = (sane + [c for c in out if not c.row["sane"]])[:n]
        sane = [c for c in out if c.row["sane"]]
    for candidate, result in relaxed_in_turn(sane, hops=hops, exchange=exchange):
        candidate.structure = result.structure
        candidate.row["relaxed"] = result.converged
        candidate.row["energy_per_atom"] = result.energy_per_atom
        candidate.row["hops"] = result.rattles
    relaxed = sorted((c for c in out if c.row["relaxed"]), key=lambda c: c.row["energy_per_atom"])
    entries = converged_entries(database) if database is not None else []
    _mark_unique_and_novel(relaxed, [*known, *(e.structure for e in entries)])
    if relaxed and entries:
        hull = oracle.energies_above_hull(
            [e.structure.composition for e in entries] + [c.structure.composition for c in relaxed],
            [e.energy_per_atom for e in entries] + [c.row["energy_per_atom"] for c in relaxed],
        )[len(entries) :]
        for candidate, e in zip(relaxed, hull, strict=True):
            candidate.row["e_above_hull"] = float(e)
    best = [c for c in relaxed if c.row["unique"]][:phonons]
    for candidate in best:
        candidate.row["phonon_stable"] = oracle.phonon_check(candidate.structure, calculator).stable
    return out


def _relax(
    item: tuple[int, Structure],
    calculator,
    seed: int,
    max_steps: int = oracle.MAX_STEPS,
    hops: int = 0,
    exchange: bool = False,
) -> oracle.Relaxation:
    """The k-th crystal of (k, structure) relaxed for at most ``max_steps`` steps, then
    basin-hopped ``hops`` times (seeded by (seed, k)), with cation swaps when ``exchange``."""
    k, structure = item
    return oracle.relax_to_minimum(
        structure, calculator, max_steps=max_steps, rattle=HOP_RATTLE, rounds=hops,
        patience=hops, seed=[seed, k], exchange=HOP_EXCHANGE if exchange else 0.0,
    )  # fmt: skip


def _mark_unique_and_novel(relaxed: list[Candidate], known: list[Structure]) -> None:
    """``unique``: no lower-energy candidate is the same crystal (``relaxed`` is sorted by
    energy); ``novel``: none of ``known`` is."""
    for candidate, twin in zip(relaxed, twins([c.structure for c in relaxed]), strict=True):
        candidate.row["unique"] = twin is None
    index = StructureIndex(known)
    for candidate in relaxed:
        candidate.row["novel"] = index.find(candidate.structure) is None


def write_candidates(out: str | os.PathLike, candidates: list[Candidate]) -> Path:
    """DIR/<id>.cif (relaxed structure where relaxed), DIR/<id>.vasp (POSCAR) and
    DIR/summary.csv, each written atomically. Returns the summary path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for candidate in candidates:
        for suffix, fmt in ((".cif", "cif"), (".vasp", "poscar")):
            with atomic_path(out / f"{candidate.id}{suffix}") as tmp:
                tmp.write_text(candidate.structure.to(fmt=fmt))
    path = out / "summary.csv"
    write_rows(path, [{"id": c.id, **c.row} for c in candidates], SUMMARY_COLUMNS)
    return path
