"""The studio's JSON API: every endpoint with good and bad input, concurrent jobs, cancel."""

import io
import threading
import time

import numpy as np
import pytest
from ase.io import read

from matinverse.studio.jobs import JobManager

from .conftest import wait_for_job

RAMP = np.linspace(0, 1, 41).tolist()


def start(client, kind, body):
    response = client.post(f"/api/{kind}/design", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def error_of(response, status=400) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


def test_info_gives_presets_ranges_and_the_crystals_message(client):
    info = client.get("/api/info").json()
    assert len(info["porous"]["relative_pressure"]) == 41
    assert {len(v) for v in info["porous"]["presets"].values()} == {41}
    assert info["strain"]["bandgap_range"] == [0.0, 2.391] and "cinn" in info["strain"]["methods"]
    low, high = info["graphene"]["density_range"]
    assert 0 <= low < high
    assert info["crystals"]["unavailable"] == {"Mg-Mn-O": None, "Nb-O": None}  # both ship


def test_porous_design_returns_verified_grids_and_files(client):
    from matinverse.porous.simulator import LatticeDFT

    job = wait_for_job(client, start(client, "porous", {"target": RAMP, "candidates": 2,
                                                         "time_limit": 1.0}))  # fmt: skip
    assert job["state"] == "done", job["error"]
    result = job["result"]
    assert [c["image"] for c in result["candidates"]] == ["grid-1.png", "grid-2.png"]
    grids = np.load(io.BytesIO(client.get(f"/api/jobs/{job['id']}/files/grids.npy").content))
    assert grids.shape == (2, 20, 20)
    # the errors shown are the exact simulator's
    ads = LatticeDFT().simulate(grids).adsorption
    mae = [c["mae"] for c in result["candidates"]]
    np.testing.assert_allclose(np.abs(ads - RAMP).mean(1), mae, atol=1e-9)
    assert mae == sorted(mae)
    csv = client.get(f"/api/jobs/{job['id']}/files/grids.csv").text.splitlines()
    assert [list(map(int, line.split(","))) for line in csv[1:]] == grids.reshape(2, -1).tolist()
    report = client.get(f"/api/jobs/{job['id']}/files/report.json").json()
    assert report["targets"][0]["mae"] == mae and report["target"] == RAMP
    for name in ("grid-1.png", "design.png"):
        image = client.get(f"/api/jobs/{job['id']}/files/{name}")
        assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"target": []}, "the target curve is empty"),
        ({"target": [0.5] * 3}, "expected 41 values, got 3"),
        ({"target": [0.5] * 40 + [1.5]}, r"values must lie in [0, 1]"),
        ({"target": "x"}, "target: Input should be a valid list"),
        ({"target": RAMP, "candidates": 0}, "candidates: Input should be greater than or equal"),
        ({}, "target: Field required"),
    ],
)
def test_porous_design_bad_input(client, body, message):
    assert message in error_of(client.post("/api/porous/design", json=body))


