"""Rebuild the sitemap entries of the Webflow pages that changed, whenever they change.

The consumer half of a data-aware pair: scheduled on the ``webflow_seo_changes`` asset, which
``asset_seo_publish`` updates only once it has published a run that changed at least one page
(so the pages listed are live, not only staged). The task reads
the triggering asset events and collects their ``changed_pages`` (in order, each page once, over
every event since the last run), which is exactly the work a sitemap rebuild or a CDN purge needs:
no page that merely matched is in the list.

Run by hand (``airflow dags test asset_sitemap_rebuild``, as ``make demo`` does) there is no
triggering event, and the task says so and does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, task

#: Same name and URI as in asset_seo_publish.py: that is how the two DAGs meet.
SEO_CHANGES = Asset(name="webflow_seo_changes", uri="pagemeta://webflow/sites/fdd818cce66350fd1bd9cac3/pages")


def changed_pages(events: Iterable[Any]) -> list[str]:
    """Every page listed by the events' ``extra``, first mention first, each once."""
    pages: dict[str, None] = {}
    for event in events:
        extra = event.extra if isinstance(event.extra, Mapping) else {}
        pages.update(dict.fromkeys(str(page) for page in extra.get("changed_pages") or []))
    return list(pages)


with DAG(
    dag_id="asset_sitemap_rebuild",
    schedule=[SEO_CHANGES],
    catchup=False,
    start_date=datetime(2026, 1, 1),
    tags=["pagemeta", "webflow", "assets", "example"],
) as dag:

    @task
    def rebuild_sitemap(triggering_asset_events: Mapping[Any, Any] | None = None) -> dict[str, Any]:
        """Re-list only the changed pages (here: log them and return them as the XCom)."""
        # Indexed, not looked up in a dict: an Asset is unhashable on Airflow 3.1.
        events = list(triggering_asset_events[SEO_CHANGES]) if triggering_asset_events else []
        if not events:
            print("No triggering asset event (a manual run): no page changed, nothing to rebuild")
            return {"events": 0, "changed_pages": []}
        pages = changed_pages(events)
        print(f"{len(events)} asset event(s): rebuilding the sitemap entries of {len(pages)} page(s)")
        for page in pages:
            print(f"  sitemap: refresh {page}")
        return {"events": len(events), "changed_pages": pages}

    rebuild_sitemap()
