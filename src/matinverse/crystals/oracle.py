"""The crystal oracle: relaxation, energy above the convex hull and phonon stability, through
any ASE calculator (CHGNet's pretrained universal potential by default).

Energies are the calculator's own: CHGNet's include Materials Project 2020-style
corrections, so a hull built here is a hull of oracle energies only; never mix them with raw
DFT energies on one hull.
"""

import functools
import time
from dataclasses import dataclass, replace

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.filters import FrechetCellFilter
from ase.optimize import FIRE
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition, Element, Structure

from matinverse.errors import InputError

FMAX = 0.05  # eV/A: relaxation converged when every force (and stress x volume) is below
MAX_STEPS = 500
RATTLE = 0.05  # A: per-coordinate standard deviation of the displacement that tests a minimum
RATTLE_ROUNDS = 3
RATTLE_GAIN = 1e-3  # eV/atom: a relaxation after a rattle is kept when this much lower
PHONON_TOLERANCE = 0.1  # THz: a mode below -this is imaginary
PHONON_MESH = (8, 8, 8)
PHONON_SUPERCELL_LENGTH = 8.0  # A: each supercell axis at least this long
PHONON_DISPLACEMENT = 0.01  # A


@functools.lru_cache(maxsize=2)
def chgnet_calculator(device: str = "cpu") -> Calculator:
    """CHGNet 0.3.0's pretrained potential as an ASE calculator (weights ship in its wheel;
    loaded once per process)."""
    from chgnet.model.dynamics import CHGNetCalculator

    return CHGNetCalculator(use_device=device, on_isolated_atoms="ignore")


def to_atoms(structure: Structure | Atoms) -> Atoms:
    return structure.copy() if isinstance(structure, Atoms) else structure.to_ase_atoms()


@dataclass
class Relaxation:
    """A relaxed structure with its oracle energy (eV/atom), whether the forces converged
    below ``fmax`` within the step limit, the optimiser steps and the wall seconds (summed
    over every relaxation it took) and how many rattles lowered the energy."""

    structure: Structure
    energy_per_atom: float
    converged: bool
    steps: int
    seconds: float
    rattles: int = 0


def relax(
    structure: Structure | Atoms,
    calculator: Calculator | None = None,
    fmax: float = FMAX,
    max_steps: int = MAX_STEPS,
    cell: bool = True,
) -> Relaxation:
    """Relax positions (and the cell, ``cell``) with FIRE until every force is below
    ``fmax`` eV/A (the cell filter scales the stress to the same unit)."""
    start = time.perf_counter()
    atoms = to_atoms(structure)
    atoms.calc = calculator or chgnet_calculator()
    target = FrechetCellFilter(atoms) if cell else atoms
    optimizer = FIRE(target, logfile=None)
    converged = bool(optimizer.run(fmax=fmax, steps=max_steps))
    energy = float(atoms.get_potential_energy()) / len(atoms)
    if not np.isfinite(energy):
        converged = False
    relaxed = Structure(
        np.array(atoms.cell), atoms.get_chemical_symbols(), atoms.get_scaled_positions()
    )
    return Relaxation(
        relaxed,
        energy,
        converged,
        int(optimizer.nsteps),
        time.perf_counter() - start,
    )


def relax_to_minimum(
    structure: Structure | Atoms,
    calculator: Calculator | None = None,
    fmax: float = FMAX,
    max_steps: int = MAX_STEPS,
    cell: bool = True,
    rattle: float = RATTLE,
    rounds: int = RATTLE_ROUNDS,
    seed: int | list[int] = 0,
    patience: int = 1,
    exchange: float = 0.0,
) -> Relaxation:
    """:func:`relax`, then, while converged and at most ``rounds`` times: displace every atom
    of the lowest relaxation so far by a Gaussian of ``rattle`` A per coordinate and relax
    again, keeping the result when it is :data:`RATTLE_GAIN` eV/atom lower; stop after
    ``patience`` rattles in a row that found nothing lower. A symmetric start keeps its
    symmetry through a relaxation (the forces have it too) and can stop on a saddle point; a
    small rattle lets it fall off, and a true minimum costs one short extra relaxation.
    Larger rattles (a few tenths of an angstrom) with ``patience`` = ``rounds`` are basin
    hopping: they leave a shallow minimum for a deeper one nearby. With probability
    ``exchange`` a rattle also swaps two unlike metal atoms (:func:`exchange_cations`), a move
    that no displacement makes: the cation order of a ternary oxide."""
    calculator = calculator or chgnet_calculator()
    result = relax(structure, calculator, fmax, max_steps, cell)
    steps, seconds, rattles, misses = result.steps, result.seconds, 0, 0
    rng = np.random.default_rng(seed)
    for _ in range(rounds if rattle > 0 else 0):
        if not result.converged or misses >= patience:
            break
        atoms = to_atoms(result.structure)
        if exchange > 0 and rng.random() < exchange:
            exchange_cations(atoms, rng)
        atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
        trial = relax(atoms, calculator, fmax, max_steps, cell)
        steps, seconds = steps + trial.steps, seconds + trial.seconds
        if trial.converged and trial.energy_per_atom < result.energy_per_atom - RATTLE_GAIN:
            result, rattles, misses = trial, rattles + 1, 0
        else:
            misses += 1
    return replace(result, steps=steps, seconds=seconds, rattles=rattles)