def test_a_body_that_is_not_json_is_refused(client):
    response = client.post(
        "/api/porous/design", content=b"{x", headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in error_of(response)


def test_porous_upload_reads_the_cli_format(client):
    with open("examples/porous_targets.csv", "rb") as f:
        response = client.post("/api/porous/targets", files={"file": ("t.csv", f, "text/csv")})
    targets = response.json()["targets"]
    assert len(targets) == 3 and targets[2] == pytest.approx(RAMP)
    bad = "0.1," * 40 + "0.1\n" + "0.5," * 39 + "0.5\n"
    response = client.post("/api/porous/targets", files={"file": ("mine.csv", bad, "text/csv")})
    assert error_of(response) == "mine.csv line 2: expected 41 values, got 40"


def test_strain_design_table_and_csv(client):
    job = wait_for_job(client, start(client, "strain", {"bandgap": 1.2, "n": 5, "seed": 1}))
    assert job["state"] == "done", job["error"]
    columns, rows = job["result"]["columns"], np.array(job["result"]["rows"])
    assert columns[-2:] == ["bandgap_pred", "bandgap_std"] and rows.shape == (5, 9)
    np.testing.assert_allclose(rows[:, -2], 1.2, atol=0.01)
    csv = client.get(f"/api/jobs/{job['id']}/files/designs.csv").text.splitlines()
    assert csv[0] == ",".join(columns) and len(csv) == 6


@pytest.mark.parametrize(
    "body, message",
    [
        ({"bandgap": 5.0}, "outside the range the data cover, 0.0 to 2.391 eV"),
        ({"bandgap": 1.0, "method": "x"}, "method must be one of inn, cinn, cvae, mdn"),
        ({"bandgap": 1.0, "n": 0}, "n: Input should be greater than or equal to 1"),
        ({"bandgap": "high"}, "bandgap: Input should be a valid number"),
    ],
)
def test_strain_design_bad_input(client, body, message):
    assert message in error_of(client.post("/api/strain/design", json=body))


def test_compositions_design_meets_the_bounds(client):
    body = {"n": 2, "formation_energy_max": -1.0, "confidence": 1.0, "steps": 10, "batch": 64}
    job = wait_for_job(client, start(client, "compositions", body), timeout=120)
    assert job["state"] == "done", job["error"]
    rows = job["result"]["rows"]
    assert len(rows) == 2 and len({r["formula"] for r in rows}) == 2
    assert all(r["formation_energy"] + r["formation_energy_uncertainty"] <= -1.0 for r in rows)
    csv = client.get(f"/api/jobs/{job['id']}/files/designs.csv").text.splitlines()
    assert csv[0] == "formula,formation_energy,formation_energy_uncertainty" and len(csv) == 3


@pytest.mark.parametrize(
    "body, message",
    [
        ({"n": 2}, "give at least one property bound"),
        ({"n": 2, "bandgap_min": 1.0}, "give both band gap bounds"),
        ({"n": 2, "bandgap_min": 3.0, "bandgap_max": 1.0}, "0 <= LO < HI"),
    ],
)
def test_compositions_design_bad_input(client, body, message):
    assert message in error_of(client.post("/api/compositions/design", json=body))


def test_an_impossible_composition_request_fails_the_job_with_the_library_message(client):
    body = {"n": 1, "formation_energy_max": -20.0, "steer": False, "batch": 16}
    job = wait_for_job(client, start(client, "compositions", body))
    assert job["state"] == "failed" and "relax the request" in job["error"]


def test_graphene_sheets_with_oracle_energies(client):
    from matinverse.graphene.oracle import HueckelOracle

    job = wait_for_job(client, start(client, "graphene", {"density": 0.08, "n": 2}))
    assert job["state"] == "done", job["error"]
    sheets = job["result"]["sheets"]
    states = np.load(io.BytesIO(client.get(f"/api/jobs/{job['id']}/files/sheets.npy").content))
    np.testing.assert_allclose(HueckelOracle().energies(states), [s["energy"] for s in sheets])
    xyz = client.get(f"/api/jobs/{job['id']}/files/sheets.xyz").text
    frames = read(io.StringIO(xyz), index=":", format="extxyz")
    assert [len(f) for f in frames] == [s["atoms"] for s in sheets]
    assert [s["atoms"] for s in sheets] == [len(s["xy"]) for s in sheets]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"density": 1.0}, "outside the training data's range"),
        ({"density": 0.08, "scale": 9}, "scale: Input should be less than or equal to 4"),
    ],
)
def test_graphene_bad_input(client, body, message):
    assert message in error_of(client.post("/api/graphene/design", json=body))


@pytest.mark.parametrize(
    "body, message",
    [
        ({"composition": "(("}, "cannot parse formula '(('"),
        ({"composition": "NbO2"}, "Nb not in system Mg-Mn-O"),
        ({"composition": "MgO", "system": "Fe-O"}, "unknown system 'Fe-O'"),
        ({"composition": "MgO", "screen": 0}, "screen: Input should be greater than or equal to 1"),
        ({"composition": "MgO", "hops": -1}, "hops: Input should be greater than or equal to 0"),
        ({"composition": "MgO", "exchange": True}, "cation exchanges are made by basin hops"),
    ],
)
def test_crystals_bad_input(client, body, message):
    assert message in error_of(client.post("/api/crystals/design", json=body))


def test_crystals_with_a_generator_give_structures_and_cif(tiny_crystal_generator, shared_data):
    from fastapi.testclient import TestClient
    from pymatgen.core import Structure

    from matinverse.studio.app import create_app
    from matinverse.studio.tasks import StudioSettings

    settings = StudioSettings(crystals_model=tiny_crystal_generator, data_dir=shared_data)
    with TestClient(create_app(settings)) as own:
        assert own.get("/api/info").json()["crystals"]["unavailable"]["Mg-Mn-O"] is None
        body = {"composition": "Mg2Mn2O6", "n": 3, "relax": False}
        job = wait_for_job(own, start(own, "crystals", body))
        assert job["state"] == "done", job["error"]
        rows = job["result"]["rows"]
        assert len(rows) == 3 and "summary.csv" in job["files"]
        for row in rows:
            assert sorted(row["species"]) == sorted(["Mg"] * 2 + ["Mn"] * 2 + ["O"] * 6)
            cif = own.get(f"/api/jobs/{job['id']}/files/{row['cif']}").text
            structure = Structure.from_str(cif, fmt="cif")
            assert structure.composition.reduced_formula == "MgMnO3"
            lengths = np.linalg.norm(row["lattice"], axis=1)
            np.testing.assert_allclose(structure.lattice.abc, lengths, atol=1e-3)
        body = {"composition": "Mg2Mn2O6", "n": 3, "relax": False, "symmetry": True}
        job = wait_for_job(own, start(own, "crystals", body))
        assert job["state"] == "done", job["error"]
        groups = [row["spacegroup"] for row in job["result"]["rows"]]
        assert all(isinstance(g, int) and 1 <= g <= 230 for g in groups) and max(groups) > 1
        message = own.get("/api/info").json()["crystals"]["unavailable"]["Nb-O"]
        assert "generates Mg-Mn-O, not Nb-O" in message
        nbo = own.post("/api/crystals/design", json={"system": "Nb-O", "composition": "NbO2"})
        assert "generates Mg-Mn-O, not Nb-O" in error_of(nbo)


