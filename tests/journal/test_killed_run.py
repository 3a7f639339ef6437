"""A bulk run killed mid-way (SIGKILL of a real ``airflow dags test``) leaves a journal that lists
exactly the pages whose writes the sandbox received, and a rerun journals exactly the rest.

The K+1-th write is held by the sandbox (a fault with a long delay, answered 503 afterwards, so
it never lands); the test waits until that request is in flight, which means the K writes before
it were answered and journaled, then kills the whole process group. A local journal is appended
in place, line by line, so nothing that landed can be missing from it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.sandbox.control import connection_env
from tests.conftest import AIRFLOW_BIN, ROOT

pytestmark = pytest.mark.dags

DAG_ID = "pagemeta_killed_bulk"
PAGES = 30
LANDED = 12  # writes answered before the one the sandbox holds
WAIT_S = 240.0


def dag_source(site_id: str, page_ids: list[str]) -> str:
    rows = [{"page_id": p, "seo": {"title": f"Killed run {n}"}} for n, p in enumerate(page_ids)]
    return textwrap.dedent(f"""
        from datetime import datetime

        from airflow.sdk import DAG

        from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

        with DAG(dag_id="{DAG_ID}", schedule=None, catchup=False, start_date=datetime(2026, 1, 1)):
            WebflowBulkUpdatePagesOperator(task_id="apply", site_id="{site_id}", updates={rows!r})
    """)


def successful_puts(sandbox) -> list[str]:
    return [r["path"].rsplit("/", 1)[1] for r in sandbox.requests("webflow") if r["method"] == "PUT"
            and r["status"] == 200]


def journal_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("apply.jsonl"))


def test_killed_run_journal_lists_exactly_what_landed(sandbox, airflow_db, tmp_path):
    sandbox.config(webflow_rate_limit=100_000)
    fx = sandbox.fixtures()["webflow"]
    pages = fx["large_page_ids"][:PAGES]
    dags, journal_dir = tmp_path / "dags", tmp_path / "journal"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(dag_source(fx["large_site_id"], pages))
    env = {**os.environ, **connection_env(sandbox.url), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
           "AIRFLOW__PAGEMETA__JOURNAL_DIR": str(journal_dir)}
    sandbox.fault(method="PUT", path="/webflow/v2/pages/*", skip=LANDED, count=1, delay=WAIT_S, status=503)

    log = (tmp_path / "killed.log").open("wb")
    proc = subprocess.Popen([AIRFLOW_BIN, "dags", "test", DAG_ID], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while True:  # until the held write is in flight: LANDED answered PUTs and one without a status
            puts = [r for r in sandbox.requests("webflow") if r["method"] == "PUT"]
            if len(puts) == LANDED + 1 and puts[-1]["status"] is None:
                break
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"the run did not reach write {LANDED + 1}"
            time.sleep(0.2)  # polling interval of the bounded wait above
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        log.close()

    landed = successful_puts(sandbox)
    assert len(landed) == LANDED
    [killed_journal] = journal_files(journal_dir)
    entries = read_journal(str(killed_journal))
    assert [(e["page"]["page_id"], e["status"]) for e in entries] == [(p, "applied") for p in landed]
    assert [e["changes"]["seo.title"]["new"] for e in entries] == [
        f"Killed run {pages.index(p)}" for p in landed]

    # A rerun writes only what the killed run did not, and its journal says exactly that.
    sandbox.clear_requests()
    rerun = subprocess.run([AIRFLOW_BIN, "dags", "test", DAG_ID], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    [rerun_journal] = [f for f in journal_files(journal_dir) if f != killed_journal]
    rest = [e["page"]["page_id"] for e in read_journal(str(rerun_journal))]
    assert rest == successful_puts(sandbox) and set(rest) == set(pages) - set(landed)
