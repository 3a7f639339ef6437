"""WebflowBulkUpdatePagesOperator on the shared bulk engine, over real sockets."""

from __future__ import annotations

import json
import logging
import math

import pytest

from airflow_provider_pagemeta.bulk.engine import BulkFailedError
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

pytestmark = pytest.mark.compat

PUT = "/webflow/v2/pages/*"


@pytest.fixture(autouse=True)
def fast_limit(sandbox):
    """The default sandbox limit (60/min, a Basic plan) paces a bulk run at one request a
    second, as it should; these tests are about what is sent, so they raise the limit."""
    sandbox.config(webflow_rate_limit=100_000)


@pytest.fixture
def demo(sandbox) -> dict:
    fx = sandbox.fixtures()["webflow"]
    every_page = [*fx["page_ids"], fx["home_page_id"], fx["template_page_id"], *fx["utility_page_ids"]]
    return {"site_id": fx["site_id"], "page_ids": every_page}


@pytest.fixture
def large(sandbox) -> dict:
    fx = sandbox.fixtures()["webflow"]
    return {"site_id": fx["large_site_id"], "page_ids": fx["large_page_ids"]}


def updates_for(page_ids: list[str], tag: str = "2027") -> list[dict]:
    return [{"page_id": pid, "seo": {"title": f"Page {i} {tag}", "description": f"Refreshed {tag}"}}
            for i, pid in enumerate(page_ids)]


def op(**kwargs) -> WebflowBulkUpdatePagesOperator:
    return WebflowBulkUpdatePagesOperator(task_id="bulk", **kwargs)


def puts(sandbox) -> list[dict]:
    return [r for r in sandbox.requests("webflow") if r["method"] == "PUT"]


def lists(sandbox) -> list[dict]:
    return [r for r in sandbox.requests("webflow") if r["method"] == "GET" and r["path"].endswith("/pages")]


def test_30_updates_10_matching_gives_20_writes_and_one_list_read(sandbox, pagemeta_connections, demo):
    ids = demo["page_ids"][:30]
    assert len(ids) == 30
    op(updates=updates_for(ids[:10]), site_id=demo["site_id"]).execute(context={})
    sandbox.clear_requests()
    summary = op(updates=updates_for(ids), site_id=demo["site_id"]).execute(context={})
    assert len(puts(sandbox)) == 20
    assert {r["path"].rsplit("/", 1)[1] for r in puts(sandbox)} == set(ids[10:])
    assert len(lists(sandbox)) == math.ceil(30 / 100)
    assert len(sandbox.requests("webflow")) == 21  # nothing else: no per-page reads
    assert (summary["total"], summary["updated"], summary["unchanged"], summary["failed"]) == (30, 20, 10, 0)
    assert summary["requests"] == 21


def test_without_site_id_reads_each_page(sandbox, pagemeta_connections, large):
    summary = op(updates=updates_for(large["page_ids"][:5])).execute(context={})
    gets = [r for r in sandbox.requests("webflow") if r["method"] == "GET"]
    assert len(gets) == 5 and len(puts(sandbox)) == 5
    assert summary["updated"] == 5


def test_rerun_after_success_sends_no_write(sandbox, pagemeta_connections, large):
    rows = updates_for(large["page_ids"][:40])
    op(updates=rows, site_id=large["site_id"]).execute(context={})
    sandbox.clear_requests()
    summary = op(updates=rows, site_id=large["site_id"]).execute(context={})
    assert puts(sandbox) == []
    assert (summary["updated"], summary["unchanged"]) == (0, 40)


def test_dry_run_sends_no_write_and_returns_the_diff(sandbox, pagemeta_connections, large, caplog):
    caplog.set_level(logging.INFO)
    pid = large["page_ids"][0]
    summary = op(updates=updates_for([pid]), site_id=large["site_id"], dry_run=True).execute(context={})
    assert puts(sandbox) == []
    assert summary["dry_run"] is True
    assert summary["changes"][pid]["seo.title"]["new"] == "Page 0 2027"
    assert summary["changes"][pid]["seo.title"]["old"] != "Page 0 2027"


MISSING = ["0" * 23 + str(i) for i in range(1, 4)]


def test_missing_pages_are_reported_and_the_rest_written(sandbox, pagemeta_connections, large):
    rows = updates_for(large["page_ids"][:7]) + updates_for(MISSING)
    summary = op(updates=rows, site_id=large["site_id"], max_failures=5).execute(context={})
    assert (summary["failed"], summary["updated"]) == (3, 7)
    assert {f["page"] for f in summary["failures"]} == set(MISSING)
    assert all(f["status_code"] == 404 for f in summary["failures"])
    assert len(puts(sandbox)) == 7


