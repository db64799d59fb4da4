import numpy as np
import pytest
import torch
from pymatgen.core import Composition, Lattice, Structure

from matinverse.crystals import design
from matinverse.crystals.database import StructureIndex
from matinverse.crystals.models import (
    ANGLE_RANGE,
    VOLUME_PER_ATOM_RANGE,
    CrystalCritic,
    CrystalGenerator,
    cell_angles,
    counts_of,
    nearest_distances,
)
from matinverse.crystals.slots import MGMNO, NBO
from matinverse.crystals.training import train_crystal_gan
from matinverse.errors import InputError
from matinverse.nn.saving import load_model


@pytest.fixture(scope="module")
def mgmno_rows(shared_data):
    from matinverse.crystals.data import load_mgmno

    return load_mgmno(shared_data).tensor


def test_nearest_distances_match_pymatgen(mgmno_rows):
    x = mgmno_rows[:40]
    got = nearest_distances(torch.from_numpy(x))
    for row, d in zip(x, got, strict=True):
        s = MGMNO.decode(row)
        reference = (s.distance_matrix + np.diag([np.inf] * len(s))).min(1)
        lattice = s.lattice.get_lll_reduced_lattice()
        reference = np.minimum(reference, min(lattice.abc))  # own periodic images
        np.testing.assert_allclose(np.sort(d[d > 0].numpy()), np.sort(reference), atol=1e-9)


def test_overlap_gradient_pushes_atoms_apart():
    s = Structure(Lattice.cubic(5.0), ["Nb", "O"], [[0, 0, 0], [0.1, 0.05, 0]])
    x = torch.from_numpy(NBO.encode(s)).requires_grad_(True)
    d = nearest_distances(x[None])
    torch.relu(1.4 - d).pow(2).sum().backward()
    moved = (x - 1e-3 * x.grad).detach()
    assert nearest_distances(moved[None]).max() > d.max()


def test_generator_obeys_the_composition_and_physical_ranges(tmp_path):
    torch.manual_seed(0)
    g = CrystalGenerator(MGMNO.elements, MGMNO.slots, latent_dim=8, width=32)
    counts = g.check_counts([[2, 2, 6], [8, 8, 12], [1, 0, 1]])
    x = g(g.noise(3), counts)
    assert torch.equal(counts_of(x, MGMNO.slots), counts)
    gamma = x[:, 1, 2] * 180
    assert gamma.min() >= ANGLE_RANGE[0] and gamma.max() <= ANGLE_RANGE[1]
    decoded = [MGMNO.decode(row) for row in x.detach().numpy().astype(float)]
    assert decoded[1].composition.formula == "Mg8 Mn8 O12"
    for s, n in zip(decoded, counts.sum(1).tolist(), strict=True):
        volume_per_atom = s.volume / n  # the decoder's cell, from lengths and angles alone
        assert VOLUME_PER_ATOM_RANGE[0] - 1e-4 <= volume_per_atom <= VOLUME_PER_ATOM_RANGE[1]
    g.save(tmp_path / "g.pt")
    again = load_model(tmp_path / "g.pt", CrystalGenerator)
    z = g.noise(3, torch.Generator().manual_seed(1))
    assert torch.equal(again(z, counts), g.eval()(z, counts))
    with pytest.raises(InputError, match="0..\\[8, 8, 12\\]"):
        g.check_counts([[9, 0, 1]])


