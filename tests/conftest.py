"""Test setup: an isolated Airflow home, the sandbox fixtures, and an `airflow dags test` runner."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# Before anything imports airflow: a throw-away home, no example DAGs, our DAG folder.
ROOT = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="pagemeta-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags_examples")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
# One Fernet key for every process of the test session (the pytest process, `airflow dags test`
# and the API server of the UI tests), so a connection saved by one can be read by another.
os.environ["AIRFLOW__CORE__FERNET_KEY"] = "cGFnZW1ldGEtdGVzdC1mZXJuZXQta2V5LTMyYnl0ZSE="

import pytest  # noqa: E402

from airflow_provider_pagemeta.core.pacing import reset_pacers  # noqa: E402
from airflow_provider_pagemeta.sandbox.control import SandboxControl, connection_env  # noqa: E402

pytest_plugins = ["airflow_provider_pagemeta.sandbox.pytest_plugin"]

AIRFLOW_BIN = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(autouse=True)
def _fresh_pacers() -> Iterator[None]:
    """Pacers are process-wide (one per token); tests must not inherit each other's budget."""
    reset_pacers()
    yield
    reset_pacers()


class SleepRecorder:
    """Stands in for ``time.sleep`` in hooks: records each wait instead of spending it."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture(scope="module")
def other_host() -> Iterator[SandboxControl]:
    """A second sandbox reached as ``localhost``: another host for redirects to go to."""
    from airflow_provider_pagemeta.sandbox.server import SandboxServer

    with SandboxServer(host="127.0.0.1") as server:
        control = SandboxControl(server.url.replace("127.0.0.1", "localhost"))
        yield control
        control.close()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the throw-away Airflow home once per session (only tests that run DAGs need it)."""
    subprocess.run([AIRFLOW_BIN, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return _HOME


@pytest.fixture
def run_dag(
    airflow_db: Path, sandbox: SandboxControl
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``airflow dags test <dag_id>`` in a subprocess against the sandbox."""

    def run(
        dag_id: str, conf: str | None = None, extra_env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **connection_env(sandbox.url), **(extra_env or {})}
        cmd = [AIRFLOW_BIN, "dags", "test", dag_id]
        if conf:
            cmd += ["-c", conf]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    return run


#: Fixtures that mean "talks to something real": a sandbox socket, an Airflow subprocess, a browser.
INTEGRATION_FIXTURES = frozenset({"sandbox", "pagemeta_connections", "pagemeta_sandbox_server", "run_dag",
                                  "airflow_db", "other_host"})


#: Modules whose tests start real processes (a wheel install, the Airflow CLI, a benchmark run).
SUBPROCESS_MODULES = frozenset({"tests.test_packaging", "tests.test_provider_info", "tests.benchmarks.test_smoke"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test ``integration`` (real sockets, real Airflow) or ``unit`` (pure logic), from
    the fixtures it uses, so ``-m unit`` runs the fast deterministic half on its own."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        explicit = {m.name for m in item.iter_markers()} & {"unit", "integration"}
        if explicit:
            continue
        if (fixtures & INTEGRATION_FIXTURES or item.get_closest_marker("dags") or item.get_closest_marker("ui")
                or item.module.__name__ in SUBPROCESS_MODULES):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
