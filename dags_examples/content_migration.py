"""Migrate SEO metadata from Webflow into ButterCMS page fields and Hamgam meta keys.

A site moving off Webflow keeps its search titles and descriptions: one task reads the Webflow
pages' SEO and Open Graph metadata (one paginated List Pages), two tasks turn them into updates
for each target, and the provider's operators write them:

* ButterCMS: one ``ButterCMSBulkUpdatePagesOperator`` sets each mapped page's ``seo`` field (in
  the default locale) as a draft, skipping pages that already show the values;
* Hamgam: ``HamgamUpdatePageMetaOperator`` mapped over the pages upserts the meta keys
  ``seo_title``, ``seo_description``, ``og_title`` and ``og_description`` (created when missing,
  patched when different, left alone when equal).

Trigger with ``{"dry_run": true}`` to see what would change in both CMSs without writing. A rerun
writes nothing: every target already matches.

**Undo a migration**: trigger with ``{"restore": "<run id of the migration>"}``. Instead of
migrating, the run reads that run's change journals (``<journal dir>/content_migration/<run id>/``)
and puts the old values back with ``PageMetaRestoreOperator``: ButterCMS fields return to what they
were; Hamgam keys the migration created are reported as not restorable (Hamgam has no delete);
a page someone edited since is left alone and reported as a conflict. ``{"restore": "...",
"dry_run": true}`` shows what the restore would do.

Runs against the sandbox with the default connections: ``airflow dags test content_migration``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator
from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator
from airflow_provider_pagemeta.operators.restore import PageMetaRestoreOperator

#: The sandbox's Webflow demo site ("Orbit Outfitters"); point the Param at your own site.
SANDBOX_SITE_ID = "fdd818cce66350fd1bd9cac3"

#: Webflow page slug -> where its metadata goes.
MIGRATION: list[dict[str, Any]] = [
    {"webflow_slug": "index", "buttercms": {"page_type": "landing-page", "page_slug": "home"}, "hamgam_page_id": 38},
    {"webflow_slug": "faq", "buttercms": {"page_type": "faq", "page_slug": "faq"}, "hamgam_page_id": 39},
    {"webflow_slug": "contact", "buttercms": {"page_type": "landing-page", "page_slug": "contact"},
     "hamgam_page_id": 40},
]


@dag(
    dag_id="content_migration",
    schedule=None,
    catchup=False,
    start_date=datetime(2025, 1, 1),
    tags=["pagemeta", "webflow", "buttercms", "hamgam", "example"],
    params={
        "dry_run": Param(False, type="boolean", description="Report what would change; write nothing."),
        "site_id": Param(SANDBOX_SITE_ID, type="string", description="The Webflow site to migrate from."),
        "restore": Param("", type="string",
                         description="A run id of this DAG: put back what that run changed instead of migrating."),
    },
)
def content_migration() -> None:
    @task.branch
    def choose(restore: str) -> str:
        """Migrate (the default), or undo an earlier run."""
        return "journals_of_run" if restore.strip() else "read_webflow_seo"

    @task
    def journals_of_run(restore: str) -> str:
        """The directory of that run's journals (every task's, mapped ones included)."""
        from airflow_provider_pagemeta.journal import run_journal_dir

        return run_journal_dir("content_migration", restore)

    @task
    def read_webflow_seo(site_id: str) -> list[dict[str, Any]]:
        """The SEO and Open Graph metadata of every mapped page, from one listing of the site."""
        from airflow_provider_pagemeta.hooks.webflow import WebflowHook

        wanted = {m["webflow_slug"] for m in MIGRATION}
        pages = {p["slug"]: p for p in WebflowHook().list_pages(site_id) if p.get("slug") in wanted}
        missing = sorted(wanted - set(pages))
        if missing:
            raise ValueError(f"Webflow site {site_id} has no page with slug(s) {', '.join(missing)}")
        return [
            {**m, "seo": pages[m["webflow_slug"]].get("seo") or {},
             "open_graph": pages[m["webflow_slug"]].get("openGraph") or {}}
            for m in MIGRATION
        ]

    @task
    def buttercms_updates(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**p["buttercms"], "locale": "en", "status": "draft",
             "fields": {"seo": {"title": p["seo"].get("title", ""), "description": p["seo"].get("description", "")}}}
            for p in pages
        ]

    @task
    def hamgam_updates(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"page_id": p["hamgam_page_id"], "text": {
                "seo_title": p["seo"].get("title", ""),
                "seo_description": p["seo"].get("description", ""),
                "og_title": p["open_graph"].get("title") or p["seo"].get("title", ""),
                "og_description": p["open_graph"].get("description") or p["seo"].get("description", ""),
            }}
            for p in pages
        ]

    mode = choose("{{ params.restore }}")
    undo = journals_of_run("{{ params.restore }}")
    mode >> undo
    PageMetaRestoreOperator(task_id="restore", journal=undo, dry_run="{{ params.dry_run }}")

    pages = read_webflow_seo("{{ params.site_id }}")
    mode >> pages
    ButterCMSBulkUpdatePagesOperator(
        task_id="write_buttercms",
        updates=buttercms_updates(pages),
        dry_run="{{ params.dry_run }}",
    )
    HamgamUpdatePageMetaOperator.partial(task_id="write_hamgam", dry_run="{{ params.dry_run }}").expand_kwargs(
        hamgam_updates(pages)
    )


content_migration()
