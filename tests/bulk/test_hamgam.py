"""HamgamBulkUpdatePageMetaOperator on the shared bulk engine, over real sockets against the sandbox."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from airflow_provider_pagemeta.bulk.engine import BulkFailedError, BulkItem, BulkRunner
from airflow_provider_pagemeta.bulk.hamgam import HamgamBulkAdapter
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.operators.hamgam import HamgamBulkUpdatePageMetaOperator

BASE = "/hamgam/api/pages/base"
PAGES = [1001, 1002, 1003, 1004]


def description(page_id: int) -> str:
    """What the sandbox's bulk page holds under ``meta_description``."""
    return f"Product {page_id - 1000:03d}: specifications, prices and delivery."


def rows(pages: list[int] = PAGES, tag: str = "Spring") -> list[dict[str, Any]]:
    """Per page: meta_title differs, meta_description already matches, og_title is missing, and
    og_image is file 1 (odd pages hold file 2: differs; even pages file 1: matches)."""
    return [{"page_id": p, "text": {"meta_title": f"{tag} {p}", "meta_description": description(p),
                                    "og_title": f"{tag} OG {p}"},
             "files": {"og_image": 1}} for p in pages]


def run(updates: Any = None, **kwargs: Any) -> dict[str, Any]:
    task = HamgamBulkUpdatePageMetaOperator(task_id="bulk_meta", updates=rows() if updates is None else updates,
                                            **kwargs)
    return dict(task.execute(context={}))


def calls(sandbox) -> list[tuple[str, str]]:
    """(method, page id) per request, in order."""
    return [(r["method"], re.match(rf"{BASE}/(\d+)/", r["path"]).group(1)) for r in sandbox.requests("hamgam")]


