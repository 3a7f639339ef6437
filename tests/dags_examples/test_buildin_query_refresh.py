"""The buildin_query_refresh example DAG under `airflow dags test`, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

pytestmark = pytest.mark.dags

DAG_ID = "buildin_query_refresh"


def _ok(done) -> None:
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def _page(sandbox, page_id: str) -> dict[str, Any]:
    return requests.get(f"{sandbox.cms_url('buildin')}/v2/pages/{page_id}", timeout=10,
                        headers={"Authorization": f"Bearer {SANDBOX_TOKENS['buildin']}"}).json()


def _text(page: dict[str, Any], name: str) -> str:
    prop = page["properties"][name]
    return "".join(item["plain_text"] for item in prop[prop["type"]])


def test_refresh_then_rerun_changes_nothing(run_dag, sandbox):
    """Two runs (each `airflow dags test` costs about a minute here); the dry run is covered by the
    operator's tests and by `make demo`."""
    flagged = sandbox.fixtures()["buildin"]["needs_refresh_page_ids"]
    assert len(flagged) == 167

    _ok(run_dag(DAG_ID))
    log = sandbox.requests("buildin")
    queries = [r for r in log if r["method"] == "POST"]
    assert len(queries) == 2 and queries[0]["body"]["filter"] == {
        "property": "SEO status", "select": {"equals": "needs refresh"}}
    assert "start_cursor" in queries[1]["body"]
    patches = [r for r in log if r["method"] == "PATCH"]
    assert sorted(p["path"].rsplit("/", 1)[1] for p in patches) == sorted(flagged)  # each flagged page once
    assert {p["status"] for p in patches} == {200} and all(p["headers"].get("if-match") for p in patches)
    assert len([r for r in log if r["method"] == "GET"]) == 167  # one read per page

    page = _page(sandbox, flagged[0])
    assert _text(page, "Meta description") == f"{_text(page, 'Name')}: {_text(page, 'Summary')}"
    assert page["properties"]["SEO status"]["select"]["name"] == "ok"

    sandbox.clear_requests()
    _ok(run_dag(DAG_ID))
    assert sandbox.writes("buildin") == [r for r in sandbox.requests("buildin") if r["method"] == "POST"]
    assert len(sandbox.requests("buildin")) == 1  # the query finds nothing left to refresh
