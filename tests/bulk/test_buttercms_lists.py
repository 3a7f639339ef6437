"""ButterCMS bulk reads through List Pages: the calls a run costs, counted in the sandbox's log.

ButterCMS bills every call against the plan's monthly quota, so these counts are the price users pay.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pagemeta.bulk.engine import BulkFailedError
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

LISTING = "/buttercms/v2/pages/product/"


@pytest.fixture
def products(sandbox, pagemeta_connections) -> dict[str, Any]:
    sandbox.config(buttercms_apply_delay=0)
    return sandbox.fixtures()["buttercms"]["products"]


def rows(slugs: list[str], tag: str, status: str = "draft") -> list[dict[str, Any]]:
    return [{"page_type": "product", "page_slug": slug, "status": status, "fields": {"seo": {"title": f"{tag} {slug}"}}}
            for slug in slugs]


def run(updates: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return dict(ButterCMSBulkUpdatePagesOperator(task_id="bulk", updates=updates, **kwargs).execute(context={}))


def reads(sandbox) -> list[tuple[str, dict[str, str]]]:
    return [(r["path"], r["query"]) for r in sandbox.requests("buttercms") if r["method"] == "GET"]


def test_a_page_type_costs_one_call_per_100_pages_and_a_rerun_only_the_listing(sandbox, products):
    slugs = products["slugs"]  # 250 pages, 5 of them draft-only
    first = run(rows(slugs, "Spring"))
    assert (first["updated"], first["failed"]) == (250, 0)
    assert reads(sandbox) == [(LISTING, {"preview": "1", "page_size": "100", "page": str(n)}) for n in (1, 2, 3)]
    assert len(sandbox.writes("buttercms")) == 250
    assert first["requests"] == len(sandbox.requests("buttercms")) == 3 + 250

    sandbox.clear_requests()
    rerun = run(rows(slugs, "Spring"))
    assert (rerun["updated"], rerun["unchanged"]) == (0, 250)
    assert rerun["requests"] == len(sandbox.requests("buttercms")) == 3  # ceil(250 / 100), no write


def test_published_rows_are_compared_with_the_published_listing(sandbox, products):
    published = [s for s in products["slugs"][:40] if s not in products["draft_only_slugs"]]
    drafts, live = published[:20], published[20:]
    summary = run(rows(drafts, "Draft") + rows(live, "Live", status="published"), dry_run=True)
    assert summary["unchanged"] == 0 and len(summary["changes"]) == len(published)
    # One listing per read: drafts with preview=1, published rows without it; all 40 pages are on
    # the first answer of each, so neither listing reads on.
    assert reads(sandbox) == [(LISTING, {"preview": "1", "page_size": "100", "page": "1"}),
                              (LISTING, {"page_size": "100", "page": "1"})]
    with_draft = next(s for s in live if s in products["published_with_draft_slugs"])
    old = summary["changes"][f"product/{with_draft}"]["fields.seo.title"]["old"]
    assert "(draft)" not in old  # the published version, not the draft


def test_star_rows_and_single_pages_of_a_listing_are_read_singly(sandbox, products):
    updates = [
        *rows(products["slugs"][:2], "Two"),
        {"page_type": "*", "page_slug": "about", "fields": {"headline": "About us"}},
        {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "Questions"}},
    ]
    summary = run(updates, dry_run=True)
    assert summary["failed"] == 0
    assert reads(sandbox) == [
        (LISTING, {"preview": "1", "page_size": "100", "page": "1"}),
        ("/buttercms/v2/pages/*/about/", {"preview": "1"}),  # `*` lists Single Pages only: never listed
        ("/buttercms/v2/pages/faq/faq/", {"preview": "1"}),  # the only faq row: a listing would not be cheaper
    ]


def test_a_page_missing_from_its_listing_is_read_singly(sandbox, products):
    draft_only = products["draft_only_slugs"][0]  # not in the published listing
    updates = rows([products["slugs"][1], draft_only], "Live", status="published")
    summary = run(updates)
    # Its single published read is a 404: not published yet, so nothing of the update shows and the
    # write (status="published") publishes it.
    assert (summary["updated"], summary["failed"]) == (2, 0)
    assert reads(sandbox) == [(LISTING, {"page_size": "100", "page": "1"}),
                              (f"/buttercms/v2/pages/product/{draft_only}/", {})]


def test_a_listing_stops_when_reading_on_costs_more_than_reading_the_rest_singly(sandbox, products):
    sandbox.config(buttercms_product_pages=1000)
    slugs = sandbox.fixtures()["buttercms"]["products"]["slugs"]
    wanted = [slugs[500], slugs[900], slugs[901]]  # none on the first answer; 9 more calls to find 3 pages
    summary = run(rows(wanted, "Far"), dry_run=True)
    assert summary["failed"] == 0 and len(summary["changes"]) == 3
    assert reads(sandbox) == [(LISTING, {"preview": "1", "page_size": "100", "page": "1"})] + [
        (f"/buttercms/v2/pages/product/{slug}/", {"preview": "1"}) for slug in wanted]


def test_a_listing_that_fails_leaves_its_pages_to_single_reads(sandbox, products):
    sandbox.fault(method="GET", path=LISTING, status=400, body={"detail": "Invalid order parameter"})
    summary = run(rows(products["slugs"][:3], "Fallback"))
    assert (summary["updated"], summary["failed"]) == (3, 0)
    assert [path for path, _ in reads(sandbox)] == [LISTING] + [
        f"/buttercms/v2/pages/product/{slug}/" for slug in products["slugs"][:3]]


def test_an_auth_failure_on_the_listing_stops_the_run(sandbox, products, monkeypatch):
    conn = {"conn_type": "buttercms", "host": sandbox.cms_url("buttercms"), "password": SANDBOX_TOKENS["buttercms"],
            "extra": {"read_token": "invalid-read-token-1a2b3c4d5e6f"}}
    monkeypatch.setenv("AIRFLOW_CONN_BUTTERCMS_DEFAULT", json.dumps(conn))
    with pytest.raises(BulkFailedError) as info:
        run(rows(products["slugs"][:5], "Nope"))
    summary = info.value.summary
    assert (summary["failed"], summary["skipped"], summary["updated"]) == (1, 4, 0)
    assert summary["requests"] == len(sandbox.requests("buttercms")) == 1  # the listing: then stop
    assert summary["failures"][0]["page"] == "product/product-0000" and summary["failures"][0]["status_code"] == 401
    assert sandbox.writes("buttercms") == []


def test_a_spent_monthly_quota_stops_the_run_without_waiting(sandbox, products):
    sandbox.config(buttercms_monthly_quota=1)
    with pytest.raises(BulkFailedError) as info:
        run(rows(products["slugs"][:5], "Quota"))
    summary = info.value.summary
    assert (summary["failed"], summary["skipped"]) == (1, 4)
    assert summary["failures"][0]["status_code"] == 429
    assert [r["status"] for r in sandbox.requests("buttercms")] == [200, 429]
