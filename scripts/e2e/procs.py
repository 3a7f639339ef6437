"""Process control for the e2e harness: servers in their own process groups, one-shot commands, signals.

Generic on purpose (nothing here knows PostgreSQL or Airflow), so other dev tools reuse it:
``benchmarks/`` imports ``group_members`` from here.

Every service runs in a new session (``start_new_session=True``), so one ``killpg`` reaches the
service and every child it forks (Celery's pool processes, PostgreSQL's backends, the API server's
workers). Stopping is escalation with a bound: the service's polite signal, then SIGKILL. Afterwards
``/proc`` is scanned for any process still in one of our groups, because "we sent the signal" is not
"nothing is left running".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago; the OS picks it so parallel runs never collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], bool], timeout: float, interval: float = 0.5,
             alive: Callable[[], bool] | None = None) -> float:
    """Poll ``probe`` until it is true, failing after ``timeout`` s or as soon as ``alive`` says the server died.

    Returns the seconds waited, which the summary reports as start-up cost.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            if probe():
                return time.monotonic() - started
        except Exception:
            pass
        if alive is not None and not alive():
            raise RuntimeError(f"{what} exited while we waited for it")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout:.0f} s")
        time.sleep(interval)


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Service:
    """One started server: its process, its log file, and how it wants to be asked to stop."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM
    log_file: IO[bytes] | None = field(default=None, repr=False)
    #: Services started one after another with the same ``wave`` are stopped together (in parallel).
    wave: str | None = None

    @property
    def pgid(self) -> int:
        """The process group id: equal to the pid because each service starts a new session."""
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


def group_members(pgid: int) -> list[int]:
    """Pids (zombies excluded) whose process group is ``pgid``, read from ``/proc``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces, so split after its closing parenthesis.
        fields = stat[stat.rindex(")") + 2:].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members


class ServiceGroup:
    """The set of services one harness run started; stops them in reverse start order.

    Neighbours started with the same ``wave`` are stopped together: Airflow's components each take a
    few seconds to shut down, and none depends on another being up while it does, whereas PostgreSQL
    must outlive them all.

    With ``pidfile``, the process group ids are written there after every start, so a run killed
    with SIGKILL (which cannot clean up) can be cleaned up by the next one (``kill_recorded_groups``).
    """

    def __init__(self, log_dir: Path, pidfile: Path | None = None) -> None:
        self.log_dir = log_dir
        self.pidfile = pidfile
        self.services: list[Service] = []

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None,
              user: str | None = None, stop_signal: int = signal.SIGTERM, wave: str | None = None) -> Service:
        """Start ``argv`` detached in its own session with stdout+stderr in ``<log_dir>/<name>.log``."""
        log_path = self.log_dir / f"{name}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, user=user,
        )
        service = Service(name, proc, log_path, stop_signal, log_file, wave)
        self.services.append(service)
        if self.pidfile is not None:
            self.pidfile.write_text(json.dumps([s.pgid for s in self.services]))
        return service

    def stop_all(self, grace: float = 25.0) -> list[str]:
        """Stop every service (polite signal, then SIGKILL after ``grace`` s); return leftovers, if any."""
        for wave in self._waves():
            self._stop(wave, grace)
        leftovers = []
        for service in self.services:
            for pid in group_members(service.pgid):
                leftovers.append(f"{service.name}: pid {pid}")
            if service.log_file is not None:
                service.log_file.close()
        if self.pidfile is not None and not leftovers:
            self.pidfile.unlink(missing_ok=True)
        return leftovers

    @staticmethod
    def _signal_group(service: Service, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.pgid, sig)

    def _waves(self) -> list[list[Service]]:
        """The services in reverse start order, neighbours of one ``wave`` grouped, every other alone."""
        waves: list[list[Service]] = []
        for service in reversed(self.services):
            if waves and service.wave is not None and waves[-1][0].wave == service.wave:
                waves[-1].append(service)
            else:
                waves.append([service])
        return waves

    @staticmethod
    def _running(service: Service) -> bool:
        return service.alive() or bool(group_members(service.pgid))

    def _stop(self, wave: list[Service], grace: float) -> None:
        """Signal whole groups, so children orphaned by an early leader exit are reached too."""
        for service in wave:
            if self._running(service):
                self._signal_group(service, service.stop_signal)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(self._running(s) for s in wave):
            time.sleep(0.2)
        for service in wave:
            if self._running(service):
                self._signal_group(service, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    service.proc.wait(timeout=10)
            elif service.proc.returncode is None:
                service.proc.wait(timeout=5)


def kill_recorded_groups(pidfile: Path) -> None:
    """SIGKILL the process groups an earlier, killed run recorded in ``pidfile`` (see ``ServiceGroup``)."""
    if not pidfile.exists():
        return
    killed = []
    for pgid in json.loads(pidfile.read_text()):
        try:
            os.killpg(int(pgid), signal.SIGKILL)
            killed.append(int(pgid))
        except (ProcessLookupError, PermissionError):
            continue
    # Gone before their files are removed (bounded: a process in uninterruptible sleep may linger).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(group_members(pgid) for pgid in killed):
        time.sleep(0.1)
    pidfile.unlink()


def run_logged(name: str, argv: Sequence[str], log_dir: Path, *, cwd: Path | None = None,
               env: Mapping[str, str] | None = None, timeout: float = 600, user: str | None = None) -> None:
    """Run a one-shot command with its output in ``<log_dir>/<name>.log``; fail loudly with the log's tail."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as out:
        done = subprocess.run(list(argv), env=dict(env) if env is not None else None, stdout=out,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout, user=user,
                              cwd=cwd, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{name} failed (exit {done.returncode}); tail of {log_path}:\n{tail}")


@contextlib.contextmanager
def stopped_on_signals(note: Callable[[str], None] = print) -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit so the ``finally`` that stops the servers always runs."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        note(f"interrupted by {signal.Signals(signum).name}")
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def ignore_interrupts() -> None:
    """Let a cleanup finish even on a second Ctrl-C or a repeated SIGTERM."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