def exchange_cations(atoms: Atoms, rng: np.random.Generator) -> bool:
    """Swap the positions of two atoms of different metals, in place (the cations: Mg and Mn
    in Mg-Mn-O; nonmetals such as oxygen stay). False, and nothing changed, when the crystal
    holds fewer than two metals (Nb-O)."""
    symbols = np.array(atoms.get_chemical_symbols())
    cations = np.flatnonzero([Element(symbol).is_metal for symbol in symbols])
    if len(set(symbols[cations])) < 2:
        return False
    i = rng.choice(cations)
    j = rng.choice(cations[symbols[cations] != symbols[i]])
    atoms.positions[[i, j]] = atoms.positions[[j, i]]
    return True


def energy_per_atom(structure: Structure | Atoms, calculator: Calculator | None = None) -> float:
    """Single-point oracle energy, eV/atom."""
    atoms = to_atoms(structure)
    atoms.calc = calculator or chgnet_calculator()
    return float(atoms.get_potential_energy()) / len(atoms)


def energies_above_hull(compositions: list[Composition | str], energies_per_atom) -> np.ndarray:
    """(N,) eV/atom above the lower convex hull of all N (composition, energy) points, every
    element of the system needing at least one point of its own (the elemental reference)."""
    compositions = [Composition(c) for c in compositions]
    energies = np.asarray(energies_per_atom, dtype=float)
    if len(compositions) != len(energies):
        raise InputError(f"{len(compositions)} compositions but {len(energies)} energies")
    entries = [
        PDEntry(c, float(e) * c.num_atoms) for c, e in zip(compositions, energies, strict=True)
    ]
    elements = {el for c in compositions for el in c.elements}
    references = {c.elements[0] for c in compositions if c.is_element}
    missing = [str(el) for el in elements - references]
    if missing:
        raise InputError(f"no elemental reference for {', '.join(sorted(missing))}")
    diagram = PhaseDiagram(entries)
    return np.array([diagram.get_e_above_hull(entry, allow_negative=True) for entry in entries])


@dataclass
class PhononCheck:
    """Lowest phonon frequency (THz; negative = imaginary) over the q-mesh (Gamma
    included), the verdict (no mode below -tolerance), and the settings used."""

    min_frequency: float
    stable: bool
    tolerance: float
    mesh: tuple[int, int, int]
    supercell: tuple[int, int, int]
    displacements: int


def supercell_for(structure: Structure, length: float = PHONON_SUPERCELL_LENGTH) -> tuple:
    """Smallest diagonal supercell with every lattice vector at least ``length`` A."""
    return tuple(int(max(1, np.ceil(length / a))) for a in structure.lattice.abc)


def phonon_check(
    structure: Structure,
    calculator: Calculator | None = None,
    tolerance: float = PHONON_TOLERANCE,
    mesh: tuple[int, int, int] = PHONON_MESH,
    supercell: tuple[int, int, int] | None = None,
    displacement: float = PHONON_DISPLACEMENT,
) -> PhononCheck:
    """Dynamical stability by phonopy finite displacements with the oracle's forces
    (force constants symmetrised, so the acoustic sum rule holds)."""
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    calculator = calculator or chgnet_calculator()
    supercell = tuple(supercell or supercell_for(structure))
    unit = PhonopyAtoms(
        symbols=[site.specie.symbol for site in structure],
        cell=structure.lattice.matrix,
        scaled_positions=structure.frac_coords,
    )
    phonon = Phonopy(unit, supercell_matrix=np.diag(supercell), primitive_matrix="P")
    phonon.generate_displacements(distance=displacement)
    forces = []
    for cell in phonon.supercells_with_displacements:
        atoms = Atoms(
            cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True
        )
        atoms.calc = calculator
        forces.append(atoms.get_forces().copy())
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    phonon.symmetrize_force_constants()
    phonon.run_mesh(list(mesh), is_gamma_center=True)
    lowest = float(np.min(phonon.mesh.frequencies))
    return PhononCheck(lowest, lowest >= -tolerance, tolerance, tuple(mesh), supercell, len(forces))
