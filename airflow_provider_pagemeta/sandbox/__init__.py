"""Local emulator of the four CMS APIs (FastAPI + uvicorn), for dry runs and tests.

Importing this package is cheap; FastAPI and uvicorn load only when an app or server is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_pagemeta.sandbox.server import SandboxServer

__all__ = ["SandboxServer", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from airflow_provider_pagemeta.sandbox.app import create_app

        return create_app
    if name == "SandboxServer":
        from airflow_provider_pagemeta.sandbox.server import SandboxServer

        return SandboxServer
    raise AttributeError(name)