def test_failures_over_max_fail_the_task_only_after_attempting_all(sandbox, pagemeta_connections, large):
    rows = updates_for(MISSING[:1]) + updates_for(large["page_ids"][:5])
    with pytest.raises(BulkFailedError) as info:
        op(updates=rows, skip_unchanged=False, journal=False).execute(context={})  # no read at all
    assert len(puts(sandbox)) == 6  # the missing page first, then every other page still written
    assert info.value.summary["updated"] == 5 and info.value.summary["failed"] == 1
    assert "1 of 6 page(s) failed" in str(info.value)


def test_interrupted_run_resumes_with_no_duplicate_write(sandbox, pagemeta_connections, large):
    rows = updates_for(large["page_ids"][:12])
    sandbox.fault(method="PUT", path=PUT, status=401, skip=5, count=1,
                  body={"code": "not_authorized", "message": "Request not authorized"})
    with pytest.raises(BulkFailedError) as info:
        op(updates=rows, site_id=large["site_id"]).execute(context={})
    assert (info.value.summary["updated"], info.value.summary["skipped"]) == (5, 6)
    op(updates=rows, site_id=large["site_id"]).execute(context={})
    written = [r["path"] for r in puts(sandbox) if r["status"] == 200]
    assert len(written) == 12 == len(set(written))  # total writes == changed pages


@pytest.mark.parametrize(
    ("rows", "argument"),
    [
        ([{"page_id": "nothex", "title": "x"}], "updates[0].id"),
        ([{"page_id": "a" * 24, "title": "x"}, {"page_id": "b" * 24, "colour": "red"}], "updates[1]"),
        ([{"page_id": "a" * 24, "title": "x"}, {"page_id": "a" * 24, "slug": "y"}], "updates[1]"),
        ([{"page_id": "a" * 24}], "updates[0].fields"),
        ([{"page_id": "a" * 24, "seo": "not a dict"}], "updates[0].seo"),
        ({"page_id": "a" * 24}, "updates"),
    ],
)
def test_bad_rows_fail_before_any_request(sandbox, pagemeta_connections, rows, argument):
    with pytest.raises(CMSValidationError) as info:
        op(updates=rows).execute(context={})
    assert info.value.argument == argument
    assert sandbox.requests() == []


def test_same_page_in_two_locales_is_allowed(sandbox, pagemeta_connections):
    fx = sandbox.fixtures()["webflow"]
    pid = fx["page_ids"][1]
    rows = [{"page_id": pid, "title": "About 2027"},
            {"page_id": pid, "locale_id": fx["locales"]["secondary"], "title": "À propos 2027"}]
    summary = op(updates=rows, site_id=fx["site_id"]).execute(context={})
    assert summary["updated"] == 2
    assert len(lists(sandbox)) == 2  # one listing per locale


def test_bulk_endpoint_writes_100_pages_per_request(sandbox, pagemeta_connections, large):
    rows = updates_for(large["page_ids"][:250])
    summary = op(updates=rows, site_id=large["site_id"], use_bulk_endpoint=True).execute(context={})
    patches = [r for r in sandbox.requests("webflow") if r["method"] == "PATCH"]
    assert [len(r["body"]["pages"]) for r in patches] == [100, 100, 50]
    assert [r["path"] for r in patches] == ["/webflow/beta/pages"] * 3
    assert puts(sandbox) == [] and summary["updated"] == 250


def test_refused_bulk_endpoint_falls_back_to_per_page_writes(sandbox, pagemeta_connections, large):
    sandbox.fault(method="PATCH", path="/webflow/beta/pages", status=404, count=5,
                  body={"code": "resource_not_found", "message": "Requested resource not found"})
    rows = updates_for(large["page_ids"][:150])
    summary = op(updates=rows, site_id=large["site_id"], use_bulk_endpoint=True).execute(context={})
    patches = [r for r in sandbox.requests("webflow") if r["method"] == "PATCH"]
    assert len(patches) == 1  # refused once, then not tried again
    assert len(puts(sandbox)) == 150 and summary["updated"] == 150


def test_list_reads_scale_with_the_site_not_the_updates(sandbox, pagemeta_connections, large):
    pages = [large["page_ids"][0], large["page_ids"][-1], large["page_ids"][500]]
    summary = op(updates=updates_for(pages), site_id=large["site_id"]).execute(context={})
    assert len(lists(sandbox)) == 10  # the 1000-page site is listed to its last page, 100 at a time
    assert summary["requests"] == 13


def test_the_listing_stops_once_every_row_is_found(sandbox, pagemeta_connections, large):
    summary = op(updates=updates_for(large["page_ids"][:3]), site_id=large["site_id"]).execute(context={})
    assert len(lists(sandbox)) == 1  # the three pages are on the first listing page
    assert summary["requests"] == 4


