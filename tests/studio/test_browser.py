"""End to end: Debian's chromium (Playwright) against ``matinverse studio`` servers.

With MATINVERSE_SCREENSHOTS=FOLDER the tests also save a screenshot of each page there
(the README's docs/studio/*.png)."""

import json
import os
import urllib.request
from pathlib import Path

import pytest

SCREENSHOTS = os.environ.get("MATINVERSE_SCREENSHOTS")


@pytest.fixture(scope="module")
def server(start_server, shared_data):
    """(URL, banner) of a studio with the shipped crystal generators."""
    return start_server("--data-dir", shared_data)


@pytest.fixture
def open_page(browser):
    """open(url, page) -> a Playwright page at URL#page, set up; fails the test on any
    JavaScript error."""
    contexts, errors = [], []

    def open_(url: str, name: str):
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(f"{url}/#{name}")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def page_error(page, name: str, fields: dict[str, str]) -> str:
    """Fill ``fields`` of page ``name``'s form, run it, and return the error line shown."""
    for field, value in fields.items():
        page.fill(f"#{name}-form [name={field}]", value)
    page.click(f"#{name}-run")
    page.wait_for_selector(f"#{name}-job .error")
    return page.inner_text(f"#{name}-job .error")


def api_jobs(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/jobs") as response:
        return json.load(response)["jobs"]


def api_job(url: str, job_id: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/jobs/{job_id}") as response:
        return json.load(response)


def draw_step(page, low: float, high: float, at: float) -> None:
    """Drag the mouse across the porous plot: filling ``low`` below RH ``at``, then ``high``."""
    box = page.locator("#porous-draw svg").bounding_box()
    left, top = box["x"] + 56, box["y"] + 12  # the plot area inside the axes (common.js)
    width, height = box["width"] - 68, box["height"] - 54
    page.mouse.move(left + 1, top + height * (1 - low))
    page.mouse.down()
    for i in range(1, 41):
        rh = i / 40
        page.mouse.move(left + rh * width, top + height * (1 - (low if rh < at else high)))
    page.mouse.up()


def test_the_server_says_it_listens_on_localhost_only(server):
    url, banner = server
    assert banner == f"matinverse studio at {url}/ (listening on localhost only)"


def test_porous_draw_a_curve_design_and_see_grids_and_errors(open_page, server):
    url = server[0]
    page = open_page(url, "porous")
    draw_step(page, 0.1, 0.8, 0.5)
    assert page.locator("#porous-draw circle").count() == 41
    page.fill("#porous-form [name=time_limit]", "1")
    page.click("#porous-run")
    page.wait_for_selector("#porous-best-mae", timeout=60_000)
    images = page.locator("#porous-results img.grid")
    assert images.count() == 3
    widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert widths == [160, 160, 160]  # 20 cells of 8 pixels
    job = [j for j in api_jobs(url) if j["kind"] == "porous"][-1]
    result = api_job(url, job["id"])["result"]
    target = result["target"]
    assert target[0] == pytest.approx(0.1, abs=0.03) and target[-1] == pytest.approx(0.8, abs=0.03)
    assert target[10] == pytest.approx(0.1, abs=0.03) and target[30] == pytest.approx(0.8, abs=0.03)
    shown = [float(t) for t in page.locator("#porous-results .mae").all_inner_texts()]
    assert shown == [round(c["mae"], 4) for c in result["candidates"]]
    assert page.inner_text("#porous-best-mae") == f"{result['candidates'][0]['mae']:.4f}"
    links = page.locator("#porous-results .downloads a").all_inner_texts()
    assert links == ["grids.npy", "grids.csv", "report.json", "design.png"]
    shot(page, "porous")


def test_porous_presets_upload_and_an_empty_curve(open_page, server):
    page = open_page(server[0], "porous")
    page.click("#porous-clear")
    assert page_error(page, "porous", {}) == "the target curve is empty"
    page.select_option("#porous-preset", "linear ramp")
    assert page.locator("#porous-draw circle").count() == 41
    page.set_input_files("#porous-upload", "examples/porous_targets.csv")
    page.wait_for_selector("#porous-upload-pick:not([hidden])")
    assert page.locator("#porous-upload-pick option").count() == 3
    page.set_input_files(
        "#porous-upload",
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"0.5,0.5\n"}],
    )
    page.wait_for_selector("#porous-job .error")
    assert page.inner_text("#porous-job .error") == "bad.csv line 1: expected 41 values, got 2"


def test_porous_cancel_from_the_page(open_page, server):
    page = open_page(server[0], "porous")
    page.select_option("#porous-preset", "sharp step at RH 0.5")
    page.fill("#porous-form [name=time_limit]", "60")
    page.click("#porous-run")
    page.wait_for_function(
        "document.querySelector('#porous-job .state').textContent.startsWith('running')"
    )
    page.click("#porous-job .cancel")
    page.wait_for_function(
        "document.querySelector('#porous-job .state').textContent === 'cancelled'", timeout=20_000
    )
    assert page.inner_text("#porous-results") == ""


def test_two_tabs_run_jobs_at_once(open_page, server):
    url = server[0]
    tabs = [open_page(url, "porous") for _ in range(2)]
    for tab in tabs:
        tab.select_option("#porous-preset", "two steps (RH 0.3, 0.7)")
        tab.fill("#porous-form [name=time_limit]", "2")
    for tab in tabs:
        tab.click("#porous-run")
    for tab in tabs:
        tab.wait_for_selector("#porous-best-mae", timeout=60_000)
    first, second = (api_job(url, j["id"]) for j in api_jobs(url)[-2:])
    assert first["started"] < second["finished"] and second["started"] < first["finished"]


