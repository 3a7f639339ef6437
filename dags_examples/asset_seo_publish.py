"""Publish new SEO copy for a few Webflow pages, and tell downstream DAGs which pages went live.

The producer half of a data-aware pair (the consumer is ``asset_sitemap_rebuild``). The bulk
task writes the new copy, which Webflow keeps staged; the publish task then makes it live, and
only then emits ONE event for the ``webflow_seo_changes`` asset (its ``changed_pages_asset``),
whose ``extra`` lists the changed pages (``{"cms": "webflow", "changed_pages": [...], "site_id":
..., "counts": {...}}``). So the sitemap rebuild runs once those pages are what visitors see, not
while they are staged. Pages that already match are skipped and are not listed. A rerun changes
nothing: the publish is skipped without a request, no event is emitted, and the sitemap rebuild
is not scheduled again. The consumer runs on real, live changes only.

Four rows against the sandbox's demo site ("Orbit Outfitters"): three pages get new copy, the
fourth (Careers) already has the title given, so even the first run lists three pages. Cost: one
List Pages (the site has fewer than 100 pages), one PUT per changed page, one Get Custom Domains
and one publish (to both custom domains and the webflow.io subdomain).

Runs against the sandbox with the ``webflow_default`` connection: ``airflow dags test
asset_seo_publish`` (``make demo`` and the tests set the connection up).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset, Param

from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator, WebflowPublishSiteOperator

#: The sandbox's demo site; point the Param at your own site for real runs.
SANDBOX_SITE_ID = "fdd818cce66350fd1bd9cac3"
#: What the consumer schedules on. Keep the name and URI identical in asset_sitemap_rebuild.py.
SEO_CHANGES = Asset(name="webflow_seo_changes", uri=f"pagemeta://webflow/sites/{SANDBOX_SITE_ID}/pages")

UPDATES = [
    {"page_id": "1a899e75168b8b70a16df7fa",  # /about
     "seo": {"description": "Who we are: the outfitters behind every Orbit expedition since 2009."}},
    {"page_id": "99d3d7a60dc4cf435f8e31c6",  # /pricing
     "seo": {"title": "Pricing and rental plans | Orbit Outfitters",
             "description": "Rent or buy expedition gear: plans, prices and what each includes."}},
    {"page_id": "08b2b00e5290a0528c4be4fa",  # /features
     "seo": {"description": "Sealed seams, spare parts on every trip, and gear tested in the field."}},
    {"page_id": "aaf689f3bd64b47b4e1085f9",  # /careers: already says this, so never listed as changed
     "seo": {"title": "Careers | Orbit Outfitters"}},
]

with DAG(
    dag_id="asset_seo_publish",
    schedule=None,
    catchup=False,
    start_date=datetime(2026, 1, 1),
    tags=["pagemeta", "webflow", "assets", "example"],
    params={"site_id": Param(SANDBOX_SITE_ID, type="string", description="The Webflow site of the pages.")},
) as dag:
    updated = WebflowBulkUpdatePagesOperator(
        task_id="update_seo",
        updates=UPDATES,
        site_id="{{ params.site_id }}",
    )
    WebflowPublishSiteOperator(
        task_id="publish_site",
        site_id="{{ params.site_id }}",
        changes=updated.output,
        changed_pages_asset=SEO_CHANGES,
    )
