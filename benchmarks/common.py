"""Shared plumbing of the benchmarks: the sandbox as a separate process, connection env, results.

The sandbox runs in its own process (not the in-process thread server) so that the CMS side never
competes with the measured client for the GIL: on a 2-core machine the client gets one core and the
sandbox the other, like a client and a remote API. Its access log is off, because formatting a log
line per request would add a constant to every variant and flatten every ratio towards 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
PY = sys.executable

#: A Webflow limit so high that pacing never waits: for benchmarks that measure overhead, not pacing.
UNLIMITED = 1_000_000


def ensure_airflow_home() -> None:
    """Importing Airflow writes ``$AIRFLOW_HOME/airflow.cfg``: keep that in a throw-away dir, never ~/airflow."""
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="pagemeta-bench-home-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    # The bulk operators log progress every 10%: useful in a task log, noise in a benchmark table.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def rss_kb(pid: int | str = "self") -> int:
    """Current resident set size of a process, from ``/proc`` (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def result(value: float | int | None, target: str, met: bool | None, **details: Any) -> dict[str, Any]:
    """One benchmark's entry in ``results.json``; ``met`` is None in smoke mode (no targets there)."""
    shown = round(value, 3) if isinstance(value, float) else value
    return {"value": shown, "target": target, "met": met, "details": details}


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class SandboxProcess:
    """The sandbox served by a child process in its own process group (stopped with one killpg)."""

    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def free_port() -> int:
    from airflow_provider_pagemeta.sandbox.server import free_port as pick

    return pick()


@contextlib.contextmanager
def sandbox_process(log_path: Path | None = None) -> Iterator[SandboxProcess]:
    """Start ``benchmarks/sandbox_proc.py`` on a free port, wait (bounded) until it answers, stop it on exit."""
    import requests

    port = free_port()
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [PY, str(BENCH / "sandbox_proc.py"), "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT,
    )
    sandbox = SandboxProcess(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the sandbox process exited with {proc.returncode}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{sandbox.url}/_sandbox/fixtures", timeout=2).ok:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("the sandbox did not start within 60 s")
            time.sleep(0.1)
        yield sandbox
    finally:
        sandbox.stop()
        if hasattr(out, "close"):
            out.close()


def conn_env(url: str, window: float) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for the sandbox, with the Webflow ``rate_limit_window`` matching the sandbox's.

    The pacer only knows the window from this extra (Webflow's headers do not say it), so a mismatch
    would make B3 measure a misconfiguration instead of the pacer.
    """
    from airflow_provider_pagemeta.sandbox.control import connection_env

    env = connection_env(url)
    webflow = json.loads(env["AIRFLOW_CONN_WEBFLOW_DEFAULT"])
    webflow["extra"] = {**webflow.get("extra", {}), "rate_limit_window": window}
    env["AIRFLOW_CONN_WEBFLOW_DEFAULT"] = json.dumps(webflow)
    return env


def configure(url: str, *, limit: int = UNLIMITED, window: float = 60.0, apply_delay: float = 1.0) -> None:
    """Reset the sandbox (demo data, log, rate-limit counters) and point this process's connections at it."""
    from airflow_provider_pagemeta.core.pacing import reset_pacers
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    control = SandboxControl(url)
    control.reset()
    control.clear_requests()
    control.config(webflow_rate_limit=limit, webflow_rate_window=window, buttercms_apply_delay=apply_delay)
    control.close()
    os.environ.update(conn_env(url, window))
    reset_pacers()


def interleaved(variants: dict[str, Callable[[int], None]], rounds: int) -> dict[str, list[float]]:
    """Run each variant once per round, alternating which goes first, and return the wall times per variant.

    Alternating the order cancels a steady drift (another engineer's test run starting or ending) instead
    of charging it all to whichever variant happened to run second.
    """
    names = list(variants)
    walls: dict[str, list[float]] = {name: [] for name in names}
    for n in range(rounds):
        order = names if n % 2 == 0 else list(reversed(names))
        for name in order:
            walls[name].append(timed(lambda name=name, n=n: variants[name](n)))  # type: ignore[misc]
    return walls
