"""Studio fixtures: an API client, a tiny crystal generator, Debian's chromium (installed
when missing) and real servers started by ``matinverse studio`` on free loopback ports."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CHROMIUM = "/usr/bin/chromium"


def wait_for_job(client, job: dict, timeout: float = 60.0) -> dict:
    """Poll GET /api/jobs/{id} until the job has finished; returns its view."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job['id']}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job['id']} still {job['state']} after {timeout} s")


@pytest.fixture(scope="session")
def tiny_crystal_generator(shared_data, tmp_path_factory):
    """A Mg-Mn-O generator trained for a few steps on 64 structures (.pt path)."""
    import torch

    from matinverse.crystals.data import load_mgmno
    from matinverse.crystals.slots import MGMNO
    from matinverse.crystals.training import train_crystal_gan

    torch.manual_seed(0)
    tensor = load_mgmno(shared_data).tensor[:64]
    generator, history = train_crystal_gan(
        tensor, MGMNO, epochs=1, steps_per_epoch=4, batch=8, width=16, monitor=8
    )
    path = tmp_path_factory.mktemp("crystals") / "generator.pt"
    generator.save(path, {"history": history})
    return path


@pytest.fixture(scope="module")
def client(shared_data):
    """TestClient of a studio app (the shipped crystal generators) with the shared data root."""
    from fastapi.testclient import TestClient

    from matinverse.studio.app import create_app
    from matinverse.studio.tasks import StudioSettings

    with TestClient(create_app(StudioSettings(data_dir=shared_data))) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def start_server():
    """start(*options) -> (base URL, first stdout line) of ``matinverse studio`` on a free
    loopback port; every server started is stopped at the end of the session."""
    servers = []

    def start(*options):
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "matinverse", "studio", "--port", str(port), *map(str, options)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        servers.append(process)
        banner = process.stdout.readline().strip()
        url = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/api/info", timeout=30).read()
                return url, banner
            except OSError:
                if process.poll() is not None or time.monotonic() > end:
                    output = process.stdout.read()
                    raise AssertionError(f"studio did not start: {banner} {output}") from None
                time.sleep(0.2)

    yield start
    for process in servers:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (apt-get installs it when missing)."""
    if shutil.which("chromium") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM)
        yield chromium
        chromium.close()
