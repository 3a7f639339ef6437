"""Asking the running Airflow: its REST API and its metadata DB.

The harness drives and judges a run from outside Airflow's processes, through the doors a user or an
operator has: the api-server's REST API (health; authenticated calls to unpause and trigger DAGs, and
such as a Human-in-the-loop answer), and read-only SQL on the metadata DB for what the API does not
keep (a task's transient ``deferred`` state, which triggerer job ran a trigger).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.e2e.procs import wait_for

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
    """One running deployment, as seen from outside: its API URL and its metadata DB's port."""

    api_url: str
    db_port: int
    _token: str | None = field(default=None, repr=False)

    # ------------------------------------------------------------------------- REST API

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

    def unpause(self, ids: list[str]) -> None:
        for dag_id in ids:
            self.rest("PATCH", f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, ids: list[str]) -> list[str]:
        """One manual run per DAG, all within a moment, as users' schedules would; returns the run ids.

        Through the REST API rather than one ``airflow dags trigger`` process per DAG: each such
        process imported Airflow while the deployment was already running, two minutes of CPU on
        two cores for seven DAGs, during which the first runs were already going.
        """
        return [str(self.rest("POST", f"dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"])
                for dag_id in ids]

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

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        """The state of one (unmapped) task instance of one run, None when it has none yet."""
        rows = self._query("SELECT state FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = %s "
                           "AND map_index = -1", (dag_id, run_id, task_id))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def task_return_values(self, dag_id: str, task_id: str) -> list[Any]:
        """The XCom return values of one task (one per map index, in index order)."""
        rows = self._query("SELECT value FROM xcom WHERE dag_id = %s AND task_id = %s AND key = 'return_value' "
                           "ORDER BY map_index", (dag_id, task_id))
        return [json.loads(value) if isinstance(value, str) else value for (value,) in rows]

    def tasks_of_operator(self, operator: str) -> list[tuple[str, str, int, str | None]]:
        """``(dag_id, task_id, map_index, state)`` of every task instance of one operator class."""
        return [(str(d), str(t), int(m), s) for d, t, m, s in self._query(
            "SELECT dag_id, task_id, map_index, state FROM task_instance WHERE operator = %s "
            "ORDER BY dag_id, task_id, map_index", (operator,))]

    def job_types(self, job_ids: set[int]) -> dict[int, str]:
        """``job.job_type`` per id: tells a TriggererJob from a scheduler or an inline ``dags test`` run."""
        if not job_ids:
            return {}
        return {int(i): str(t) for i, t in self._query("SELECT id, job_type FROM job WHERE id = ANY(%s)",
                                                        (sorted(job_ids),))}


def monitor(airflow: Airflow, ids: list[str], timeout: float, observed: Observed,
            note: Any = print, on_poll: Callable[[Observed], None] | None = None) -> None:
    """Poll until every run is finished (or ``timeout``), noting what the DB shows on the way.

    ``on_poll`` runs after each look at the DB: what a person would do meanwhile, such as answer a
    Human-in-the-loop task (``hitl.Responder``); it is bounded by the same ``timeout``.
    """
    started = time.monotonic()
    deadline = started + timeout
    last_report = ""
    while True:
        airflow.observe(ids, observed)
        if on_poll is not None:
            on_poll(observed)
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
