"""pytest fixtures that serve the sandbox on a free loopback port.

Use them in your own DAG tests with ``pytest_plugins = ["airflow_provider_pagemeta.sandbox.pytest_plugin"]``:
``sandbox`` is a :class:`~airflow_provider_pagemeta.sandbox.control.SandboxControl`, reset before
each test; ``pagemeta_connections`` points ``AIRFLOW_CONN_<CMS>_DEFAULT`` at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS, SandboxControl, connection_env
from airflow_provider_pagemeta.sandbox.server import SandboxServer

if TYPE_CHECKING:
    import pytest

__all__ = ["SANDBOX_TOKENS", "connection_env", "pagemeta_connections", "pagemeta_sandbox_server", "sandbox"]


def _no_pytest_fixture(*args: Any, **kwargs: Any) -> Any:
    """Stands in for ``pytest.fixture`` when pytest is not installed: the functions stay plain."""
    return args[0] if args and callable(args[0]) else (lambda fn: fn)


try:  # pytest is a test tool, not a dependency: without it this module still imports (and does nothing)
    from pytest import fixture
except ImportError:  # pragma: no cover - exercised by the installed-wheel import check
    fixture = _no_pytest_fixture


@fixture(scope="session")
def pagemeta_sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@fixture
def sandbox(pagemeta_sandbox_server: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(pagemeta_sandbox_server.url)
    control.reset()
    yield control
    control.close()


@fixture
def pagemeta_connections(sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = connection_env(sandbox.url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
