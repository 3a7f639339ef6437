"""Run the sandbox: in a background thread (tests, the demo) or in the foreground (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from airflow_provider_pagemeta.sandbox.app import create_app
from airflow_provider_pagemeta.sandbox.state import SandboxConfig


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _QuietServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the thread is not the main thread
        return None


class SandboxServer:
    """A sandbox served by uvicorn on a background thread.

    ``with SandboxServer() as sb: ... sb.url`` starts it on a free loopback port, waits until it
    accepts connections (bounded), and stops it on exit.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int | None = None, config: SandboxConfig | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.app = create_app(config)
        self._server = _QuietServer(
            uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", lifespan="off",
                           access_log=False)
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.run, name="pagemeta-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the sandbox failed to start on {self.url}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sandbox did not start on {self.url} within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8765, config: SandboxConfig | None = None) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", lifespan="off")