def test_generated_angles_always_form_a_cell():
    u = torch.rand(20000, 3, generator=torch.Generator().manual_seed(0))
    u[:8] = torch.tensor([[0.0, 1, 0], [1, 1, 0.5], [0, 1, 0.25], [1, 1, 1], [0, 0, 0],
                          [1, 0, 0], [0.5, 1, 0.75], [0, 1, 0.5]])  # fmt: skip
    angles, unit_volume = cell_angles(u)
    alpha, beta, gamma = (angles[:, 0].double() * 180).unbind(1)
    # the conditions for three angles to be those of a cell (all volumes positive)
    assert (alpha + beta + gamma < 360).all() and (alpha + beta > gamma).all()
    assert (beta + gamma > alpha).all() and (gamma + alpha > beta).all()
    # and the volume of the unit-length cell, by the textbook formula
    ca, cb, cg = (torch.deg2rad(t).cos() for t in (alpha, beta, gamma))
    textbook = torch.sqrt(1 - ca**2 - cb**2 - cg**2 + 2 * ca * cb * cg)
    torch.testing.assert_close(unit_volume.double(), textbook, atol=1e-5, rtol=1e-4)


def test_critic_scores_and_predicts_counts():
    critic = CrystalCritic(MGMNO.slots, width=16)
    x = torch.rand(4, MGMNO.rows, 3)
    counts = torch.tensor([[1, 1, 2]] * 4)
    score, logits = critic(x, counts)
    assert score.shape == (4,) and logits.shape == (4, 9 + 9 + 13)
    assert critic.aux_loss(logits, counts).item() > 0


def test_tiny_training_run_records_sample_quality(mgmno_rows):
    g, history = train_crystal_gan(
        mgmno_rows[:64], MGMNO, epochs=2, steps_per_epoch=6, batch=8, width=16, monitor=8
    )
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(h["composition_ok"] == 1.0 and 0 <= h["sane"] <= 1 for h in history)


def test_generate_without_relaxation_writes_every_row(tmp_path):
    torch.manual_seed(0)
    g = CrystalGenerator(MGMNO.elements, MGMNO.slots, latent_dim=8, width=32).eval()
    candidates = design.generate_crystals(g, "Mg2Mn2O6", 5, seed=3, relax=False)
    assert len(candidates) == 5 and len({c.id for c in candidates}) == 5
    assert all(c.structure.composition.reduced_formula == "MgMnO3" for c in candidates)
    summary = design.write_candidates(tmp_path, candidates)
    lines = summary.read_text().splitlines()
    assert lines[0] == ",".join(design.SUMMARY_COLUMNS) and len(lines) == 6
    assert all((tmp_path / f"{c.id}.cif").exists() for c in candidates)
    with pytest.raises(InputError, match="not in system Mg-Mn-O"):
        design.generate_crystals(g, "Nb2O5", 1, relax=False)
    with pytest.raises(InputError, match="at most 12"):
        design.generate_crystals(g, "MgO13", 1, relax=False)


def test_duplicates_and_novelty_are_judged_by_structure_matching():
    rocksalt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.2), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    other = Structure(Lattice.cubic(3.0), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    structures = [rocksalt, rocksalt * 2, other]
    rows = [design.Candidate(f"c{k}", s, s, {}) for k, s in enumerate(structures)]
    design._mark_unique_and_novel(rows, known=[other])
    assert [r.row["unique"] for r in rows] == [True, False, True]
    assert [r.row["novel"] for r in rows] == [True, True, False]


def test_generate_command_rejects_a_composition_outside_the_system(run, tmp_path):
    result = run("crystals", "generate", "--out", tmp_path / "g", "--system", "Mg-Mn-O",
                 "--composition", "NbO2", "--no-relax")  # fmt: skip
    assert result.returncode == 2 and "Nb not in system Mg-Mn-O" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "g").exists()


def test_generate_command_wants_hops_for_cation_exchanges(run, tmp_path):
    result = run("crystals", "generate", "--out", tmp_path / "g", "--system", "Mg-Mn-O",
                 "--composition", "MgMnO3", "--no-relax", "--exchange")  # fmt: skip
    assert result.returncode == 2 and "cation exchanges are made by basin hops" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "g").exists()


def test_a_missing_shipped_generator_is_named(monkeypatch):
    monkeypatch.setitem(design.WEIGHTS, "Nb-O", "no-such-generator.pt")
    with pytest.raises(InputError, match="shipped Nb-O generator is missing .*no-such-generator"):
        design.load_generator("Nb-O")