class Recorder:
    """The engine's journal hook, as a list (what the change journal will receive)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, Any], str | None]] = []

    def record(self, item: BulkItem, status: str, changes: dict[str, Any], error: str | None = None) -> None:
        self.entries.append((item.key, status, changes, error))


@pytest.fixture
def conns(pagemeta_connections):
    return pagemeta_connections


def test_one_listing_per_page_then_only_the_keys_that_differ(sandbox, conns):
    summary = run()
    assert (summary["total"], summary["updated"], summary["unchanged"], summary["failed"]) == (4, 4, 0, 0)
    expected = []
    for page in PAGES:  # all reads first (the plan), then the writes
        expected.append(("GET", str(page)))
    for page in PAGES:
        expected += [("PATCH", str(page)), ("POST", str(page))] + ([("PATCH", str(page))] if page % 2 else [])
    assert calls(sandbox) == expected
    assert summary["requests"] == len(expected) == 4 + 4 * 2 + 2
    listing = sandbox.requests("hamgam")[0]
    assert listing["path"] == f"{BASE}/1001/meta/" and listing["query"] == {"ordering": "id", "limit": "100"}
    writes = [w for w in sandbox.writes("hamgam") if "/1001/" in w["path"]]
    assert [w["body"] for w in writes] == [
        {"key": "meta_title", "value_text": "Spring 1001", "value_file": None},
        {"key": "og_title", "value_text": "Spring OG 1001"},
        {"key": "og_image", "value_text": None, "value_file": 1},
    ]
    assert summary["changed_pages"] == ["1001", "1002", "1003", "1004"]


def test_rerun_writes_nothing(sandbox, conns):
    run()
    sandbox.clear_requests()
    summary = run()
    assert (summary["updated"], summary["unchanged"]) == (0, 4)
    assert sandbox.writes("hamgam") == [] and summary["requests"] == 4


def test_dry_run_returns_the_meta_diff_and_writes_nothing(sandbox, conns):
    summary = run(dry_run="true")
    assert sandbox.writes("hamgam") == [] and summary["dry_run"] is True
    assert summary["changes"]["1001"] == {
        "meta.meta_title": {"old": {"text": "Product 001 | Logitech Store"}, "new": {"text": "Spring 1001"}},
        "meta.og_title": {"new": {"text": "Spring OG 1001"}},  # no "old": the page did not have the key
        "meta.og_image": {"old": {"file": 2}, "new": {"file": 1}},
    }
    assert "meta.og_image" not in summary["changes"]["1002"]
    json.dumps(summary)


def test_rendered_strings_are_accepted(sandbox, conns):
    updates = json.dumps([{"page_id": "1001", "files": {"og_image": "1"}}])
    summary = run(updates, max_failures="0", dry_run="False")
    assert summary["updated"] == 1
    assert [w["body"] for w in sandbox.writes("hamgam")] == [{"key": "og_image", "value_text": None, "value_file": 1}]


def test_a_missing_page_fails_alone_within_max_failures(sandbox, conns):
    summary = run(rows([1001, 9999, 1002]), max_failures=1)
    assert (summary["updated"], summary["failed"]) == (2, 1)
    assert summary["failures"][0]["page"] == "9999" and summary["failures"][0]["status_code"] == 404


def test_failures_over_the_limit_fail_the_task_after_every_page(sandbox, conns):
    with pytest.raises(BulkFailedError) as info:
        run(rows([9998, 1001, 9999]))
    assert (info.value.summary["failed"], info.value.summary["updated"]) == (2, 1)
    assert {page for method, page in calls(sandbox) if method != "GET"} == {"1001"}


def test_an_auth_failure_stops_the_run(sandbox, monkeypatch):
    conn = {"conn_type": "hamgam", "host": sandbox.cms_url("hamgam"), "password": "noperm-token-5a6b7c8d9e0f"}
    monkeypatch.setenv("AIRFLOW_CONN_HAMGAM_DEFAULT", json.dumps(conn))
    with pytest.raises(BulkFailedError) as info:
        run()
    summary = info.value.summary
    assert (summary["failed"], summary["skipped"], summary["updated"]) == (1, 3, 0)
    assert summary["failures"][0]["status_code"] == 403 and "noperm-token" not in json.dumps(summary)
    assert len(sandbox.requests("hamgam")) == 1


def test_a_page_whose_writes_partly_landed_reports_that_part_and_resumes(sandbox, conns):
    # Page 1001's second write (the og_title create) is refused: its first (meta_title) has landed.
    sandbox.fault(method="POST", path=f"{BASE}/1001/meta/", status=400, count=1,
                  body={"key": ["Ensure this field has no more than 64 characters."]})
    recorder = Recorder()
    hook = HamgamHook()
    runner = BulkRunner(HamgamBulkAdapter(hook), recorder=recorder, max_failures=1)
    summary = runner.run(rows([1001, 1002]))
    assert (summary["updated"], summary["failed"]) == (1, 1)
    [(key, status, changes, error)] = [e for e in recorder.entries if e[0] == "1001"]
    assert (key, status) == ("1001", "failed") and "create_page_meta" in (error or "")
    assert changes == {"meta.meta_title": {"old": {"text": "Product 001 | Logitech Store"},
                                           "new": {"text": "Spring 1001"}}}

    sandbox.clear_requests()
    again = HamgamBulkUpdatePageMetaOperator(task_id="retry", updates=rows([1001, 1002])).execute(context={})
    assert (again["updated"], again["unchanged"]) == (1, 1)
    # Only what had not landed is sent again: the create and the file switch of page 1001.
    assert [(w["method"], w["body"]["key"]) for w in sandbox.writes("hamgam")] == [("POST", "og_title"),
                                                                                  ("PATCH", "og_image")]


@pytest.mark.parametrize(("updates", "argument"), [
    ({"page_id": 1001}, "updates"),
    ([[1001, {"a": "b"}]], "updates[0]"),
    ([{"page_id": "abc", "text": {"a": "b"}}], "updates[0].page_id"),
    ([{"page_id": 0, "text": {"a": "b"}}], "updates[0].page_id"),
    ([{"page_id": 1001}], "updates[0].text"),
    ([{"page_id": 1001, "text": {"a": 5}}], "updates[0].text['a']"),
    ([{"page_id": 1001, "files": {"og": "logo.png"}}], "updates[0].files['og']"),
    ([{"page_id": 1001, "text": {"og": "x"}, "files": {"og": 1}}], "updates[0].files"),
    ([{"page_id": 1001, "text": {"a": "b"}, "meta": {}}], "updates[0]"),
    ([{"page_id": 1001, "text": {"a": "b"}}, {"page_id": "1001", "text": {"c": "d"}}], "updates[1]"),
])
def test_bad_rows_fail_before_any_request_naming_the_row(sandbox, conns, updates, argument):
    with pytest.raises(CMSValidationError) as info:
        run(updates)
    assert info.value.argument == argument
    assert sandbox.requests() == []


def test_templated_fields_and_nothing_connects_at_init(sandbox):
    task = HamgamBulkUpdatePageMetaOperator(task_id="t", updates="{{ ti.xcom_pull('x') }}", hamgam_conn_id="nope")
    assert tuple(task.template_fields) == ("updates", "dry_run", "max_failures", "journal")
    assert sandbox.requests() == []
