"""Where one e2e run keeps its files, and how it reports progress.

Everything lives under ``.e2e/`` in the checkout (gitignored, rebuilt on each run) except
PostgreSQL's data and socket directories: PostgreSQL runs as its own account, which cannot enter a
checkout that only its owner may open (e.g. a clone in ``/root/x`` with mode 700). Those two live in a
fresh directory under the system's temp folder, created for the run, handed to that account, and
removed at the end; its path is noted in ``.e2e/`` so a run killed with SIGKILL is cleaned up by the
next one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
E2E = ROOT / ".e2e"
#: Prefix of the per-run PostgreSQL directory under the temp folder (checked before removing one).
PG_SCRATCH_PREFIX = "pagemeta-e2e-pg-"

STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress on stdout, timestamped relative to the start so slow phases stand out."""
    print(f"[e2e {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def elapsed() -> float:
    return time.monotonic() - STARTED


@dataclass(frozen=True)
class Tree:
    """The folders of one run. ``pg_scratch`` is outside ``root`` (see the module docstring)."""

    root: Path
    pg_scratch: Path

    @property
    def logs(self) -> Path:
        """One log per service and per one-shot command."""
        return self.root / "logs"

    @property
    def home(self) -> Path:
        """``AIRFLOW_HOME``; task logs under ``logs/dag_id=...``."""
        return self.root / "airflow"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def pidfile(self) -> Path:
        """Process groups of the running services, for the cleanup of a killed run."""
        return self.root / "pgids.json"

    @property
    def scratch_note(self) -> Path:
        """The path of ``pg_scratch``, for the cleanup of a killed run."""
        return self.root / "pg-scratch.txt"

    @property
    def pgdata(self) -> Path:
        return self.pg_scratch / "data"

    @property
    def pgsock(self) -> Path:
        return self.pg_scratch / "socket"
