"""A real ``airflow api-server`` and Debian's Chromium for the browser checks of the connection forms.

The server runs as a subprocess in its own process group, so stopping it also stops the uvicorn worker
it forks, whatever happened in the tests. Playwright's own browser download is never used (it cannot be
fetched here); the system Chromium is driven through ``executable_path`` instead.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import AIRFLOW_BIN, ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests may run as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "build" / "ui-screenshots"
SERVER_START_TIMEOUT = 120.0  # first start compiles nothing but imports all of Airflow; ~10 s here
SERVER_STOP_TIMEOUT = 20.0


def _free_port() -> int:
    """Ask the kernel for an unused loopback port so parallel runs and a developer's server do not clash."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def _wait_until_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll the health endpoint with a deadline; a server that died is reported at once with its log."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow api-server exited with {proc.returncode}:\n{_log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)  # polling interval of a bounded wait, not a fixed delay
    raise RuntimeError(f"airflow api-server not healthy after {SERVER_START_TIMEOUT:.0f} s:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the whole process group (the CLI forks uvicorn workers), escalating if SIGTERM is ignored."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=SERVER_STOP_TIMEOUT)


@pytest.fixture(scope="session")
def ui_airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Airflow home of the browser tests' own.

    Not the session's shared home: by the time these tests run, dozens of `airflow dags test`
    processes have written that SQLite file, and an API server writing it too can make a reader
    see it as malformed mid-write. Nothing else ever opens this one.
    """
    home = tmp_path_factory.mktemp("ui-airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home)}
    subprocess.run([AIRFLOW_BIN, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return home


@pytest.fixture(scope="session")
def api_server(ui_airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of an API server on the test session's migrated SQLite home.

    All-admins simple auth means the UI opens without a login page; that is fine for a throw-away server
    bound to loopback and keeps the test about the form, not about authentication.
    """
    port = _free_port()
    log = tmp_path_factory.mktemp("api-server") / "api-server.log"
    env = {**os.environ, "AIRFLOW_HOME": str(ui_airflow_home), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
    # Only the core app (REST API + UI): the task-execution API is not needed to render a form.
    cmd = [AIRFLOW_BIN, "api-server", "--apps", "core", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(proc, url, log)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def browser(api_server: str) -> Iterator[Browser]:
    """One headless Chromium for all form checks: launching it is the slow part, pages are cheap.

    It depends on ``api_server`` only for teardown order: the browser closes its keep-alive
    connections first, so the server's graceful shutdown does not wait on them.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
