"""The studio's work per page: check a request (InputError naming the problem, before any
job starts), then run the library function the CLI runs, in a job.

Each ``*_task(request, context)`` returns ``work(progress) -> (result, files)`` for
:class:`~matinverse.studio.jobs.JobManager`: ``result`` is what the page draws (JSON-ready)
and ``files`` ({name: bytes}) what it offers for download.
"""

import io
import json
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from matinverse.errors import InputError
from matinverse.studio.jobs import Work


@dataclass
class StudioSettings:
    """Server options: ``crystals_model`` a crystal generator file (.pt; else the shipped one),
    ``crystals_database`` a 'crystals database' folder for the hull, ``data_dir`` the
    root of the public data sets (novelty checks; else $MATINVERSE_DATA or the cache),
    ``workers`` jobs run at once."""

    crystals_model: Path | None = None
    crystals_database: Path | None = None
    data_dir: Path | None = None
    workers: int = 4


@dataclass
class Context:
    """Settings and data loaded once per server (OQMD formulas, training crystals)."""

    settings: StudioSettings = field(default_factory=StudioSettings)
    _cache: dict = field(default_factory=dict)
    _locks: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, key, compute):
        """``compute()``, once per key for the server's life: one caller computes while
        others asking for the same key wait (other keys do not)."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]


# matplotlib's text layout (its mathtext parser) is not thread-safe and jobs run in
# threads: their plots take turns
_MATPLOTLIB = threading.Lock()


def _file(write, name: str) -> bytes:
    """Bytes of the file that ``write(path)`` writes (a library writer) as ``name``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write(path)
        return path.read_bytes()


def _plotted(write, name: str) -> bytes:
    """_file for a writer that draws with matplotlib, one at a time."""
    with _MATPLOTLIB:
        return _file(write, name)


# --- porous ---------------------------------------------------------------------------------


class PorousRequest(BaseModel):
    """Target filling at the 41 relative pressures; candidates kept; seconds of search."""

    target: list[float]
    candidates: int = Field(3, ge=1, le=10)
    time_limit: float = Field(3.0, ge=0.5, le=120.0)
    seed: int = 0


def porous_presets() -> dict:
    """The relative pressures (41,) and three showcase targets (41,) each."""
    from matinverse.porous.simulator import default_relative_pressure
    from matinverse.porous.targets import step_curves

    rh = default_relative_pressure()
    return {
        "relative_pressure": rh.tolist(),
        "presets": {
            "sharp step at RH 0.5": step_curves(0.5, rh)[0].tolist(),
            "two steps (RH 0.3, 0.7)": step_curves(np.array([0.3, 0.7]), rh, 0.0, 0.5)
            .sum(0)
            .tolist(),
            "linear ramp": rh.tolist(),
        },
    }


def porous_uploaded_targets(data: bytes, name: str) -> list[list[float]]:
    """Target curves (T, 41) of an uploaded TARGETS.csv (the CLI's format)."""
    from matinverse.porous.simulator import default_relative_pressure
    from matinverse.porous.targets import read_targets

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "targets.csv"
        path.write_bytes(data)
        try:
            targets = read_targets(path, len(default_relative_pressure()))
        except InputError as err:
            raise InputError(str(err).replace(str(path), Path(name).name or "upload")) from None
    return targets.tolist()


