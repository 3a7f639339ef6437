"""10,000 pages: the XCom stays small (under 256 KiB of JSON), the journal holds every page."""

from __future__ import annotations

import json

from airflow_provider_pagemeta.journal import read_journal, render_report
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

PAGES = 10_000
MISSING = [f"{n:024x}" for n in range(1, 301)]  # ids on no site: each fails with a 404 and its message
XCOM_LIMIT = 256 * 1024


def test_ten_thousand_pages_small_summary_full_journal(sandbox, pagemeta_connections, tmp_path):
    sandbox.config(webflow_large_site_pages=PAGES, webflow_rate_limit=1_000_000)
    fx = sandbox.fixtures()["webflow"]
    pages = fx["large_page_ids"]
    assert len(pages) == PAGES
    rows = [{"page_id": p, "seo": {"title": f"Title {n} " + "x" * 60}} for n, p in enumerate(pages)]
    rows += [{"page_id": p, "title": "gone"} for p in MISSING]

    dry = WebflowBulkUpdatePagesOperator(task_id="dry", updates=rows, site_id=fx["large_site_id"], dry_run=True,
                                         max_failures=len(MISSING), journal=str(tmp_path)).execute({})
    assert len(json.dumps(dry)) < XCOM_LIMIT and dry["changes_truncated"] is True

    summary = WebflowBulkUpdatePagesOperator(
        task_id="apply", updates=rows, site_id=fx["large_site_id"], use_bulk_endpoint=True,
        max_failures=len(MISSING), journal=str(tmp_path),
    ).execute({})
    size = len(json.dumps(summary))
    assert size < XCOM_LIMIT, size
    assert (summary["updated"], summary["failed"]) == (PAGES, len(MISSING))
    assert summary["changed_pages_truncated"] is True and len(summary["failures"]) == 20

    entries = read_journal(summary["journal"])
    assert len(entries) == PAGES + len(MISSING)  # per-page detail lives in the journal
    applied = [e for e in entries if e["status"] == "applied"]
    assert {e["page"]["page_id"] for e in applied} == set(pages)
    assert applied[0]["changes"]["seo.title"]["new"].startswith("Title 0 ")
    assert {e["page"]["page_id"] for e in entries if e["status"] == "failed"} == set(MISSING)
    planned = read_journal(dry["journal"])
    assert sum(e["status"] == "planned" for e in planned) == PAGES
    report = render_report(summary["journal"], max_rows=50)
    assert report.count("\n| webflow ") == 50 and f"{PAGES + len(MISSING) - 50} more row(s)" in report
