"""Answering Human-in-the-loop tasks during an e2e run, through the api-server's REST API, as a person would.

An example DAG that waits for a person (``seo_refresh_reviewed``'s ``review``, an ``ApprovalOperator``)
would otherwise hold its run until the run timeout. The harness answers it the way the Required
Actions page does: it lists the run's pending approvals (``GET /api/v2/dags/{dag}/dagRuns/~/hitlDetails
?response_received=false``) and sends the choice (``PATCH .../taskInstances/{task}/{map}/hitlDetails``
with ``{"chosen_options": [...]}``), with the same token as every other call of the harness.

``Responder`` is called by the run monitor after each look at the DB, so the wait for the approval to
appear is the monitor's own loop, bounded by its timeout; a call that fails is tried again at the next
look. What the responder saw (when, the sandbox's request-log position at the moment of the answer, the
approver's subject and body) is kept in the ``Approval`` for the checks: "nothing was written before the
approval" is judged against that position.
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
    #: Calls that failed on the way (each tried again at the next poll).
    errors: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.answer)


def pending_details(airflow: Airflow, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's Human-in-the-loop details that have no response yet (every run of it)."""
    found = airflow.rest("GET", f"dags/{dag_id}/dagRuns/~/hitlDetails?response_received=false")
    return [d for d in (found or {}).get("hitl_details") or [] if isinstance(d, dict)]


def ti_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The REST path of one task instance's Human-in-the-loop detail."""
    return f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails"


def answer(airflow: Airflow, detail: dict[str, Any], option: str) -> dict[str, Any]:
    """Send one choice for one pending detail; the API's answer (``chosen_options``, ``responded_by_user``...)."""
    ti = detail["task_instance"]
    path = ti_path(ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"])
    return dict(airflow.rest("PATCH", path, {"chosen_options": [option]}) or {})


class Responder:
    """Answers each ``Approval`` once its task waits and the DAGs it comes ``after`` have ended.

    The REST API is asked only once the metadata DB shows the task waiting (``task_state``), so the
    responder adds no load to an api-server that is busy starting every DAG's tasks. A failed call
    (an api-server slow under load) is noted and tried again at the next poll; an answer whose reply
    was lost is found by reading the task's detail before anything is sent again.
    """

    def __init__(self, airflow: Airflow, approvals: list[Approval], log_length: Callable[[], int],
                 task_state: Callable[[str, str, str], str | None], note: Callable[[str], None] = print) -> None:
        self.airflow = airflow
        self.approvals = {a.dag_id: a for a in approvals}
        self.log_length = log_length
        self.task_state = task_state
        self.note = note
        self.started = time.monotonic()

    def __call__(self, observed: Observed) -> None:
        for approval in self.approvals.values():
            if approval.answered or approval.dag_id not in observed.runs:
                continue
            try:
                self._try(approval, observed)
            except Exception as exc:  # tried again at the next poll, within the monitor's bound
                approval.errors.append(f"{type(exc).__name__}: {exc}")
                self.note(f"answering {approval.dag_id}.{approval.task_id}: {approval.errors[-1]} (will try again)")

    def _try(self, approval: Approval, observed: Observed) -> None:
        run_id = observed.runs[approval.dag_id][0]
        if approval.log_index is not None and self._landed(approval, run_id):
            return
        if self.task_state(approval.dag_id, run_id, approval.task_id) not in WAITING:
            return
        if approval.pending_at is None:
            approval.pending_at = self._now()
            self.note(f"{approval.dag_id}.{approval.task_id} waits for a person")
        busy = [d for d in approval.after if d in observed.runs and observed.runs[d][1] not in TERMINAL]
        if busy:
            return
        waiting = [d for d in pending_details(self.airflow, approval.dag_id)
                   if d.get("task_instance", {}).get("task_id") == approval.task_id
                   and d["task_instance"].get("dag_run_id") == run_id]
        if not waiting:
            return
        approval.detail = waiting[0]
        approval.run_id = run_id
        if approval.log_index is None:  # the first attempt: what came before it came before any answer
            approval.log_index = self.log_length()
        self._answered(approval, answer(self.airflow, waiting[0], approval.option))

    def _landed(self, approval: Approval, run_id: str) -> bool:
        """After a failed PATCH: whether it landed all the same (then it is not sent again)."""
        detail = self.airflow.rest("GET", ti_path(approval.dag_id, run_id, approval.task_id))
        if not (detail or {}).get("response_received"):
            return False
        self._answered(approval, {"chosen_options": detail.get("chosen_options")})
        return True

    def _answered(self, approval: Approval, reply: dict[str, Any]) -> None:
        approval.answer = reply
        approval.answered_at = self._now()
        self.note(f"answered {approval.dag_id}.{approval.task_id} with {reply.get('chosen_options')} through the "
                  f"REST API ({approval.answered_at - (approval.pending_at or 0):.0f} s after it began waiting)")

    def _now(self) -> float:
        return time.monotonic() - self.started