def _grid_png(grid: np.ndarray, cell: int = 8) -> bytes:
    """PNG of a 0/1 grid (L, L), pore white, solid black, ``cell`` pixels per cell."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    image = np.kron(grid, np.ones((cell, cell)))
    with _MATPLOTLIB:
        plt.imsave(buffer, image, cmap="gray", vmin=0, vmax=1, format="png")
    return buffer.getvalue()


def porous_task(request: PorousRequest, context: Context) -> Work:
    """Design grids for one target isotherm (``PorousDesigner.design``, as 'porous design')."""
    from matinverse.porous.design import DesignSettings, PorousDesigner, design_summary
    from matinverse.porous.plot import plot_design
    from matinverse.porous.simulator import default_relative_pressure
    from matinverse.porous.targets import check_target

    rh = default_relative_pressure()
    target = check_target(request.target, len(rh))
    settings = DesignSettings(candidates=request.candidates, time_limit=request.time_limit)

    def work(progress):
        designer = PorousDesigner.pretrained(settings=settings)
        design = designer.design(target, np.random.default_rng([request.seed, 0]), progress)
        report = design_summary([design], settings, request.seed)
        report.update(target=target.tolist(), adsorption=design.adsorption.tolist())
        grids = design.grids.astype(np.uint8)
        npy = io.BytesIO()
        np.save(npy, grids)
        side = grids.shape[-1]
        csv = f"# {len(grids)} grids of {side} x {side} cells, one per line, row-major, 1 = pore\n"
        csv += "".join(",".join(map(str, g.ravel())) + "\n" for g in grids)
        files = {
            "grids.npy": npy.getvalue(),
            "grids.csv": csv.encode(),
            "report.json": json.dumps(report, indent=2).encode(),
            "design.png": _plotted(lambda p: plot_design(design, rh, p, "target"), "design.png"),
        }
        candidates = []
        for i, grid in enumerate(grids):
            files[f"grid-{i + 1}.png"] = _grid_png(grid)
            candidates.append(
                {
                    "image": f"grid-{i + 1}.png",
                    "mae": float(design.mae[i]),
                    "max_error": float(design.max_error[i]),
                    "porosity": float(grid.mean()),
                    "adsorption": design.adsorption[i].tolist(),
                }
            )
        result = {
            "relative_pressure": rh.tolist(),
            "target": target.tolist(),
            "candidates": candidates,
            "seconds": design.seconds,
            "simulations": design.simulations,
            "errors_are": report["errors_are"],
        }
        return result, files

    return work


# --- strain ---------------------------------------------------------------------------------


class StrainRequest(BaseModel):
    """Target band gap (eV), designs wanted, inverse model, seed, localization and
    screening factor (as 'strain design')."""

    bandgap: float
    n: int = Field(10, ge=1, le=200)
    method: str = "cinn"
    seed: int = 0
    localize: bool = True
    screen: float = Field(10.0, ge=1.0, le=100.0)


def strain_info() -> dict:
    """The band-gap range of the data (eV) and the inverse models."""
    from matinverse.strain.data import BANDGAP_RANGE
    from matinverse.strain.inverse import METHODS

    return {"bandgap_range": list(BANDGAP_RANGE), "methods": list(METHODS)}


def strain_task(request: StrainRequest, context: Context) -> Work:
    """Strain + field designs for a band gap (``strain.design.design``)."""
    from matinverse.strain.data import COLUMNS
    from matinverse.strain.design import (
        DesignSettings,
        check_target,
        design,
        load_pretrained,
        write_designs,
    )
    from matinverse.strain.inverse import METHODS

    check_target(request.bandgap)
    if request.method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {request.method!r}")

    def work(progress):
        inverse, surrogate = load_pretrained(request.method)
        settings = DesignSettings(localize=request.localize, screen=request.screen)
        result = design(
            inverse, surrogate, request.bandgap, request.n, request.seed, settings, progress
        )
        columns = [*COLUMNS, "bandgap_pred", "bandgap_std"]
        rows = [
            [*map(float, x), float(gap), float(std)]
            for x, gap, std in zip(result.x, result.bandgap, result.std, strict=True)
        ]
        counts = {k: getattr(result, k) for k in ("sampled", "in_bounds", "filtered", "kept")}
        files = {"designs.csv": _file(lambda p: write_designs(p, result), "designs.csv")}
        return {"columns": columns, "rows": rows, "counts": counts, "wanted": request.n}, files

    return work


# --- compositions ---------------------------------------------------------------------------


class CompositionsRequest(BaseModel):
    """Property bounds (eV/atom; eV), margin in standard deviations, designs wanted and
    the steering budget (as 'compositions design', with smaller default batches)."""

    n: int = Field(5, ge=1, le=200)
    formation_energy_max: float | None = None
    bandgap_min: float | None = None
    bandgap_max: float | None = None
    confidence: float = 1.0
    steer: bool = True
    steps: int = Field(30, ge=0, le=300)
    batch: int = Field(256, ge=16, le=4096)
    seed: int = 0


def compositions_task(request: CompositionsRequest, context: Context) -> Work:
    """Valid, novel formulas meeting property bounds (``compositions.design.design``)."""
    from matinverse.compositions.design import PropertyRequest, design
    from matinverse.io.tables import write_rows

    if (request.bandgap_min is None) != (request.bandgap_max is None):
        raise InputError("give both band gap bounds (LO and HI) or neither")
    bandgap = None if request.bandgap_min is None else (request.bandgap_min, request.bandgap_max)
    wanted = PropertyRequest(request.formation_energy_max, bandgap, request.confidence)

    def work(progress):
        from matinverse.compositions.data import known_formulas
        from matinverse.compositions.models import CompositionGenerator
        from matinverse.compositions.prediction import default_model_path, load_property_model
        from matinverse.compositions.weights import WEIGHTS
        from matinverse.nn import load_model

        data_dir = context.settings.data_dir
        known = context.cached("oqmd formulas", lambda: known_formulas(data_dir))
        models = {
            name: context.cached(
                ("property model", name),
                lambda n=name: load_property_model(default_model_path(n)),
            )
            for name in wanted.properties
        }
        generator = load_model(WEIGHTS / "generator-valid.pt", CompositionGenerator)
        result = design(
            generator,
            models,
            wanted,
            request.n,
            known,
            request.seed,
            request.steer,
            request.batch,
            request.steps,
            progress=progress,
        )
        files = {"designs.csv": _file(lambda p: write_rows(p, result.rows), "designs.csv")}
        summary = {"rows": result.rows, "drawn": result.drawn, "hits": result.hits}
        return {**summary, "hit_rate": result.hit_rate, "properties": wanted.properties}, files

    return work


# --- graphene -------------------------------------------------------------------------------


class GrapheneRequest(BaseModel):
    """Energy density (eV per square angstrom), sheets, scale K and candidates per sheet."""

    density: float
    n: int = Field(4, ge=1, le=64)
    scale: int = Field(1, ge=1, le=4)
    candidates: int = Field(4, ge=1, le=16)
    seed: int = 0


def graphene_generator(context: Context):
    """The shipped sheet generator (loaded once)."""
    from matinverse.graphene.models import SheetGenerator
    from matinverse.graphene.weights import WEIGHTS
    from matinverse.nn import load_model

    return context.cached("graphene", lambda: load_model(WEIGHTS / "generator.pt", SheetGenerator))


def graphene_task(request: GrapheneRequest, context: Context) -> Work:
    """Sheets of a requested energy density, judged by the oracle (``design_sheets``)."""
    from matinverse.graphene.atoms import sheet_to_atoms, write_sheets
    from matinverse.graphene.design import design_sheets

    generator = graphene_generator(context)
    low, high = generator.config["density_range"]
    if not low <= request.density <= high:
        raise InputError(
            f"density {request.density} is outside the training data's range "
            f"{low:.4f} to {high:.4f} eV/A^2"
        )

    def work(progress):
        density = np.full(request.n, request.density)
        designs = design_sheets(
            generator, density, request.scale, request.candidates, request.seed, progress
        )
        infos = [
            {"requested_density": request.density, "oracle_density": float(d), "energy_eV": e}
            for d, e in zip(designs.density, designs.energy.tolist(), strict=True)
        ]
        sheets = []
        for sheet, info in zip(designs.sheets, infos, strict=True):
            atoms = sheet_to_atoms(sheet)
            sheets.append(
                {
                    "energy": info["energy_eV"],
                    "density": info["oracle_density"],
                    "atoms": len(atoms),
                    "xy": np.round(atoms.positions[:, :2], 3).tolist(),
                    "cell": np.round(atoms.cell[:2, :2], 4).tolist(),
                }
            )
        npy = io.BytesIO()
        np.save(npy, designs.sheets)
        files = {
            "sheets.xyz": _file(lambda p: write_sheets(p, designs.sheets, infos), "sheets.xyz"),
            "sheets.npy": npy.getvalue(),
        }
        return {"requested": request.density, "sheets": sheets}, files

    return work


# --- crystals -------------------------------------------------------------------------------


class CrystalsRequest(BaseModel):
    """System, composition (formula), crystals wanted, a space group imposed on each sample
    (``symmetry``), relaxation, screen (relax ``screen`` times as many samples briefly and
    keep the lowest in energy), basin hops after the relaxation (with cation exchanges,
    ``exchange``) and phonon check."""

    system: str = "Mg-Mn-O"
    composition: str
    n: int = Field(4, ge=1, le=50)
    symmetry: bool = False
    relax: bool = True
    screen: int = Field(1, ge=1, le=10)
    hops: int = Field(0, ge=0, le=10)
    exchange: bool = False
    phonons: bool = False
    seed: int = 0


def crystals_generator(system: str, context: Context):
    """The crystal generator of ``system`` (--crystals-model, else the shipped one);
    InputError, with the library's message, when there is none."""
    from matinverse.crystals.design import load_generator

    model = context.settings.crystals_model
    try:
        return context.cached(("crystals", system), lambda: load_generator(system, model))
    except InputError as err:
        hint = "" if model else " (studio: start it with --crystals-model FILE)"
        raise InputError(f"{err}{hint}") from None


