"""An SEO refresh a person approves before it goes out: plan, review, apply, publish.

1. ``plan``: the bulk operator in a dry run reads every page and journals what would change
   (``planned``), writing nothing;
2. ``review``: Airflow's ``ApprovalOperator`` waits for a person (Required Actions in the UI, or
   the HITL REST API); its body is the Markdown report of the planned changes, page by page and
   field by field (old -> new);
3. ``apply``: on approval, the same rows are applied (pages edited since the plan are compared
   again; only what still differs is written) and journaled (``applied``); on rejection, this
   and every later task is skipped and nothing is written;
4. ``publish``: Webflow writes are staged until a publish, so the site goes live when something
   changed (skipped, with no request, when the apply changed nothing).

A change that turns out wrong is undone with ``PageMetaRestoreOperator`` over ``apply``'s journal.

Runs against the sandbox: ``airflow dags test seo_refresh_reviewed`` waits at ``review`` until
someone answers through the UI or the REST API of an ``airflow api-server`` on the same metadata
database (see docs/journal.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator, WebflowPublishSiteOperator

#: The sandbox's demo site ("Orbit Outfitters"); point the Param at your own site.
SANDBOX_SITE_ID = "fdd818cce66350fd1bd9cac3"

#: Read only by ``make demo``: it answers the review as a person would in the UI.
DEMO = {"respond": {"review": {"chosen_options": ["Approve"]}}}

#: Page id -> the new search title and description.
REFRESH: dict[str, tuple[str, str]] = {
    "1a899e75168b8b70a16df7fa": ("About Orbit Outfitters | Gear for every expedition",
                                 "Who we are, where we test our gear, and why it lasts."),
    "99d3d7a60dc4cf435f8e31c6": ("Pricing | Orbit Outfitters", "Plans for every trip, with free returns."),
    "08b2b00e5290a0528c4be4fa": ("Features | Orbit Outfitters", "Field-tested features of every Orbit product."),
    "aaf689f3bd64b47b4e1085f9": ("Careers at Orbit Outfitters | Join the crew",
                                 "Open roles across three continents."),
}


@dag(
    dag_id="seo_refresh_reviewed",
    schedule=None,
    catchup=False,
    start_date=datetime(2025, 1, 1),
    tags=["pagemeta", "webflow", "review", "example"],
    params={"site_id": Param(SANDBOX_SITE_ID, type="string", description="The Webflow site of the pages.")},
)
def seo_refresh_reviewed() -> None:
    @task
    def build_updates() -> list[dict[str, Any]]:
        """The rows, built once: the plan and the apply use the very same ones."""
        return [{"page_id": page_id, "seo": {"title": title, "description": description}}
                for page_id, (title, description) in REFRESH.items()]

    @task
    def review_body(plan: dict[str, Any]) -> str:
        """The Markdown report of the planned changes: what the approver reads."""
        from airflow_provider_pagemeta.journal import render_report

        if not plan.get("journal"):
            return f"Dry run: {len(plan.get('changes') or {})} page(s) checked (no journal was written)."
        return render_report(plan["journal"], max_rows=100)

    updates = build_updates()
    plan = WebflowBulkUpdatePagesOperator(
        task_id="plan", updates=updates, site_id="{{ params.site_id }}", dry_run=True,
    )
    review = ApprovalOperator(
        task_id="review",
        subject="Apply the SEO refresh of site {{ params.site_id }}?",
        body="{{ ti.xcom_pull(task_ids='review_body') }}",
    )
    apply = WebflowBulkUpdatePagesOperator(task_id="apply", updates=updates, site_id="{{ params.site_id }}")
    review_body(plan.output) >> review >> apply

    # Last step: go live only when the apply changed something (a skip otherwise).
    WebflowPublishSiteOperator(task_id="publish", site_id="{{ params.site_id }}", changes=apply.output)


seo_refresh_reviewed()