def test_shipped_crystals_are_relaxed_placed_on_the_hull_and_phonon_checked(shared_data, tmp_path):
    from fastapi.testclient import TestClient

    from matinverse.crystals.database import build_database
    from matinverse.studio.app import create_app
    from matinverse.studio.tasks import StudioSettings

    build_database(tmp_path / "db", "Mg-Mn-O", 0)  # the elemental references only
    settings = StudioSettings(crystals_database=tmp_path / "db", data_dir=shared_data)
    with TestClient(create_app(settings)) as own:
        body = {"composition": "MgMnO3", "n": 1, "screen": 2, "phonons": True}
        job = wait_for_job(own, start(own, "crystals", body), timeout=600)  # a hang guard
    assert job["state"] == "done", job["error"]
    (row,) = job["result"]["rows"]
    assert row["sane"] and row["relaxed"] and -9 < row["energy_per_atom"] < -4  # eV/atom
    assert sorted(row["species"]) == ["Mg", "Mn", "O", "O", "O"]
    # the only ternary, far below the elements: on the hull; and a phonon verdict
    assert row["e_above_hull"] == pytest.approx(0, abs=1e-9)
    assert row["phonon_stable"] in (True, False)


def test_two_jobs_run_at_once_and_the_server_answers_meanwhile(client):
    body = {"target": RAMP, "candidates": 1, "time_limit": 2.0}
    first, second = start(client, "porous", body), start(client, "porous", body)
    time.sleep(0.5)
    began = time.monotonic()
    assert client.get("/api/info").status_code == 200
    assert time.monotonic() - began < 1.0
    listed = {j["id"] for j in client.get("/api/jobs").json()["jobs"]}
    assert {first["id"], second["id"]} <= listed
    first, second = wait_for_job(client, first), wait_for_job(client, second)
    assert first["state"] == second["state"] == "done"
    assert first["started"] < second["finished"] and second["started"] < first["finished"]


def test_cancel_stops_a_running_job(client):
    job = start(client, "porous", {"target": RAMP, "time_limit": 60.0})
    while client.get(f"/api/jobs/{job['id']}").json()["progress"]["done"] == 0:
        time.sleep(0.1)
    asked = time.monotonic()
    state = client.post(f"/api/jobs/{job['id']}/cancel").json()["state"]
    assert state in ("cancelling", "cancelled")
    job = wait_for_job(client, job, timeout=20)
    assert job["state"] == "cancelled" and job["files"] == [] and time.monotonic() - asked < 15


def test_unknown_jobs_and_files_are_404(client):
    assert "no job 'nope'" in error_of(client.get("/api/jobs/nope"), 404)
    assert "no job" in error_of(client.post("/api/jobs/nope/cancel"), 404)
    job = wait_for_job(client, start(client, "strain", {"bandgap": 1.0, "n": 1}))
    message = error_of(client.get(f"/api/jobs/{job['id']}/files/none.csv"), 404)
    assert "has no file 'none.csv'" in message


def test_a_queued_job_cancelled_before_it_starts_never_runs():
    manager = JobManager(workers=1)
    release, ran = threading.Event(), []

    def blocking(progress):
        release.wait(10)
        return {}, {}

    def second(progress):
        ran.append(True)
        return {}, {}

    first, queued = manager.submit("a", blocking), manager.submit("b", second)
    assert queued.state == "queued"
    manager.cancel(queued.id)
    release.set()
    manager.shutdown()
    assert first.state == "done" and queued.state == "cancelled" and not ran


def test_studio_command_refuses_a_missing_crystals_model(run, tmp_path):
    result = run("studio", "--crystals-model", tmp_path / "none.pt")
    assert result.returncode == 2 and "--crystals-model" in result.stderr
    assert "is not a file" in result.stderr and "Traceback" not in result.stderr