def crystals_info(context: Context) -> dict:
    """The systems, and per system the message why it cannot generate (None when it can)."""
    from matinverse.crystals.slots import LAYOUTS

    messages = {}
    for system in LAYOUTS:
        try:
            crystals_generator(system, context)
            messages[system] = None
        except InputError as err:
            messages[system] = str(err)
    return {"systems": list(LAYOUTS), "unavailable": messages}


def _structure_view(structure) -> dict:
    """Cell (3, 3) and Cartesian positions (N, 3) in angstrom, with element symbols."""
    return {
        "lattice": np.round(structure.lattice.matrix, 4).tolist(),
        "species": [site.specie.symbol for site in structure],
        "xyz": np.round(structure.cart_coords, 4).tolist(),
    }


def crystals_task(request: CrystalsRequest, context: Context) -> Work:
    """Generated (and relaxed) crystals of a composition (``generate_crystals``)."""
    from matinverse.compositions.encoding import parse
    from matinverse.crystals.data import training_structures
    from matinverse.crystals.design import check_hops, generate_crystals, write_candidates
    from matinverse.crystals.slots import layout_of

    check_hops(request.hops, request.exchange)
    layout = layout_of(request.system)
    composition = layout.check(parse(request.composition))
    generator = crystals_generator(request.system, context)
    settings = context.settings

    def work(progress):
        known = []
        if request.relax:
            known = context.cached(
                ("training crystals", request.system),
                lambda: [
                    layout.decode(x) for x in training_structures(request.system, settings.data_dir)
                ],
            )
        candidates = generate_crystals(
            generator,
            composition,
            request.n,
            request.seed,
            request.relax,
            3 if request.phonons else 0,
            known,
            settings.crystals_database,
            progress=progress,
            screen=request.screen,
            hops=request.hops,
            symmetry=request.symmetry,
            exchange=request.exchange,
        )
        with tempfile.TemporaryDirectory() as folder:
            write_candidates(folder, candidates)
            files = {p.name: p.read_bytes() for p in Path(folder).iterdir()}
        rows = [
            {"id": c.id, **c.row, "cif": f"{c.id}.cif", **_structure_view(c.structure)}
            for c in candidates
        ]
        return {"rows": rows, "database": settings.crystals_database is not None}, files

    return work
