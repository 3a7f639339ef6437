"""pytest fixtures that serve the sandbox on a free loopback port.

Use them in your own DAG tests with ``pytest_plugins = ["airflow_provider_pagemeta.sandbox.pytest_plugin"]``:
``sandbox`` is a :class:`~airflow_provider_pagemeta.sandbox.control.SandboxControl`, reset before
each test; ``pagemeta_connections`` points ``AIRFLOW_CONN_<CMS>_DEFAULT`` at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS, SandboxControl, connection_env
from airflow_provider_pagemeta.sandbox.server import SandboxServer

__all__ = ["SANDBOX_TOKENS", "connection_env", "pagemeta_connections", "pagemeta_sandbox_server", "sandbox"]

@pytest.fixture(scope="session")
def pagemeta_sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(pagemeta_sandbox_server: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(pagemeta_sandbox_server.url)
    control.reset()
    yield control
    control.close()


@pytest.fixture
def pagemeta_connections(sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = connection_env(sandbox.url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
