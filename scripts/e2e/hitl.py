"""Answering Human-in-the-loop tasks during an e2e run, through the api-server's REST API, as a person would.

An example DAG that waits for a person (``seo_refresh_reviewed``'s ``review``, an ``ApprovalOperator``)
would otherwise hold its run until the run timeout. The harness answers it the way the Required
Actions page does: it lists the run's pending approvals (``GET /api/v2/dags/{dag}/dagRuns/~/hitlDetails
?response_received=false``) and sends the choice (``PATCH .../taskInstances/{task}/{map}/hitlDetails``
with ``{"chosen_options": [...]}``), with the same token as every other call of the harness.

``Responder`` is called by the run monitor after each look at the DB, so the wait for the approval to
appear is the monitor's own loop, bounded by its timeout. What the responder saw (when, the sandbox's
request-log position at the moment of the answer, the approver's subject and body) is kept in the
``Approval`` for the checks: "nothing was written before the approval" is judged against that position.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scripts.e2e.airflow_api import TERMINAL, Airflow, Observed

#: The states of a task that waits for its answer (parked on Airflow 3.3, deferred on 3.1 and 3.2):
#: what the Required Actions page lists as waiting.
WAITING = frozenset({"awaiting_input", "deferred"})


@dataclass
class Approval:
    """One Human-in-the-loop task the harness answers, and what it saw when it did."""

    dag_id: str
    task_id: str
    option: str = "Approve"
    #: DAGs whose runs must have ended before the answer: they write the same pages, so answering
    #: after them fixes the order of the writes on those pages (and which publish meets the
    #: one-per-interval limit), as a reviewer who waits for the other refresh would.
    after: tuple[str, ...] = ()
    run_id: str | None = None
    #: Length of the sandbox's request log just before the answer was sent: entries before it were
    #: made while the task still waited.
    log_index: int | None = None
    pending_at: float | None = None  # seconds since the responder started, when first seen pending
    answered_at: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # the pending detail (subject, body, options)
    answer: dict[str, Any] = field(default_factory=dict)  # the API's answer to the PATCH
    error: str | None = None

    @property
    def answered(self) -> bool:
        return bool(self.answer)


def pending_details(airflow: Airflow, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's Human-in-the-loop details that have no response yet (every run of it)."""
    found = airflow.rest("GET", f"dags/{dag_id}/dagRuns/~/hitlDetails?response_received=false")
    return [d for d in (found or {}).get("hitl_details") or [] if isinstance(d, dict)]


def answer(airflow: Airflow, detail: dict[str, Any], option: str) -> dict[str, Any]:
    """Send one choice for one pending detail; the API's answer (``chosen_options``, ``responded_by_user``...)."""
    ti = detail["task_instance"]
    path = (f"dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/"
            f"{ti['map_index']}/hitlDetails")
    return dict(airflow.rest("PATCH", path, {"chosen_options": [option]}) or {})


class Responder:
    """Answers each ``Approval`` once its task waits and the DAGs it comes ``after`` have ended."""

    def __init__(self, airflow: Airflow, approvals: list[Approval], log_length: Callable[[], int],
                 note: Callable[[str], None] = print) -> None:
        self.airflow = airflow
        self.approvals = {a.dag_id: a for a in approvals}
        self.log_length = log_length
        self.note = note
        self.started = time.monotonic()

    def __call__(self, observed: Observed) -> None:
        for approval in self.approvals.values():
            if approval.answered or approval.error is not None or approval.dag_id not in observed.runs:
                continue
            try:
                self._try(approval, observed)
            except Exception as exc:  # the check reports it; the run then ends at its own timeout
                approval.error = f"{type(exc).__name__}: {exc}"
                self.note(f"answering {approval.dag_id}.{approval.task_id} failed: {approval.error}")

    def _try(self, approval: Approval, observed: Observed) -> None:
        waiting = [d for d in pending_details(self.airflow, approval.dag_id)
                   if d.get("task_instance", {}).get("task_id") == approval.task_id
                   and d["task_instance"].get("state") in WAITING]
        if not waiting:
            return
        if approval.pending_at is None:
            approval.pending_at = time.monotonic() - self.started
            self.note(f"{approval.dag_id}.{approval.task_id} waits for a person")
        busy = [d for d in approval.after if d in observed.runs and observed.runs[d][1] not in TERMINAL]
        if busy:
            return
        detail = waiting[0]
        approval.detail = detail
        approval.run_id = str(detail["task_instance"]["dag_run_id"])
        approval.log_index = self.log_length()
        approval.answer = answer(self.airflow, detail, approval.option)
        approval.answered_at = time.monotonic() - self.started
        self.note(f"answered {approval.dag_id}.{approval.task_id} with {approval.answer.get('chosen_options')} "
                  f"through the REST API ({approval.answered_at - approval.pending_at:.0f} s after it began waiting)")
