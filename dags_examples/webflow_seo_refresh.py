"""Refresh Webflow SEO and Open Graph metadata from a spreadsheet export.

``data/seo_updates.csv`` (columns ``page_id, seo_title, seo_description, og_title,
og_description``) holds the new copy for the sandbox's large demo site ("Northwind Catalog",
1000 pages). An upstream task reads and checks every row, so one bad row fails the run before
anything is written, and builds the page updates; ``WebflowUpdatePageOperator`` then applies the
first one (the bulk operator will take the whole list). The Open Graph values differ from the SEO
ones, so the rows also turn off ``titleCopied`` / ``descriptionCopied``, without which Webflow
would keep showing the SEO values to social networks.

``skip_unchanged`` (on by default) makes a rerun free: the page already matches, so no write is
sent. Trigger with ``{"dry_run": true}`` to see the planned change, field by field, without writing.

Runs against the sandbox with the ``webflow_default`` connection: ``airflow dags test
webflow_seo_refresh`` (``make demo`` and the tests set the connection up).
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_provider_pagemeta.hooks.webflow import normalize_update, validate_object_id
from airflow_provider_pagemeta.operators.webflow import WebflowUpdatePageOperator

UPDATES_CSV = Path(__file__).parent / "data" / "seo_updates.csv"
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
    params={"dry_run": Param(False, type="boolean", description="Log the planned change; write nothing.")},
)
def webflow_seo_refresh() -> None:
    @task
    def build_updates() -> list[dict[str, Any]]:
        """Every row of the spreadsheet as a page update, checked before anything is written."""
        with UPDATES_CSV.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        updates = [row_to_update(row, line) for line, row in enumerate(rows, start=2)]
        if not updates:
            raise ValueError(f"{UPDATES_CSV.name} has no rows")
        print(f"{len(updates)} page update(s) read from {UPDATES_CSV.name}")
        return updates

    @task(multiple_outputs=True)
    def first_update(updates: list[dict[str, Any]]) -> dict[str, Any]:
        return updates[0]

    first = first_update(build_updates())
    WebflowUpdatePageOperator(
        task_id="apply_first_update",
        page_id=first["page_id"],
        seo=first["seo"],
        open_graph=first["open_graph"],
        dry_run="{{ params.dry_run }}",
    )


webflow_seo_refresh()
