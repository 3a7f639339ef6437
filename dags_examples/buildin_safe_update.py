"""Rename a Buildin page and set its cover without overwriting anyone's concurrent edit.

People edit Buildin pages while this DAG runs. ``optimistic=True`` makes the operator read the
page with its version, send only what still differs with ``If-Match``, and read again if someone
edited the page in between (``BuildinHook.modify_page``). A rerun finds nothing to change and
writes nothing. The defaults address the sandbox's demo page; trigger with ``-c '{"page_id": ...}'``
to update another page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator

with DAG(
    dag_id="buildin_safe_update",
    schedule=None,
    catchup=False,
    start_date=datetime(2026, 1, 1),
    tags=["pagemeta", "buildin", "example"],
    params={
        "page_id": Param("11111111-1111-4111-8111-111111111111", type="string"),
        "title": Param("Quarterly Plan (Q3)", type="string"),
        "cover_url": Param("https://example.com/covers/q3-plan.png", type="string"),
    },
) as dag:
    rename = BuildinUpdatePageOperator(
        task_id="rename_and_set_cover",
        page_id="{{ params.page_id }}",
        properties={"title": {"type": "title", "title": [{"type": "text", "text": {"content": "{{ params.title }}"}}]}},
        cover={"type": "external", "external": {"url": "{{ params.cover_url }}"}},
        optimistic=True,
        max_conflicts=3,
    )

    @task
    def report(page: dict[str, Any], params: dict[str, Any] | None = None) -> str:
        """Fail loudly if the page does not show what was written (a silent no-op would)."""
        title = "".join(item.get("plain_text", "") for item in page["properties"]["title"]["title"])
        cover_url = (page.get("cover") or {}).get("external", {}).get("url")
        assert params is not None
        if title != params["title"] or cover_url != params["cover_url"]:
            raise ValueError(f"page {page['id']} shows title {title!r} and cover {cover_url!r} after the update")
        return f"{page['url']}: {title!r}, cover {cover_url}"

    report(rename.output)
