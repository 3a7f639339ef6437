"""Operators for Webflow page metadata: one page, many pages (on the bulk engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_pagemeta.assets import add_alias_outlet, emit_changed_pages
from airflow_provider_pagemeta.bulk.engine import BulkRunner
from airflow_provider_pagemeta.bulk.webflow import WebflowBulkAdapter
from airflow_provider_pagemeta.core.convert import to_bool, to_int, to_rows
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.journal.tasks import journal_page, run_journaled
from airflow_provider_pagemeta.links import WebflowPageLink, http_url, push_page_url, webflow_page_url
from airflow_provider_pagemeta.payloads.webflow import (
    CMS,
    format_changes,
    normalize_update,
    optional_object_id,
    page_changes,
    validate_object_id,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pagemeta.types import BulkSummary


class WebflowUpdatePageOperator(BaseOperator):
    """Update one Webflow page's title, slug, SEO and Open Graph metadata (``PUT /v2/pages/{page_id}``).

    Re-running a DAG should not rewrite pages that already say the right thing (each write counts
    against Webflow's per-minute limit and bumps ``lastUpdated``), hence ``skip_unchanged``; and a
    content change should be reviewable before it goes live, hence ``dry_run``.

    :param page_id: the page's Webflow id (24 hex digits).
    :param locale_id: a locale id to update that locale's copy; None updates the primary locale.
    :param title: new page title.
    :param slug: new slug (Webflow silently keeps the old one on home, template and utility pages
        and on secondary locales; the hook logs a warning when that happens).
    :param seo: ``{"title", "description"}``, any subset.
    :param open_graph: ``{"title", "titleCopied", "description", "descriptionCopied"}``, any subset
        (``title_copied`` / ``description_copied`` accepted).
    :param skip_unchanged: read the page first and send no write when every given field already matches.
    :param dry_run: send no write; return and log the planned change field by field.
    :param journal: record the change in the change journal: ``True`` (default) the configured
        location, ``False`` none, a string a directory URI. With a journal the page is read before
        the write even when ``skip_unchanged=False``, so the journal's ``old`` is the real value.
    :param site_url: the site's public URL (``https://www.example.com``): the task's "Webflow page"
        link then opens the live page (``site_url`` + ``publishedPath``); without it the link opens
        the site's Pages panel in the Webflow dashboard, since the API never states the domain.
    :param webflow_conn_id: the Webflow connection id.
    :return: the page Webflow returned plus ``"changed"`` (False when skipped as unchanged), or for
        ``dry_run`` ``{"dry_run": True, "page_id", "locale_id", "changed", "changes"}``; both with
        ``"journal"`` (the journal's URI, None when off). The link's URL is pushed as the XCom
        ``page_url``.
    """

    template_fields: Sequence[str] = (
        "page_id", "locale_id", "title", "slug", "seo", "open_graph", "skip_unchanged", "dry_run", "site_url",
        "journal",
    )
    template_fields_renderers = {"seo": "json", "open_graph": "json"}
    ui_color = "#4353ff"
    operator_extra_links = (WebflowPageLink(),)

    def __init__(
        self,
        *,
        page_id: str,
        locale_id: str | None = None,
        title: str | None = None,
        slug: str | None = None,
        seo: dict[str, Any] | None = None,
        open_graph: dict[str, Any] | None = None,
        skip_unchanged: bool = True,
        dry_run: bool = False,
        site_url: str | None = None,
        journal: bool | str = True,
        webflow_conn_id: str = WebflowHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.site_url = site_url
        self.journal = journal
        self.page_id = page_id
        self.locale_id = locale_id
        self.title = title
        self.slug = slug
        self.seo = seo
        self.open_graph = open_graph
        self.skip_unchanged = skip_unchanged
        # Shadows BaseOperator.dry_run(), a template-rendering helper Airflow itself never calls: the
        # contract names this argument dry_run, like the other operators of the provider.
        self.dry_run = dry_run  # type: ignore[method-assign,assignment]
        self.webflow_conn_id = webflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        page_id = validate_object_id(self.page_id, "page_id")
        locale_id = optional_object_id(self.locale_id, "locale_id")
        body = normalize_update(title=self.title, slug=self.slug, seo=self.seo, open_graph=self.open_graph)
        skip_unchanged = to_bool(self.skip_unchanged, "skip_unchanged", cms=CMS)
        dry_run = to_bool(self.dry_run, "dry_run", cms=CMS)
        site_url = _site_url(self.site_url)
        hook = self._hook()
        where = f"page {page_id}" + (f" (locale {locale_id})" if locale_id else "")
        try:
            with journal_page(self, context, cms=CMS, conn_id=self.webflow_conn_id, dry_run=dry_run, hook=hook,
                              page={"page_id": page_id, "locale_id": locale_id}) as record:
                if dry_run or skip_unchanged or record.uri:
                    current = hook.get_page(page_id, locale_id=locale_id)
                    changes = record.changes = page_changes(current, body)
                    push_page_url(context, webflow_page_url(current, site_url))
                    if dry_run:
                        return {**self._dry_run_result(where, page_id, locale_id, changes), "journal": record.uri}
                    if not changes and skip_unchanged:
                        self.log.info("Webflow %s is unchanged (%s already match); no write sent", where,
                                      ", ".join(_dotted_fields(body)))
                        return {**current, "changed": False, "journal": record.uri}
                    self.log.info("Webflow %s: updating %d field(s): %s", where, len(changes),
                                  ", ".join(changes) or "none differs, written anyway (skip_unchanged=False)")
                else:
                    self.log.info("Webflow %s: updating %s (skip_unchanged=False, no read first)", where,
                                  ", ".join(body))
                page = hook.update_page_settings(page_id, locale_id=locale_id, **_hook_kwargs(body))
        finally:
            hook.close()
        self.log.info("Webflow %s updated (lastUpdated %s)", where, page.get("lastUpdated"))
        push_page_url(context, webflow_page_url(page, site_url))
        return {**page, "changed": True, "journal": record.uri}

    def _dry_run_result(
        self, where: str, page_id: str, locale_id: str | None, changes: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        if changes:
            self.log.info("DRY RUN: Webflow %s would change %d field(s); nothing was sent:", where, len(changes))
            for line in format_changes(changes):
                self.log.info("  %s", line)
        else:
            self.log.info("DRY RUN: Webflow %s already matches; nothing would be sent", where)
        return {"dry_run": True, "page_id": page_id, "locale_id": locale_id, "changed": bool(changes),
                "changes": changes}

    def _hook(self) -> WebflowHook:
        return WebflowHook(webflow_conn_id=self.webflow_conn_id)


def _site_url(value: Any) -> str | None:
    """Checked before any request: a typo here would otherwise only show as a dead link."""
    if value is None or value == "":
        return None
    url = http_url(value)
    if url is None:
        raise invalid(f"site_url must be an http(s) URL such as https://www.example.com, got {value!r}",
                      "site_url", CMS)
    return url


def _dotted_fields(body: dict[str, Any]) -> list[str]:
    return [f"{key}.{sub}" if isinstance(value, dict) else key
            for key, value in body.items() for sub in (value if isinstance(value, dict) else [None])]


def _hook_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """The wire body back as ``update_page_settings`` keyword arguments."""
    return {"title": body.get("title"), "slug": body.get("slug"), "seo": body.get("seo"),
            "open_graph": body.get("openGraph")}


class WebflowBulkUpdatePagesOperator(BaseOperator):
    """Update the metadata of many Webflow pages in one task, on the shared bulk engine.

    One task instead of one mapped task per page: Webflow allows 60 or 120 requests per minute
    per site plan, so every wasted write is expensive, and every task instance costs Airflow
    seconds of scheduling.

    :param updates: a list of dicts (or an XComArg, or a template rendering to a list), each with
        ``page_id`` and any of ``title``, ``slug``, ``seo``, ``open_graph``, and optionally its own
        ``locale_id``. Every row is validated before the first request (bad ids, unknown keys,
        duplicates of one page and locale); a bad row fails the task naming it.
    :param site_id: the pages' site: current values then come from one paginated List Pages
        (ceil(N/100) reads) instead of N single reads.
    :param locale_id: locale for rows that do not name their own (None: the primary locale).
    :param skip_unchanged: send no write for a page that already matches; this is also what makes
        a retried task resume without writing a page twice.
    :param dry_run: send no write; return and log the per-page diff (field: old -> new).
    :param max_failures: how many pages may fail before the task fails (after all were tried).
    :param use_bulk_endpoint: write through Webflow's beta ``PATCH /beta/pages`` (up to 100 pages
        per request), falling back to one PUT per page when the endpoint is refused.
    :param changed_pages_asset: an ``Asset`` (or its name) that gets ONE event per run in which at
        least one page changed, its ``extra`` listing the changed pages (``{"cms", "changed_pages",
        "site_id", "counts"}``); a run that changed nothing, or a dry run, emits none, so a DAG
        scheduled on the asset runs on real changes only (see
        :mod:`airflow_provider_pagemeta.assets`).
    :param journal: record every page's change in the change journal: ``True`` (default) the
        configured location, ``False`` none, a string a directory URI.

    Returns (XCom) the bulk summary: ``total, updated, unchanged, failed, skipped, failures,
    requests, changed_pages, journal`` (+ ``changes`` on a dry run).
    """

    template_fields: Sequence[str] = (
        "updates", "site_id", "locale_id", "skip_unchanged", "dry_run", "max_failures", "journal",
    )
    ui_color = "#4353ff"
    # The contract names this argument ``dry_run``; it shadows BaseOperator.dry_run(), which
    # Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        updates: Any,
        site_id: str | None = None,
        locale_id: str | None = None,
        skip_unchanged: bool = True,
        dry_run: bool = False,
        max_failures: int = 0,
        use_bulk_endpoint: bool = False,
        changed_pages_asset: Asset | str | None = None,
        journal: bool | str = True,
        webflow_conn_id: str = WebflowHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.changed_pages_asset = add_alias_outlet(self, changed_pages_asset, "webflow")
        self.updates = updates
        self.site_id = site_id
        self.locale_id = locale_id
        self.skip_unchanged = skip_unchanged
        self.dry_run = dry_run
        self.max_failures = max_failures
        self.use_bulk_endpoint = use_bulk_endpoint
        self.webflow_conn_id = webflow_conn_id

    def execute(self, context: Context) -> BulkSummary:
        rows = to_rows(self.updates)
        site_id = optional_object_id(self.site_id, "site_id")
        locale_id = optional_object_id(self.locale_id, "locale_id")
        max_failures = to_int(self.max_failures, "max_failures", cms=CMS)
        use_bulk_endpoint = to_bool(self.use_bulk_endpoint, "use_bulk_endpoint", cms=CMS)
        skip_unchanged = to_bool(self.skip_unchanged, "skip_unchanged", cms=CMS)
        dry_run = to_bool(self.dry_run, "dry_run", cms=CMS)
        hook = WebflowHook(webflow_conn_id=self.webflow_conn_id)
        adapter = WebflowBulkAdapter(
            hook, site_id=site_id, locale_id=locale_id, use_bulk_endpoint=use_bulk_endpoint, log=self.log.info
        )
        runner = BulkRunner(
            adapter, skip_unchanged=skip_unchanged, dry_run=dry_run, max_failures=max_failures,
            log=self.log.info, pacer=hook.pacer,
        )
        try:
            summary = run_journaled(self, context, runner, rows, conn_id=self.webflow_conn_id)
        finally:
            hook.close()
        emit_changed_pages(self, context, self.changed_pages_asset, summary, CMS, runner.changed, site_id=site_id)
        return summary
