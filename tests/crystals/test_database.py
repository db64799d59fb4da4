import json

import pytest
import torch
from pymatgen.core import Lattice, Structure

from matinverse.crystals import database as db
from matinverse.crystals.models import CrystalGenerator
from matinverse.crystals.slots import MGMNO, NBO
from matinverse.errors import InputError
from matinverse.nn import load_model


def test_allowed_counts_fit_the_slots_and_the_oxidation_limit():
    counts = db.allowed_counts(NBO)
    assert (1, 0) not in counts and (2, 0) in counts and (8, 16) in counts
    assert (8, 16) not in db.allowed_counts(NBO, max_atoms=23)
    assert (2, 5) in counts and (2, 6) not in counts  # Nb2O5 is Nb(+5)'s limit
    assert all(nb <= 8 and o <= 16 and 2 <= nb + o <= 24 and 2 * o <= 5 * nb for nb, o in counts)
    mgmno = db.allowed_counts(MGMNO)
    assert all(len(c) == 3 and c[0] <= 8 and c[1] <= 8 and c[2] <= 12 for c in mgmno)


def test_random_candidates_do_not_depend_on_n():
    few, more = db.random_candidates(NBO, 3, seed=5), db.random_candidates(NBO, 10, seed=5)
    assert more[:3] == few and len({c.seed for c in more}) == 10
    structure, group = db.random_crystal(NBO.elements, few[0].counts, few[0].seed)
    again, group_again = db.random_crystal(NBO.elements, few[0].counts, few[0].seed)
    assert structure == again and group == group_again and 2 <= group <= 230
    assert [structure.composition[e] for e in NBO.elements] == list(few[0].counts)


def test_build_resumes_after_a_torn_line_and_refuses_other_settings(tmp_path):
    out = tmp_path / "db"
    first = db.build_database(out, "Nb-O", 2, seed=1, max_atoms=3)
    records = db.read_lines(out / db.RECORDS)
    assert first.relaxed_now == len(records) == 4  # Nb, O2 references and 2 random
    ids = {"element-Nb", "element-O", "random-000000", "random-000001"}
    assert {r["id"] for r in records} == ids
    text = (out / db.RECORDS).read_text()
    (out / db.RECORDS).write_text(text + text.splitlines()[0][:50])  # a kill mid-append
    again = db.build_database(out, "Nb-O", 3, seed=1, max_atoms=3)
    assert (again.found_done, again.relaxed_now) == (4, 1)
    records = db.read_lines(out / db.RECORDS)
    assert len(records) == len({r["id"] for r in records}) == 5
    with pytest.raises(InputError, match="other settings \\(seed\\)"):
        db.build_database(out, "Nb-O", 3, seed=2, max_atoms=3)
    assert all(r["rattles"] >= 0 for r in records)
    config = json.loads((out / db.CONFIG).read_text())
    (out / db.CONFIG).write_text(json.dumps({**config, "version": 1}))  # before the rattle
    with pytest.raises(InputError, match="other settings \\(version\\)"):
        db.build_database(out, "Nb-O", 3, seed=1, max_atoms=3)
    rows = db.summarize(out)
    for element in ("Nb", "O2"):  # the lowest elemental structure is the reference
        hull = [r["e_above_hull"] for r in rows if r["formula"] == element and r["converged"]]
        assert min(hull) == pytest.approx(0, abs=1e-9)
    assert all(r["e_above_hull"] >= -1e-9 for r in rows if r["converged"])
    path = db.write_summary(out, rows)
    assert path.read_text().splitlines()[0] == ",".join(db.SUMMARY_COLUMNS)


def record(name, structure, energy):
    return {"id": name, "formula": structure.composition.formula, "start_spacegroup": None,
            "energy_per_atom": energy, "converged": True, "steps": 1, "seconds": 0.5,
            "structure": structure.as_dict()}  # fmt: skip


