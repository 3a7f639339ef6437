"""The reviewed SEO refresh under real Airflow: approved through the REST API in one run, rejected
in another; the rejected run writes nothing.

How it is driven: on Airflow 3.3 ``ApprovalOperator`` parks its task in ``awaiting_input`` (no
trigger), and ``airflow dags test`` keeps the run alive until a response arrives from outside. So
the test starts a real ``airflow api-server`` on a metadata database of its own, runs ``airflow
dags test seo_refresh_reviewed`` on the same database, waits (bounded) for the pending approval to
appear in ``GET /api/v2/dags/{dag}/dagRuns/~/hitlDetails``, checks what the approver is shown,
and answers with ``PATCH .../taskInstances/review/-1/hitlDetails`` — what a person's click in
Required Actions sends.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.sandbox.control import connection_env
from tests.conftest import AIRFLOW_BIN, ROOT
from tests.ui.conftest import _free_port, _stop, _wait_until_healthy

pytestmark = pytest.mark.dags

DAG_ID = "seo_refresh_reviewed"
REFRESHED = ["1a899e75168b8b70a16df7fa", "99d3d7a60dc4cf435f8e31c6", "08b2b00e5290a0528c4be4fa",
             "aaf689f3bd64b47b4e1085f9"]
WAIT_S = 300.0


@dataclass
class Api:
    url: str
    home: Path
    headers: dict[str, str]

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}{path}", params=params, headers=self.headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def answer(self, detail: dict[str, Any], option: str) -> dict[str, Any]:
        ti = detail["task_instance"]
        response = requests.patch(
            f"{self.url}/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/"
            f"{ti['map_index']}/hitlDetails", json={"chosen_options": [option]}, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An API server (REST API only) on a metadata database no other test process writes."""
    home = tmp_path_factory.mktemp("hitl-airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
    subprocess.run([AIRFLOW_BIN, "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    port = _free_port()
    log = home / "api-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([AIRFLOW_BIN, "api-server", "--apps", "core", "--host", "127.0.0.1", "--port",
                                 str(port), "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(proc, url, log)
        # A token as the UI gets one (the all-admins simple auth manager hands it out without a login).
        token = requests.get(f"{url}/auth/token", timeout=30).json()["access_token"]
        yield Api(url, home, {"Authorization": f"Bearer {token}"})
    finally:
        _stop(proc)


def pending_approval(api: Api, proc: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    """The run's approval once it waits for an answer (bounded wait; fails if the run ends first)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/~/hitlDetails", response_received="false")
        waiting = [d for d in found["hitl_details"] if d["task_instance"]["state"] == "awaiting_input"]
        if waiting:
            [detail] = waiting
            return detail
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "no approval appeared"
        time.sleep(0.5)  # polling interval of the bounded wait above


def run_and_answer(api: Api, sandbox, tmp_path: Path, option: str) -> tuple[dict[str, Any], Path]:
    journal_dir = tmp_path / "journal"
    env = {**os.environ, **connection_env(sandbox.url), "AIRFLOW_HOME": str(api.home),
           "AIRFLOW__PAGEMETA__JOURNAL_DIR": str(journal_dir)}
    log = tmp_path / f"dags-test-{option}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([AIRFLOW_BIN, "dags", "test", DAG_ID], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        detail = pending_approval(api, proc, log)
        assert sandbox.writes() == []  # planned and waiting: nothing written yet
        assert api.answer(detail, option)["chosen_options"] == [option]
        assert proc.wait(timeout=WAIT_S) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        _stop(proc)  # type: ignore[arg-type]
    return detail, journal_dir


def test_approved_run_applies_exactly_the_reviewed_plan(api, sandbox, tmp_path):
    sandbox.config(webflow_rate_limit=100_000)
    detail, journal_dir = run_and_answer(api, sandbox, tmp_path, "Approve")

    # The approver read the Markdown report of the plan: one row per changed field.
    body = detail["body"]
    assert "**Change journal:** 4 page(s)" in body and "entries by status: planned 4" in body
    for page_id in REFRESHED:
        assert f"| webflow `{page_id}` | `seo.description` |" in body
    assert ('| webflow `1a899e75168b8b70a16df7fa` | `seo.title` | `"About Us \\| Orbit Outfitters"` | '
            '`"About Orbit Outfitters \\| Gear for every expedition"` | planned |') in body
    assert detail["subject"] == "Apply the SEO refresh of site fdd818cce66350fd1bd9cac3?"

    *puts, publish = sandbox.writes("webflow")
    assert {r["method"] for r in puts} == {"PUT"}
    assert sorted(r["path"].rsplit("/", 1)[1] for r in puts) == sorted(REFRESHED)
    # Then the site went live, once: the page shows the reviewed title on the live read.
    assert (publish["method"], publish["path"]) == ("POST", "/webflow/v2/sites/fdd818cce66350fd1bd9cac3/publish")
    assert sandbox.webflow_live("1a899e75168b8b70a16df7fa")["seo"]["title"] == (
        "About Orbit Outfitters | Gear for every expedition")
    [run_dir] = list((journal_dir / DAG_ID).iterdir())
    plan = read_journal(str(run_dir / "plan.jsonl"))
    applied = read_journal(str(run_dir / "apply.jsonl"))
    assert [e["status"] for e in plan] == ["planned"] * 4 and [e["status"] for e in applied] == ["applied"] * 4
    assert [e["changes"] for e in applied] == [e["changes"] for e in plan]  # what was reviewed is what landed


def test_rejected_run_writes_nothing(api, sandbox, tmp_path):
    _detail, journal_dir = run_and_answer(api, sandbox, tmp_path, "Reject")
    assert sandbox.writes() == []
    [run_dir] = list((journal_dir / DAG_ID).iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == ["plan.jsonl"]  # apply was skipped: no journal at all