def test_strain_table_and_scatter(open_page, server):
    page = open_page(server[0], "strain")
    assert "outside the range the data cover" in page_error(page, "strain", {"bandgap": "9"})
    page.fill("#strain-form [name=bandgap]", "1.1")
    page.fill("#strain-form [name=n]", "6")
    page.click("#strain-run")
    page.wait_for_selector("#strain-count", timeout=60_000)
    assert page.inner_text("#strain-count") == "6"
    assert page.locator("#strain-results tbody tr").count() == 6
    assert page.locator("#strain-scatter circle").count() == 6
    gaps = page.locator("#strain-results tbody tr td:nth-child(8)").all_inner_texts()
    assert all(abs(float(g) - 1.1) < 0.01 for g in gaps)
    page.select_option("#strain-results select[name=x]", "efield")
    assert "efield" in page.inner_text("#strain-scatter")
    shot(page, "strain")


def test_compositions_bounds_in_formulas_out(open_page, server):
    page = open_page(server[0], "compositions")
    no_bounds = dict.fromkeys(("formation_energy_max", "bandgap_min", "bandgap_max"), "")
    assert "give at least one property bound" in page_error(page, "compositions", no_bounds)
    page.fill("#compositions-form [name=formation_energy_max]", "-1.0")
    for name, value in (("n", "3"), ("steps", "10"), ("batch", "64")):
        page.fill(f"#compositions-form [name={name}]", value)
    page.click("#compositions-run")
    page.wait_for_selector("#compositions-count", timeout=120_000)
    assert page.inner_text("#compositions-count") == "3"
    cells = page.locator("#compositions-results tbody tr").all()
    assert len(cells) == 3
    for row in cells:
        energy, spread = (float(t) for t in row.locator("td").all_inner_texts()[1:3])
        assert energy + spread <= -1.0 + 2e-3  # shown to three decimals
    shot(page, "compositions")


def test_graphene_sheets_drawn_as_atoms(open_page, server):
    page = open_page(server[0], "graphene")
    message = page_error(page, "graphene", {"density": "0.5"})
    assert "outside the training data's range" in message
    page.fill("#graphene-form [name=density]", "0.08")
    page.fill("#graphene-form [name=n]", "3")
    page.click("#graphene-run")
    page.wait_for_selector("#graphene-mae", timeout=60_000)
    sheets = page.locator("#graphene-results svg.sheet")
    assert sheets.count() == 3
    atoms = sheets.evaluate_all("s => s.map(svg => svg.querySelectorAll('circle.atom').length)")
    assert min(atoms) > 300  # 14 x 16 cells: 448 sites, a few holes
    energies = [float(e) for e in page.locator("#graphene-results .energy").all_inner_texts()]
    assert len(energies) == 3 and float(page.inner_text("#graphene-mae")) < 0.02
    shot(page, "graphene")


def test_crystals_page_names_the_system_its_generator_lacks(
    open_page, start_server, shared_data, tiny_crystal_generator
):
    url, _ = start_server("--data-dir", shared_data, "--crystals-model", tiny_crystal_generator)
    page = open_page(url, "crystals")
    assert not page.is_visible("#crystals-notice")  # Mg-Mn-O: the given generator
    page.select_option("#crystals-form [name=system]", "Nb-O")
    assert "generates Mg-Mn-O, not Nb-O" in page.inner_text("#crystals-notice")
    assert page_error(page, "crystals", {"composition": "(("}) == "cannot parse formula '(('"
    page.check("#crystals-form [name=exchange]")  # without basin hops
    page.fill("#crystals-form [name=composition]", "Nb2O4")
    page.click("#crystals-run")
    page.wait_for_function(
        "document.querySelector('#crystals-job .error')?.textContent.includes('basin hops')"
    )
    page.uncheck("#crystals-form [name=exchange]")
    page.click("#crystals-run")
    page.wait_for_function(
        "document.querySelector('#crystals-job .error')?.textContent.includes('not Nb-O')"
    )


def test_crystals_3d_view_with_the_shipped_generator(open_page, server):
    page = open_page(server[0], "crystals")
    assert not page.is_visible("#crystals-notice")
    page.select_option("#crystals-form [name=system]", "Nb-O")
    assert not page.is_visible("#crystals-notice")  # a Nb-O generator ships too
    page.select_option("#crystals-form [name=system]", "Mg-Mn-O")
    page.fill("#crystals-form [name=n]", "3")
    page.uncheck("#crystals-form [name=relax]")
    page.check("#crystals-form [name=symmetry]")
    page.click("#crystals-run")
    page.wait_for_selector("#crystal-view", timeout=60_000)
    assert page.locator("#crystals-results tbody tr").count() == 3
    assert "space group imposed" in page.inner_text("#crystals-results thead")
    painted = "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((v, i) => i % 4 == 3 && v > 0).length"  # noqa: E501
    canvas = page.locator("#crystal-view")
    assert canvas.evaluate(painted) > 2000
    before = canvas.evaluate("c => c.toDataURL()")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 240, steps=5)
    page.mouse.up()
    assert canvas.evaluate("c => c.toDataURL()") != before  # dragging rotates the view
    page.click("#crystals-results tbody tr:nth-child(2)")
    second = page.inner_text("#crystals-results tbody tr:nth-child(2) td:first-child")
    assert page.inner_text("#crystal-caption").startswith(second)
    assert page.inner_text("#crystal-download") == f"Download {second}.cif"
    shot(page, "crystals")
