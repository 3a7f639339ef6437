"""Asking the running Airflow: its REST API, its CLI, and its metadata DB.

The harness judges a run from outside Airflow's processes, through the doors a user or an operator
has: the api-server's REST API (health, and authenticated calls such as a Human-in-the-loop answer),
the ``airflow`` CLI (unpause, trigger), and read-only SQL on the metadata DB for what the API does not
keep (a task's transient ``deferred`` state, which triggerer job ran a trigger).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.e2e.procs import run_logged, wait_for

TERMINAL = {"success", "failed"}
#: The parts of ``/api/v2/monitor/health`` that must say ``healthy`` before DAGs are triggered.
HEALTH_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def metadata_db(port: int, dbname: str = "airflow") -> Any:
    """A psycopg2 connection to the run's PostgreSQL (installed by provisioning, hence imported late)."""
    import psycopg2

    return psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname=dbname, connect_timeout=3)


@dataclass
class Observed:
    """What the monitor saw while the DAGs ran (the DB forgets transient states like ``deferred``)."""

    runs: dict[str, tuple[str, str]] = field(default_factory=dict)  # dag_id -> (run_id, state)
    deferred: set[tuple[str, str]] = field(default_factory=set)  # (dag_id, task_id) seen deferred
    triggers: set[tuple[str, int | None]] = field(default_factory=set)  # (classpath, triggerer job id)
    run_seconds: float = 0.0

    def states(self, ids: list[str]) -> dict[str, str]:
        return {i: self.runs.get(i, ("", "none"))[1] for i in ids}


@dataclass
class Airflow:
    """One running deployment, as seen from outside: its API URL, its CLI environment, its DB port."""

    api_url: str
    env: dict[str, str]
    db_port: int
    log_dir: Path
    airflow_bin: str
    _token: str | None = field(default=None, repr=False)

    # --------------------------------------------------------------------------- REST

    def health(self) -> dict[str, Any]:
        import requests

        answer = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=3)
        answer.raise_for_status()
        return dict(answer.json())

    def all_healthy(self) -> bool:
        body = self.health()
        return all(body.get(part, {}).get("status") == "healthy" for part in HEALTH_PARTS)

    def token(self) -> str:
        """A JWT for the REST API (the simple auth manager hands one out when every user is admin)."""
        import requests

        if self._token is None:
            answer = requests.get(f"{self.api_url}/auth/token", timeout=10)
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        return self._token

    def rest(self, method: str, path: str, body: Any = None) -> Any:
        """An authenticated call to ``/api/v2/<path>``; the decoded JSON answer (raises on non-2xx)."""
        import requests

        answer = requests.request(method, f"{self.api_url}/api/v2/{path.lstrip('/')}", json=body, timeout=30,
                                  headers={"Authorization": f"Bearer {self.token()}"})
        if not answer.ok:
            raise RuntimeError(f"{method} /api/v2/{path} -> {answer.status_code}: {answer.text[:300]}")
        return answer.json() if answer.content else None

    # ---------------------------------------------------------------------------- CLI

    def unpause(self, ids: list[str]) -> None:
        pattern = "^(" + "|".join(re.escape(i) for i in ids) + ")$"
        run_logged("cli-unpause", [self.airflow_bin, "dags", "unpause", "--treat-dag-id-as-regex", "-y", pattern],
                   self.log_dir, env=self.env, timeout=180)

    def trigger(self, ids: list[str]) -> None:
        """Trigger every DAG at once, as users' schedules would (one CLI process per DAG, side by side)."""
        procs = []
        for dag_id in ids:
            out = open(self.log_dir / f"cli-trigger-{dag_id}.log", "wb")  # noqa: SIM115 - closed below
            procs.append((dag_id, out, subprocess.Popen([self.airflow_bin, "dags", "trigger", dag_id], env=self.env,
                                                        stdout=out, stderr=subprocess.STDOUT,
                                                        stdin=subprocess.DEVNULL)))
        for dag_id, out, proc in procs:
            code = proc.wait(timeout=180)
            out.close()
            if code != 0:
                raise RuntimeError(f"airflow dags trigger {dag_id} failed; see {self.log_dir}/cli-trigger-{dag_id}.log")

    # ---------------------------------------------------------------------- metadata DB

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with metadata_db(self.db_port) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return [tuple(row) for row in cur.fetchall()]

    def parsed(self) -> tuple[set[str], dict[str, str]]:
        """DAG ids the dag-processor serialised, and import errors by file stem."""
        present = {row[0] for row in self._query("SELECT dag_id FROM dag WHERE NOT is_stale")}
        errors = {Path(name).stem: str(trace) for name, trace in self._query(
            "SELECT filename, stacktrace FROM import_error")}
        return present, errors

    def observe(self, ids: list[str], observed: Observed) -> None:
        """Note each run's state, and the transient states (deferred tasks, trigger rows) the DB will not keep."""
        for dag_id, run_id, state in self._query("SELECT dag_id, run_id, state FROM dag_run WHERE dag_id = ANY(%s)",
                                                 (ids,)):
            observed.runs[dag_id] = (run_id, state)
        observed.deferred.update(
            (d, t) for d, t in self._query("SELECT dag_id, task_id FROM task_instance WHERE state = 'deferred'"))
        observed.triggers.update((c, t) for c, t in self._query("SELECT classpath, triggerer_id FROM trigger"))

    def task_states(self) -> list[tuple[Any, ...]]:
        """``(dag_id, task_id, map_index, state, try_number)`` of every task instance."""
        return self._query("SELECT dag_id, task_id, map_index, state, try_number FROM task_instance "
                           "ORDER BY dag_id, task_id, map_index")

    def return_values(self, dag_id: str) -> list[Any]:
        """The XCom return values of one DAG's tasks (JSON in Airflow 3's metadata DB)."""
        rows = self._query("SELECT value FROM xcom WHERE dag_id = %s AND key = 'return_value'", (dag_id,))
        return [json.loads(value) if isinstance(value, str) else value for (value,) in rows]

    def job_types(self, job_ids: set[int]) -> dict[int, str]:
        """``job.job_type`` per id: tells a TriggererJob from a scheduler or an inline ``dags test`` run."""
        if not job_ids:
            return {}
        return {int(i): str(t) for i, t in self._query("SELECT id, job_type FROM job WHERE id = ANY(%s)",
                                                        (sorted(job_ids),))}


def monitor(airflow: Airflow, ids: list[str], timeout: float, observed: Observed,
            note: Any = print) -> None:
    """Poll until every run is finished (or ``timeout``), noting what the DB shows on the way."""
    started = time.monotonic()
    deadline = started + timeout
    last_report = ""
    while True:
        airflow.observe(ids, observed)
        states = observed.states(ids)
        report = ", ".join(f"{i}={s}" for i, s in states.items())
        if report != last_report:
            note(f"runs: {report}")
            last_report = report
        if all(s in TERMINAL for s in states.values()):
            break
        if time.monotonic() > deadline:
            note(f"runs not finished within {timeout:.0f} s")
            break
        time.sleep(1.0)
    observed.run_seconds = time.monotonic() - started


def wait_parsed(airflow: Airflow, ids: list[str], timeout: float) -> dict[str, str]:
    """Wait until every DAG is serialised or has an import error; return the import errors per DAG id."""
    errors: dict[str, str] = {}

    def done() -> bool:
        present, found = airflow.parsed()
        errors.update(found)
        return all(i in present or i in errors for i in ids)

    wait_for("DAG parsing", done, timeout, 2.0)
    return {i: errors[i] for i in ids if i in errors}