def test_a_page_missing_from_the_listing_is_read_singly(sandbox, pagemeta_connections, large, demo):
    pages = [large["page_ids"][0], demo["page_ids"][0]]  # the second page is of another site
    summary = op(updates=updates_for(pages), site_id=large["site_id"], dry_run=True).execute(context={})
    assert summary["failed"] == 0 and len(summary["changes"]) == 2
    assert len(lists(sandbox)) == 10 and summary["requests"] == 11  # the whole listing, then one Get Page


def test_a_listing_that_fails_leaves_the_rest_to_single_reads(sandbox, pagemeta_connections, large):
    site = large["site_id"]
    sandbox.fault(method="GET", path=f"/webflow/v2/sites/{site}/pages", status=400, skip=1, count=1,
                  body={"code": "validation_error", "message": "offset out of range"})
    pages = [large["page_ids"][0], large["page_ids"][150], large["page_ids"][151]]
    summary = op(updates=updates_for(pages), site_id=site, dry_run=True).execute(context={})
    assert summary["failed"] == 0 and len(summary["changes"]) == 3
    assert len(lists(sandbox)) == 2 and summary["requests"] == 4  # 2 list requests (one refused), 2 Get Page


def test_paced_run_under_a_low_limit_meets_no_429(sandbox, monkeypatch, pagemeta_connections, demo):
    sandbox.config(webflow_rate_limit=20, webflow_rate_window=2)
    conn = json.loads(pagemeta_connections["AIRFLOW_CONN_WEBFLOW_DEFAULT"])
    conn["extra"] = {"rate_limit_window": 2}
    monkeypatch.setenv("AIRFLOW_CONN_WEBFLOW_DEFAULT", json.dumps(conn))
    summary = op(updates=updates_for(demo["page_ids"][:30]), site_id=demo["site_id"]).execute(context={})
    statuses = [r["status"] for r in sandbox.requests("webflow")]
    assert 429 not in statuses
    assert summary["updated"] == 30 and summary["requests"] == 31


def test_progress_is_logged(sandbox, pagemeta_connections, demo, capsys):
    op(updates=updates_for(demo["page_ids"][:20]), site_id=demo["site_id"]).execute(context={})
    text = capsys.readouterr().out
    assert "webflow writes: 2/20 pages (10%)" in text and "20/20 pages (100%)" in text
    assert "pages/min" in text and "ETA" in text
    assert "total=20 updated=20 unchanged=0 failed=0 skipped=0 requests=21" in text


def test_tasks_that_start_while_two_workers_fill_the_window_meet_no_429(sandbox, monkeypatch, pagemeta_connections,
                                                                        large):
    """Two workers refresh chunks of a site (their pacers learn of each other only from the shared
    X-RateLimit-Remaining) while six more tasks on the same token start meanwhile,
    about three a window (say publishes reading their site's domains, small refreshes of other
    DAGs): each newcomer's first request is sent blind, before any answer has told it the budget,
    and the second right after. The workers' headroom must hold those, so nobody gets a 429. Each pacer is
    separate, as in separate processes: a different spelling of the host each."""
    import threading
    import time

    sandbox.config(webflow_rate_limit=60, webflow_rate_window=3)
    base = json.loads(pagemeta_connections["AIRFLOW_CONN_WEBFLOW_DEFAULT"])
    hosts = ["127.0.0.1", "localhost", "LOCALHOST", "Localhost", "localHost", "LocalHost", "LOcalhost", "LoCalhost"]
    for index, host in enumerate(hosts):
        conn = {**base, "host": base["host"].replace("127.0.0.1", host), "extra": {"rate_limit_window": 3}}
        monkeypatch.setenv(f"AIRFLOW_CONN_WEBFLOW_{index}", json.dumps(conn))
    ids = large["page_ids"]
    chunks = [ids[:30], ids[30:60], *(ids[60 + 4 * i:64 + 4 * i] for i in range(6))]
    results: dict[int, dict] = {}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = op(updates=updates_for(chunks[index]), webflow_conn_id=f"webflow_{index}",
                                skip_unchanged=False).execute(context={})
        except BaseException as exc:  # surfaced below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(chunks))]
    for thread in threads[:2]:
        thread.start()
    # A newcomer starts each time the others have sent another 15 requests: about three a window.
    deadline = time.monotonic() + 60
    for number, thread in enumerate(threads[2:], start=1):
        while len(sandbox.requests("webflow")) < 15 * number and time.monotonic() < deadline:
            time.sleep(0.05)
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and all(not t.is_alive() for t in threads)
    statuses = [r["status"] for r in sandbox.requests("webflow")]
    assert statuses.count(429) == 0, f"{statuses.count(429)} x 429 in {len(statuses)} requests"
    assert [results[i]["updated"] for i in range(8)] == [30, 30, 4, 4, 4, 4, 4, 4]
