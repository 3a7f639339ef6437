"""B3, B4 and B7: the Webflow bulk operator against the rate limit and the request budget.

The operator runs in this process (``execute`` called directly, as a task would): these figures are
counts of requests and a wall time against a bound the sandbox's limit sets, none of which the
scheduler changes. B2 measures what the scheduler adds.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.common import configure, result


def _rows(page_ids: list[str], tag: str) -> list[dict[str, Any]]:
    return [{"page_id": pid, "seo": {"title": f"{tag} {n}", "description": f"{tag} description {n}"}}
            for n, pid in enumerate(page_ids)]


def _operator(**kwargs: Any) -> Any:
    from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

    return WebflowBulkUpdatePagesOperator(task_id="bench_bulk", **kwargs)


def _control(url: str) -> Any:
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    return SandboxControl(url)


def bench_b3(url: str, smoke: bool) -> dict[str, Any]:
    """150 writes paced to 30 requests per 3 s: the wall time against N / rate, and the 429s received.

    ``skip_unchanged=False`` and no journal (which would read each page first, for its ``old``) so
    every request is a write: the bound is then exactly N / rate, with no reads sharing the budget.
    """
    limit, window = 30, 3.0
    count = 15 if smoke else 150
    configure(url, limit=limit, window=window)
    control = _control(url)
    pages = control.fixtures()["webflow"]["large_page_ids"][:count]
    operator = _operator(updates=_rows(pages, "B3"), skip_unchanged=False, journal=False)
    started = time.perf_counter()
    summary = operator.execute(context={})
    wall = time.perf_counter() - started
    log = control.requests("webflow")
    throttled = sum(1 for r in log if r["status"] == 429)
    bound = count / (limit / window)
    ratio = wall / bound
    met = ratio <= 1.10 and throttled == 0 and summary["updated"] == count
    return result(ratio, "<= 1.10 and 0 x 429", None if smoke else met, updates=count, wall_s=round(wall, 2),
                  bound_s=round(bound, 2), responses_429=throttled, requests_logged=len(log),
                  updated=summary["updated"], failed=summary["failed"], rate_limit=f"{limit} per {window:g} s")


def bench_b4_b7(url: str, smoke: bool) -> dict[str, Any]:
    """B7: a 1000-page refresh through ``PATCH /beta/pages``; B4: the same refresh again, which must be a no-op.

    Both use ``site_id``, so current values come from List Pages, 100 pages per read, and the listing
    stops once every row's page was seen: the rows are the site's first ``count`` pages, so
    ceil(count / 100) reads (10 for the full run), whatever the size of the site.
    """
    count = 120 if smoke else 1000
    configure(url)
    control = _control(url)
    fixtures = control.fixtures()["webflow"]
    site, pages = fixtures["large_site_id"], fixtures["large_page_ids"][:count]
    rows = _rows(pages, "B7")

    first = _operator(updates=rows, site_id=site, use_bulk_endpoint=True).execute(context={})
    writes_first = control.writes("webflow")
    control.clear_requests()
    rerun = _operator(updates=rows, site_id=site, use_bulk_endpoint=True).execute(context={})
    log = control.requests("webflow")
    writes_rerun = [r for r in log if r["method"] not in ("GET", "HEAD", "OPTIONS")]
    lists = [r for r in log if r["method"] == "GET" and r["path"].endswith("/pages") and "/sites/" in r["path"]]
    other_reads = [r for r in log if r["method"] == "GET" and r not in lists]

    expected_lists = math.ceil(count / 100)
    b7_bound = math.ceil(count / 100)
    b7 = result(len(writes_first), f"<= {b7_bound}", None if smoke else len(writes_first) <= 10 and
                first["updated"] == count, updates=count, write_requests=len(writes_first),
                write_statuses=sorted({r["status"] for r in writes_first}), updated=first["updated"],
                failed=first["failed"], requests_total=first["requests"])
    b4_met = len(writes_rerun) == 0 and len(lists) == expected_lists and not other_reads
    b4 = result(len(writes_rerun), f"0 writes and {expected_lists} list requests", None if smoke else b4_met,
                updates=count, writes=len(writes_rerun), list_requests=len(lists), other_requests=len(other_reads),
                unchanged=rerun["unchanged"], updated=rerun["updated"], requests_total=rerun["requests"])
    return {"B4": b4, "B7": b7}