def test_generate_command_names_a_missing_model(run, tmp_path):
    result = run("crystals", "generate", "--out", tmp_path / "g", "--system", "Mg-Mn-O",
                 "--composition", "MgO", "--no-relax", "--model", tmp_path / "none.pt")  # fmt: skip
    assert result.returncode == 2 and "model file not found" in result.stderr
    assert not (tmp_path / "g").exists()


def test_a_supercell_of_a_known_crystal_matches_it_and_another_formula_does_not():
    rocksalt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.2), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    cesium = Structure(Lattice.cubic(2.6), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    peroxide = Structure(
        Lattice.cubic(4.2), ["Mg", "O", "O"], [[0, 0, 0], [0.5, 0.5, 0.4], [0.5, 0.5, 0.6]]
    )
    assert StructureIndex([cesium, rocksalt]).find(rocksalt * (2, 1, 1)) == 1
    assert StructureIndex([cesium]).find(rocksalt) is None
    assert StructureIndex([peroxide]).find(rocksalt) is None


def test_a_relaxed_crystal_already_in_the_database_is_not_novel(tmp_path):
    import json

    from ase.calculators.lj import LennardJones

    from matinverse.crystals import database as db

    g = design.load_generator("Mg-Mn-O")  # the shipped one: its crystals are sane
    calculator = LennardJones(sigma=2.0, rc=5.0, smooth=True)
    first = design.generate_crystals(g, "MgMnO3", 2, seed=1, calculator=calculator)
    relaxed = [c for c in first if c.row["relaxed"]]
    assert relaxed and all(c.row["novel"] and c.row["e_above_hull"] is None for c in relaxed)
    known = relaxed[0]
    o2 = Structure(Lattice.cubic(9), ["O", "O"], [[0, 0, 0], [0.13, 0, 0]])
    records = [
        {"id": name, "structure": s.as_dict(), "energy_per_atom": e, "converged": True}
        for name, s, e in [
            ("element-Mg", Structure(Lattice.cubic(3), ["Mg"], [[0, 0, 0]]), 0.0),
            ("element-Mn", Structure(Lattice.cubic(3), ["Mn"], [[0, 0, 0]]), 0.0),
            ("element-O", o2, 0.0),
            ("oqmd-1", known.structure, known.row["energy_per_atom"]),
        ]
    ]
    (tmp_path / db.RECORDS).write_text("".join(json.dumps(r) + "\n" for r in records))
    again = design.generate_crystals(
        g, "MgMnO3", 2, seed=1, calculator=calculator, database=tmp_path
    )
    twin = next(c for c in again if c.id == known.id)
    assert twin.row["novel"] is False and twin.row["e_above_hull"] is not None


def test_the_screen_keeps_the_samples_lowest_in_energy_after_a_short_relaxation():
    from ase.calculators.lj import LennardJones

    from matinverse.crystals import oracle

    g = design.load_generator("Mg-Mn-O")
    calculator = LennardJones(sigma=2.0, rc=5.0, smooth=True)
    pool = design.generate_crystals(g, "MgMnO3", 6, seed=2, relax=False)
    short = {
        c.id: oracle.relax(c.generated, calculator, max_steps=design.SCREEN_STEPS).energy_per_atom
        for c in pool
    }
    kept = design.generate_crystals(g, "MgMnO3", 2, seed=2, calculator=calculator, screen=3)
    assert [c.id for c in kept] == sorted(short, key=short.get)[:2]
    assert all(c.row["relaxed"] is not None for c in kept)
    with pytest.raises(InputError, match="screen must be at least 1"):
        design.generate_crystals(g, "MgMnO3", 2, screen=0)


def test_basin_hops_only_lower_the_relaxed_crystals_wherever_they_run():
    from ase.calculators.lj import LennardJones

    from matinverse.parallel.executor import ProcessExecutor

    g = design.load_generator("Mg-Mn-O")
    calculator = LennardJones(sigma=2.0, rc=5.0, smooth=True)
    plain = design.generate_crystals(g, "MgMnO3", 3, seed=5, calculator=calculator)
    hopped = design.generate_crystals(g, "MgMnO3", 3, seed=5, calculator=calculator, hops=2)
    pairs = [(p.row, h.row) for p, h in zip(plain, hopped, strict=True) if p.row["relaxed"]]
    assert pairs and all(p["hops"] == 0 and 0 <= h["hops"] <= 2 for p, h in pairs)
    for p, h in pairs:  # the hops start from the plain relaxation and keep only lower minima
        assert h["energy_per_atom"] <= p["energy_per_atom"] + 1e-9
    assert any(h["hops"] for _, h in pairs)
    with ProcessExecutor(2) as executor:  # each crystal's hops are seeded by its own index
        spread = design.generate_crystals(
            g, "MgMnO3", 3, seed=5, calculator=calculator, hops=2, executor=executor
        )
    assert [c.row for c in spread] == [c.row for c in hopped]
    swapping = design.generate_crystals(
        g, "MgMnO3", 3, seed=5, calculator=calculator, hops=2, exchange=True
    )  # swaps draw from the hops' random stream, so the hops go elsewhere
    assert [c.row for c in swapping] != [c.row for c in hopped]
    for p, s in zip(plain, swapping, strict=True):
        if p.row["relaxed"] and s.row["relaxed"]:
            assert s.row["energy_per_atom"] <= p.row["energy_per_atom"] + 1e-9
    with pytest.raises(InputError, match="hops must be at least 0"):
        design.generate_crystals(g, "MgMnO3", 2, hops=-1)
    with pytest.raises(InputError, match="cation exchanges are made by basin hops"):
        design.generate_crystals(g, "MgMnO3", 2, exchange=True)
    with pytest.raises(InputError, match="cation exchanges are made by basin hops"):
        design.evaluate_crystals(plain, 3, calculator=calculator, exchange=True)


def test_random_symmetric_crystals_go_through_the_same_checks_as_generated_ones():
    from ase.calculators.lj import LennardJones

    from matinverse.crystals.slots import NBO

    first, again = (design.random_crystals(NBO, "Nb2O4", 3, seed=4) for _ in range(2))
    assert [c.row["spacegroup"] for c in first] == [c.row["spacegroup"] for c in again]
    assert all(2 <= c.row["spacegroup"] <= 230 and c.row["relaxed"] is None for c in first)
    assert all(c.structure.composition.formula == "Nb2 O4" for c in first)
    assert len({c.id for c in first}) == 3
    calculator = LennardJones(sigma=2.0, rc=5.0, smooth=True)
    checked = design.evaluate_crystals(first, 3, calculator=calculator)
    assert all(c.row["relaxed"] is not None for c in checked)
    assert all(c.row["unique"] is not None for c in checked if c.row["relaxed"])
    with pytest.raises(InputError, match="not in system Nb-O"):
        design.random_crystals(NBO, "MgO", 1)


@pytest.mark.parametrize(
    "system, composition", [("Mg-Mn-O", "Mg2Mn2O6"), ("Nb-O", "Nb2O5"), ("Nb-O", "Nb3O3")]
)
def test_the_shipped_generators_decode_sane_crystals_of_the_composition(system, composition):
    g = design.load_generator(system)
    assert g.metadata["history"][-1]["sane"] >= 0.9
    crystals = design.generate_crystals(g, composition, 64, seed=3, relax=False)
    assert all(c.generated.composition == Composition(composition) for c in crystals)
    assert np.mean([c.row["sane"] for c in crystals]) >= 0.9
    assert len({c.generated.lattice.abc for c in crystals}) == 64  # no collapse to one sample