def nbo_structures():
    """Bcc Nb, an O2 molecule in a box, rock-salt NbO, and that NbO shifted."""
    rocksalt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.2), ["Nb", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    shifted = rocksalt.copy()
    shifted.translate_sites(range(len(shifted)), [0.1, 0.2, 0.3])
    nb = Structure(Lattice.cubic(3.3), ["Nb", "Nb"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    o2 = Structure(Lattice.cubic(10), ["O", "O"], [[0, 0, 0], [0.12, 0, 0]])
    return nb, o2, rocksalt, shifted


def write_records(folder, *records):
    """folder/records.jsonl: the elemental references (Nb at -10, O2 at -5 eV/atom), then
    ``records``."""
    nb, o2, *_ = nbo_structures()
    elements = [record("element-Nb", nb, -10.0), record("element-O", o2, -5.0)]
    (folder / db.RECORDS).write_text("".join(json.dumps(r) + "\n" for r in elements + [*records]))


def test_summary_groups_duplicates_and_keeps_the_lowest_energy(tmp_path):
    *_, rocksalt, shifted = nbo_structures()
    write_records(
        tmp_path,
        record("a", rocksalt, -9.0),
        record("b", shifted, -9.2),
        record("c", rocksalt * 2, -8.0),
    )
    rows = {r["id"]: r for r in db.summarize(tmp_path)}
    assert rows["b"]["unique"] and not rows["a"]["unique"] and rows["a"]["duplicate_of"] == "b"
    assert rows["c"]["duplicate_of"] == "b"  # a supercell is the same crystal
    assert rows["b"]["e_above_hull"] == pytest.approx(0.0, abs=1e-9)  # below the line Nb-O
    assert rows["a"]["e_above_hull"] == pytest.approx(0.2)
    assert db.cpu_hours(tmp_path) == pytest.approx(2.5 / 3600)


def test_fingerprint_ignores_record_order_and_names_the_energies(tmp_path):
    *_, rocksalt, shifted = nbo_structures()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    write_records(first, record("a", rocksalt, -9.0), record("b", shifted, -9.2))
    write_records(second, record("b", shifted, -9.2), record("a", rocksalt, -9.0))
    assert db.fingerprint(first) == db.fingerprint(second)
    for records in (
        (record("a", rocksalt, -9.0), record("b", shifted, -9.2001)),  # 0.1 meV/atom lower
        (record("a", rocksalt, -9.0),),
    ):
        other = tmp_path / str(len(records))
        other.mkdir()
        write_records(other, *records)
        assert db.fingerprint(other) != db.fingerprint(first)


def test_twins_agree_with_pairwise_structure_matching():
    import numpy as np
    from pymatgen.analysis.structure_matcher import StructureMatcher

    rng = np.random.default_rng(0)
    rocksalt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.2), ["Nb", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    cesium = Structure(Lattice.cubic(2.6), ["Nb", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    rutile = Structure.from_spacegroup(
        "P4_2/mnm", Lattice.tetragonal(4.8, 3.0), ["Nb", "O"], [[0, 0, 0], [0.3, 0.3, 0]]
    )
    structures = []
    for base in (rocksalt, cesium, rutile, rocksalt * (1, 1, 2), cesium * (2, 1, 1)):
        for amplitude in (0.0, 0.05, 0.6):  # A: the last is too large to match
            moved = base.cart_coords + rng.normal(0, amplitude, (len(base), 3))
            structures.append(
                Structure(base.lattice, base.species, moved, coords_are_cartesian=True)
            )
    order = rng.permutation(len(structures))
    structures = [structures[k] for k in order]
    matcher, reference = StructureMatcher(), []
    for i, structure in enumerate(structures):  # the matcher on every earlier first of a kind
        firsts = [k for k in range(i) if reference[k] is None]
        reference.append(next((k for k in firsts if matcher.fit(structures[k], structure)), None))
    assert db.twins(structures) == reference
    assert sum(t is None for t in reference) < len(structures) - 4  # the test has twins


def test_database_command_rejects_an_unknown_system(run, tmp_path):
    result = run("crystals", "database", "--out", tmp_path / "x", "--n", "1", "--system", "Nb-Ti")
    assert result.returncode == 2 and "unknown system 'Nb-Ti'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()


def test_database_command_builds_and_summarizes(run, tmp_path):
    out = tmp_path / "db"
    args = ("crystals", "database", "--out", out, "--n", "1", "--max-atoms", "3", "--no-known")
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert "3 relaxed now, 0 found done; 3/3 converged (" in result.stdout  # Nb, O2, 1 random
    assert "lowered by a rattle" in result.stdout and "CPU hours" in result.stdout
    assert f"fingerprint {db.fingerprint(out)}" in result.stdout
    header = (out / "summary.csv").read_text().splitlines()[0]
    assert header == ",".join(db.SUMMARY_COLUMNS) and ",rattles," in header
    again = run(*args)
    assert "0 relaxed now, 3 found done" in again.stdout


@pytest.fixture
def nbo_database(tmp_path):
    """A hand-written Nb-O database: the elements, rock-salt NbO on the hull (twice, shifted)
    and a rutile-like NbO2 0.3 eV/atom above it."""
    *_, rocksalt, shifted = nbo_structures()
    rutile = Structure.from_spacegroup(
        "P4_2/mnm", Lattice.tetragonal(4.8, 3.0), ["Nb", "O"], [[0, 0, 0], [0.3, 0.3, 0]]
    )
    # NbO2's hull energy between NbO (-9) and O2 (-5) at x_O = 2/3 is -23/3; 0.3 above it
    write_records(
        tmp_path,
        record("a", rocksalt, -9.0),
        record("b", shifted, -9.0),
        record("r", rutile, -23 / 3 + 0.3),
    )
    (tmp_path / db.CONFIG).write_text(json.dumps({"format": db.FORMAT, "system": "Nb-O"}))
    return tmp_path


def test_training_tensor_holds_out_formulas_and_keeps_the_low_energy_part(nbo_database):
    tensor, report = db.training_tensor(nbo_database)
    assert tensor.shape == (2, NBO.rows, 3)
    assert report["unique"] == 4 and report["elements"] == 2 and report["structures"] == 2
    decoded = sorted(NBO.decode(x).composition.reduced_formula for x in tensor)
    assert decoded == ["NbO", "NbO2"]
    tensor, report = db.training_tensor(nbo_database, hold_out=["Nb2O2"])
    assert report["held_out"] == 1 and report["hold_out"] == ["NbO"]
    assert NBO.decode(tensor[0]).composition.reduced_formula == "NbO2"
    tensor, report = db.training_tensor(nbo_database, within=0.1)
    assert report["above"] == 1 and NBO.decode(tensor[0]).composition.reduced_formula == "NbO"
    with pytest.raises(InputError, match="Mg not in system Nb-O"):
        db.training_tensor(nbo_database, hold_out=["MgO"])
    with pytest.raises(InputError, match="no structure left"):
        db.training_tensor(nbo_database, within=0.1, hold_out=["NbO"])
    with pytest.raises(InputError, match="holds no crystal database"):
        db.training_tensor(nbo_database / "missing")


def test_train_command_on_a_database(run, nbo_database, tmp_path):
    tiny = ("--epochs", 1, "--steps", 2, "--batch-size", 2, "--n-critic", 1, "--width", 16)
    weights = []
    for name in ("g", "again"):
        result = run("crystals", "train", "--system", "Nb-O", "--database", nbo_database,
                     "--hold-out", "Nb2O5", "--threads", 1, "--out", tmp_path / f"{name}.pt",
                     *tiny)  # fmt: skip
        assert result.returncode == 0, result.stderr
        weights.append(load_model(tmp_path / f"{name}.pt", CrystalGenerator).state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # seed + threads
    config = json.loads((tmp_path / "g.run" / "config.json").read_text())
    assert config["data"]["structures"] == 2 and config["data"]["hold_out"] == ["Nb2O5"]
    assert config["threads"] == 1 and config["options"]["threads"] == 1
    for options, message in [
        (("--database", nbo_database), "is a Nb-O database, not Mg-Mn-O"),
        (("--system", "Nb-O", "--within", 0.1), "apply to --database only"),
        (
            ("--system", "Nb-O", "--database", nbo_database, "--within", 0.1, "--hold-out", "NbO,"),
            "no structure left",
        ),
    ]:
        result = run("crystals", "train", "--out", tmp_path / "x.pt", *options, *tiny)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.pt").exists()


def test_reference_ground_states_skip_random_candidates_and_unconverged_records(nbo_database):
    *_, rocksalt, _ = nbo_structures()
    lower = record("random-000007", rocksalt, -9.5)
    unconverged = {**record("oqmd-2", rocksalt, -9.9), "converged": False}
    close = record("oqmd-3", rocksalt, -8.995)
    with open(nbo_database / db.RECORDS, "a") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in (lower, unconverged, close))
    entries = db.converged_entries(nbo_database)
    assert [e.id for e in entries][-3:] == ["r", "random-000007", "oqmd-3"]
    ground = db.reference_ground_states(entries)
    assert sorted(ground) == ["Nb", "NbO", "NbO2", "O2"]
    assert [e.id for e in ground["NbO"]] == ["a", "b"]  # equal energies
    close_enough = db.reference_ground_states(entries, tolerance=0.01)["NbO"]
    assert [e.id for e in close_enough] == ["a", "b", "oqmd-3"]
    with pytest.raises(InputError, match="holds no crystal database"):
        db.converged_entries(nbo_database / "missing")
