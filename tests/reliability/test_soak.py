"""Soak: thousands of bulk updates through random transient faults lose nothing and waste little.

``WebflowBulkUpdatePagesOperator`` updates ``PAGEMETA_SOAK_PAGES`` pages (200 in ``make test``,
2,000 in ``make soak``) of the sandbox's 2000-page soak site while about 5% of all Webflow
requests, listings included, are hit by a seeded random fault: 429, 500, 502, 503, 504 or a
dropped connection. The run must succeed, every page must end with its target values (read back
from the sandbox), each page must be written exactly once, and the requests sent must stay within
1.2x of the minimum (one listing per 100 pages of the site plus one PUT per page).

429 and 503 carry ``Retry-After: 0`` (the server says "now"), so they cost no wait; the others
use the real exponential backoff (0.5-1 s for a first retry), which is what makes the full-size
soak take a couple of minutes.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter

import pytest
import requests

from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

SOAK_PAGES = int(os.environ.get("PAGEMETA_SOAK_PAGES", "200"))
FAULT_RATE = 0.05
#: (fault spec, seed). Each gets the same share; together they hit FAULT_RATE of all requests.
FAULT_KINDS: list[tuple[dict, int]] = [
    ({"status": 429, "headers": {"Retry-After": "0"}, "body": {"code": "too_many_requests",
                                                              "message": "Too Many Requests"}}, 4291),
    ({"status": 500, "body": {"code": "internal_error", "message": "An Internal Error occurred"}}, 5001),
    ({"status": 502, "body": "<html><body><h1>502 Bad Gateway</h1></body></html>"}, 5021),
    ({"status": 503, "headers": {"Retry-After": "0"}, "body": "Service Unavailable"}, 5031),
    ({"status": 504, "body": "<html><body><h1>504 Gateway Time-out</h1></body></html>"}, 5041),
    ({"drop": True}, 9991),
]
MAX_OVERHEAD = 1.2


def per_kind_rate() -> float:
    """The rate each kind needs so that the first of them to fire hits FAULT_RATE of requests."""
    return 1 - (1 - FAULT_RATE) ** (1 / len(FAULT_KINDS))


def fault_label(entry: dict) -> str:
    return "drop" if entry["status"] is None else str(entry["status"])


@pytest.mark.soak
def test_soak_bulk_updates_under_random_transient_faults(sandbox, pagemeta_connections, sleeps):
    fx = sandbox.fixtures()["webflow"]
    site_id, site_pages = fx["soak_site_id"], fx["soak_page_ids"]
    assert 1 <= SOAK_PAGES <= len(site_pages)
    page_ids = site_pages[:SOAK_PAGES]
    rows = [{"page_id": pid, "seo": {"title": f"Soak title {n}", "description": f"Soak description {n}"}}
            for n, pid in enumerate(page_ids)]
    sandbox.config(webflow_rate_limit=1_000_000)
    for spec, seed in FAULT_KINDS:
        sandbox.fault(method="*", path="/webflow/v2/*", count=1_000_000, rate=per_kind_rate(), seed=seed, **spec)

    started = time.monotonic()
    summary = WebflowBulkUpdatePagesOperator(task_id="soak", updates=rows, site_id=site_id).execute(context={})
    elapsed = time.monotonic() - started

    log = sandbox.requests("webflow")
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=10).raise_for_status()
    faults = Counter(fault_label(r) for r in log if r.get("fault"))
    minimum = math.ceil(len(site_pages) / 100) + SOAK_PAGES
    print(f"\nsoak: {SOAK_PAGES} pages, {len(log)} requests (minimum {minimum}, ratio {len(log) / minimum:.3f}), "
          f"{sum(faults.values())} faults {dict(sorted(faults.items()))}, {elapsed:.1f} s")

    assert (summary["total"], summary["updated"], summary["failed"], summary["unchanged"]) == (SOAK_PAGES,) * 2 + (
        0, 0)
    assert summary["requests"] == len(log)  # the operator's count is the sandbox's count
    assert sum(faults.values()) > 0  # the run really went through faults
    assert len(log) <= MAX_OVERHEAD * minimum

    writes = Counter(r["path"] for r in log if r["method"] == "PUT" and r["status"] == 200)
    assert writes == Counter({f"/webflow/v2/pages/{pid}": 1 for pid in page_ids})  # each page once, none lost

    reader = WebflowHook(sleep=sleeps, asleep=sleeps.asleep)
    current = {page["id"]: page["seo"] for page in reader.list_pages(site_id)}
    assert [current[row["page_id"]] for row in rows] == [row["seo"] for row in rows]
