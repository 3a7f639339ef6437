"""Fill in the meta description of every Buildin article an editor flagged, picked by a query.

Editors flag articles by setting the ``SEO status`` select of a Buildin database to ``needs
refresh``. This DAG queries the database for exactly those pages (``BuildinHook.query_database``,
100 pages per request, following ``next_cursor``), writes each one a meta description built from
its title and summary, and marks it ``ok``, in ONE bulk task: one read and one write per page,
each write sent with ``If-Match`` so an editor's concurrent change is never overwritten.

A rerun is a no-op: the pages it refreshed are no longer flagged, so the query picks none (and a
page that failed stays flagged, so the next run picks it up again). ``dry_run`` logs the planned
changes and writes nothing. The defaults address the sandbox's demo database "Content Library"
(500 articles, 167 flagged); trigger with ``-c '{"database_id": ...}'`` for another one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.operators.buildin import BuildinBulkUpdatePagesOperator

#: Search engines cut descriptions at about 160 characters.
DESCRIPTION_CHARS = 160
FLAGGED = "needs refresh"
DONE = "ok"


def plain_text(prop: dict[str, Any] | None) -> str:
    """The text of a title or rich-text property as read."""
    if not prop:
        return ""
    items = prop.get(prop.get("type") or "", []) or []
    return "".join(item.get("plain_text", "") for item in items)


def description_for(page: dict[str, Any]) -> str:
    props = page.get("properties") or {}
    text = f"{plain_text(props.get('Name'))}: {plain_text(props.get('Summary'))}".strip(": ")
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1].rstrip() + "…"


with DAG(
    dag_id="buildin_query_refresh",
    schedule=None,
    catchup=False,
    start_date=datetime(2026, 1, 1),
    tags=["pagemeta", "buildin", "example"],
    params={
        "database_id": Param("66666666-6666-4666-8666-666666666666", type="string"),
        "dry_run": Param(False, type="boolean"),
    },
) as dag:

    @task
    def flagged_pages(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One update row per page whose ``SEO status`` is ``needs refresh``, oldest first."""
        assert params is not None
        pages = BuildinHook().query_database(
            params["database_id"],
            filter={"property": "SEO status", "select": {"equals": FLAGGED}},
            sorts=[{"timestamp": "created_time", "direction": "ascending"}],
        )
        return [
            {
                "page_id": page["id"],
                "properties": {
                    "Meta description": {"rich_text": [{"type": "text", "text": {"content": description_for(page)}}]},
                    "SEO status": {"select": {"name": DONE}},
                },
            }
            for page in pages
        ]

    BuildinBulkUpdatePagesOperator(
        task_id="fill_meta_descriptions",
        updates=flagged_pages(),
        optimistic=True,
        dry_run="{{ params.dry_run }}",
        max_failures=5,
    )
