"""Refresh Webflow SEO and Open Graph metadata from a spreadsheet export, in bulk.

``data/seo_updates.csv`` (columns ``page_id, seo_title, seo_description, og_title,
og_description``) holds the new copy for 240 pages of the sandbox's large demo site ("Northwind
Catalog", 1000 pages). An upstream task reads and checks every row, so one bad row fails the run
before anything is written, and splits the updates into two chunks; a mapped
``WebflowBulkUpdatePagesOperator`` applies each chunk in one task (on a real deployment the two
chunks run on two workers, sharing the site's rate limit). With ``site_id`` the operator reads
current values with one paginated List Pages per chunk instead of one read per page, and skips
pages that already match. The Open Graph values differ from the SEO ones, so the rows also turn
off ``titleCopied`` / ``descriptionCopied``, without which Webflow would keep showing the SEO
values to social networks.

The writes are staged: visitors and search engines see them only after the site is published.
So the DAG ends with ``WebflowPublishSiteOperator``, given the chunks' summaries as ``changes``: it
publishes (to every custom domain of the site and its webflow.io subdomain) only when at least
one page changed, and is skipped, without a request, otherwise.

A rerun is free: every page already matches, so no write is sent and the publish is skipped.
Trigger with ``{"dry_run": true}`` to see the planned change, field by field, without writing
(a dry run never publishes).

Runs against the sandbox with the ``webflow_default`` connection: ``airflow dags test
webflow_seo_refresh`` (``make demo`` and the tests set the connection up).
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator, WebflowPublishSiteOperator
from airflow_provider_pagemeta.payloads.webflow import normalize_update, validate_object_id

UPDATES_CSV = Path(__file__).parent / "data" / "seo_updates.csv"
#: The sandbox's large demo site; point the Param at your own site for real runs.
SANDBOX_LARGE_SITE_ID = "8a9643b5ea31a93596dd66de"
CHUNKS = 2
COLUMNS = ("page_id", "seo_title", "seo_description", "og_title", "og_description")


def row_to_update(row: dict[str, str], line: int) -> dict[str, Any]:
    """One CSV row as update arguments; a bad row names its line."""
    missing = [c for c in COLUMNS if not (row.get(c) or "").strip()]
    if missing:
        raise ValueError(f"{UPDATES_CSV.name} line {line}: empty column(s) {', '.join(missing)}")
    update = {
        "page_id": validate_object_id(row["page_id"].strip(), f"line {line} page_id"),
        "seo": {"title": row["seo_title"], "description": row["seo_description"]},
        "open_graph": {"title": row["og_title"], "titleCopied": False,
                       "description": row["og_description"], "descriptionCopied": False},
    }
    normalize_update(seo=update["seo"], open_graph=update["open_graph"], argument_prefix=f"line {line} ")
    return update


@dag(
    dag_id="webflow_seo_refresh",
    schedule=None,
    catchup=False,
    start_date=datetime(2025, 1, 1),
    tags=["pagemeta", "webflow", "example"],
    params={
        "dry_run": Param(False, type="boolean", description="Log the planned change; write nothing."),
        "site_id": Param(SANDBOX_LARGE_SITE_ID, type="string", description="The Webflow site of the pages."),
    },
)
def webflow_seo_refresh() -> None:
    @task
    def build_updates() -> list[list[dict[str, Any]]]:
        """Every row of the spreadsheet as a page update, checked before anything is written,
        split into chunks that can run on different workers."""
        with UPDATES_CSV.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        updates = [row_to_update(row, line) for line, row in enumerate(rows, start=2)]
        if not updates:
            raise ValueError(f"{UPDATES_CSV.name} has no rows")
        size = -(-len(updates) // CHUNKS)
        chunks = [updates[i : i + size] for i in range(0, len(updates), size)]
        print(f"{len(updates)} page update(s) read from {UPDATES_CSV.name}, in {len(chunks)} chunk(s)")
        return chunks

    @task
    def report(summaries: list[dict[str, Any]]) -> dict[str, int]:
        """One line for the whole refresh, summed over the chunks."""
        totals = {key: sum(int(s[key]) for s in summaries)
                  for key in ("total", "updated", "unchanged", "failed", "skipped", "requests")}
        print("SEO refresh: " + ", ".join(f"{k}={v}" for k, v in totals.items()))
        return totals

    applied = WebflowBulkUpdatePagesOperator.partial(
        task_id="apply_updates",
        site_id="{{ params.site_id }}",
        dry_run="{{ params.dry_run }}",
        max_failures=0,
    ).expand(updates=build_updates())
    report(applied.output)
    # Goes live only when a chunk updated a page; one publish for the whole refresh (Webflow allows
    # one per minute). A failed chunk fails the run before anything is published.
    WebflowPublishSiteOperator(task_id="publish_site", site_id="{{ params.site_id }}", changes=applied.output)


webflow_seo_refresh()
