"""Operators for Webflow page metadata: one page, many pages (on the bulk engine), and the publish
that makes them live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_pagemeta import NOTSET, is_notset
from airflow_provider_pagemeta._compat import AirflowSkipException
from airflow_provider_pagemeta.assets import add_alias_outlet, emit_changed_pages
from airflow_provider_pagemeta.bulk.engine import BulkRunner
from airflow_provider_pagemeta.bulk.webflow import WebflowBulkAdapter
from airflow_provider_pagemeta.core.convert import to_bool, to_int, to_rows
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.exceptions import CMSError
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.journal.tasks import journal_page, run_journaled
from airflow_provider_pagemeta.links import (
    PUBLIC_URL_KEY,
    PUBLISHED_URL_KEY,
    WebflowPageLink,
    WebflowPublicPageLink,
    WebflowPublishedSiteLink,
    http_url,
    push_page_url,
    webflow_page_url,
    webflow_public_url,
    webflow_published_url,
)
from airflow_provider_pagemeta.payloads.webflow import (
    CMS,
    format_changes,
    normalize_update,
    optional_object_id,
    page_changes,
    publish_needed,
    publish_targets,
    read_changes,
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
    :param site_url: the site's public URL (``https://www.example.com``): the task then also gets a
        "Public page (once published)" link, ``site_url`` + the page's ``publishedPath``. The
        update itself is staged: that address shows it only after the site is published
        (:class:`WebflowPublishSiteOperator`). The "Webflow Pages panel" link (the site's Pages
        panel in the dashboard, where the staged settings show) is always there.
    :param webflow_conn_id: the Webflow connection id.
    :return: the page Webflow returned plus ``"changed"`` (False when skipped as unchanged), or for
        ``dry_run`` ``{"dry_run": True, "page_id", "locale_id", "changed", "changes"}``; both with
        ``"journal"`` (the journal's URI, None when off). The links' URLs are pushed as the XComs
        ``page_url`` and ``public_url``.
    """

    template_fields: Sequence[str] = (
        "page_id", "locale_id", "title", "slug", "seo", "open_graph", "skip_unchanged", "dry_run", "site_url",
        "journal",
    )
    template_fields_renderers = {"seo": "json", "open_graph": "json"}
    ui_color = "#4353ff"
    operator_extra_links = (WebflowPageLink(), WebflowPublicPageLink())

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
                    _push_page_links(context, current, site_url)
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
        self.log.info("Webflow %s updated (lastUpdated %s); the change is staged until the site is published",
                      where, page.get("lastUpdated"))
        _push_page_links(context, page, site_url)
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


def _push_page_links(context: Context, page: dict[str, Any], site_url: str | None) -> None:
    push_page_url(context, webflow_page_url(page))
    push_page_url(context, webflow_public_url(page, site_url), PUBLIC_URL_KEY)


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


class WebflowPublishSiteOperator(BaseOperator):
    """Publish a Webflow site (or one page), so that staged page settings go live.

    Page settings written through the API are staged: visitors and search engines see them only
    after a publish. Put this after the update tasks, with ``changes=`` their result, and a run
    that changed nothing publishes nothing (the task is skipped without a request), so a nightly
    refresh that finds every page up to date leaves the site alone.

    Webflow allows one successful publish per minute. A second publish inside that minute (two
    tasks of one run, or two DAGs at once) is answered 429 and waits (``Retry-After``, else 60 s)
    within the hook's retries, then goes through: both tasks end published, a minute apart.

    :param site_id: the site's Webflow id (24 hex digits), checked before any request.
    :param custom_domains: domain ids or host names (``www.example.com``) to publish to; host
        names are resolved through the site's custom domains (an unknown one fails before the
        publish). Default: every custom domain of the site, plus the Webflow subdomain.
    :param publish_to_webflow_subdomain: publish to ``<site>.webflow.io`` too (default: only with
        the default target).
    :param page_id: publish only this page (``pageId``); default: the whole site.
    :param changes: an upstream result, typically the XComArg of an update or bulk task
        (``changes=update.output``). When given, publish only if it shows a change: a bulk summary
        with ``updated > 0``, a single-page result with ``"changed": True``, a non-empty list of
        page ids, ``True``, or a list of such results (a mapped task) of which one does. No change
        (``False``, ``None``, an empty list, ``updated == 0``, ``"changed": False``) and any dry-run
        result skip the task (``AirflowSkipException``) without a request. Not given: always publish.
    :param changed_pages_asset: an ``Asset`` (or its name) that gets ONE event after a successful
        publish, listing the pages ``changes`` reports changed (``{"cms", "changed_pages",
        "site_id", "counts"}``), so a DAG scheduled on it runs once those pages are live. Needs
        ``changes``. A skipped publish emits none.
    :param webflow_conn_id: the Webflow connection id.
    :return: Webflow's publish answer (``{"customDomains": [{"id", "url", "lastPublished"}],
        "publishToWebflowSubdomain", "publishScope"}``). The "Published site" link opens the
        first custom domain published to, else the webflow.io subdomain (XCom ``published_url``).
    """

    template_fields: Sequence[str] = ("site_id", "custom_domains", "publish_to_webflow_subdomain", "page_id",
                                      "changes")
    template_fields_renderers = {"changes": "json"}
    ui_color = "#4353ff"
    operator_extra_links = (WebflowPublishedSiteLink(),)

    def __init__(
        self,
        *,
        site_id: str,
        custom_domains: list[str] | None = None,
        publish_to_webflow_subdomain: bool | None = None,
        page_id: str | None = None,
        changes: Any = NOTSET,
        changed_pages_asset: Asset | str | None = None,
        webflow_conn_id: str = WebflowHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if changed_pages_asset is not None and is_notset(changes):
            raise invalid("changed_pages_asset lists the pages that changed, so it needs changes= (the update "
                          "task's result)", "changed_pages_asset", CMS)
        self.changed_pages_asset = add_alias_outlet(self, changed_pages_asset, CMS)
        self.site_id = site_id
        self.custom_domains = custom_domains
        self.publish_to_webflow_subdomain = publish_to_webflow_subdomain
        self.page_id = page_id
        self.changes = changes
        self.webflow_conn_id = webflow_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        site_id = validate_object_id(self.site_id, "site_id")
        custom_domains = _domain_list(self.custom_domains)
        subdomain = (None if self.publish_to_webflow_subdomain is None
                     else to_bool(self.publish_to_webflow_subdomain, "publish_to_webflow_subdomain", cms=CMS))
        targets = publish_targets(custom_domains, subdomain, self.page_id)  # every check before the gate
        changes = self.changes if is_notset(self.changes) else read_changes(self.changes)
        if not is_notset(changes):
            changed, why = publish_needed(changes)
            if not changed:
                self.log.info("Nothing changed upstream (%s): not publishing site %s; no request sent", why, site_id)
                raise AirflowSkipException(f"nothing to publish: {why}")
            self.log.info("Publishing site %s because %s", site_id, why)
        hook = WebflowHook(webflow_conn_id=self.webflow_conn_id)
        try:
            published = hook.publish_site(site_id, custom_domains=custom_domains,
                                          publish_to_webflow_subdomain=subdomain, page_id=targets.page_id)
            self._log_published(site_id, targets.page_id, published)
            push_page_url(context, self._published_url(hook, site_id, published), PUBLISHED_URL_KEY)
        finally:
            hook.close()
        if self.changed_pages_asset is not None:
            summary, pages = _changed_summary(changes)
            emit_changed_pages(self, context, self.changed_pages_asset, summary, CMS, pages, site_id=site_id)
        return published

    def _log_published(self, site_id: str, page_id: str | None, published: dict[str, Any]) -> None:
        what = f"page {page_id} of site {site_id}" if page_id else f"site {site_id}"
        domains = [d for d in published.get("customDomains") or [] if isinstance(d, dict)]
        where = [str(d.get("url") or d.get("id")) for d in domains]
        if published.get("publishToWebflowSubdomain") is True:
            where.append("the webflow.io subdomain")
        stamps = sorted(str(d["lastPublished"]) for d in domains if d.get("lastPublished"))
        self.log.info("Webflow published %s (scope %s) to %s%s", what, published.get("publishScope", "?"),
                      ", ".join(where) or "(no domain listed in the answer)",
                      f"; lastPublished {stamps[-1]}" if stamps else "")

    def _published_url(self, hook: WebflowHook, site_id: str, published: dict[str, Any]) -> str | None:
        """The link's URL. Only a subdomain-only publish needs one more read (the site's ``shortName``);
        a failure there costs the link, never the task: the publish has happened."""
        url = webflow_published_url(published)
        if url is not None or published.get("publishToWebflowSubdomain") is not True:
            return url
        try:
            short_name = hook.get_site(site_id).get("shortName")
        except CMSError as exc:
            self.log.warning("No 'Published site' link: reading the site's short name failed: %s", exc)
            return None
        return webflow_published_url(published, short_name if isinstance(short_name, str) else None)


def _domain_list(value: Any) -> Any:
    """``custom_domains`` after templating: a JSON list rendered as text (``| tojson``) is read back."""
    if isinstance(value, str) and value.strip().startswith("["):
        return to_rows(value, "custom_domains")
    return value


def _changed_summary(changes: Any) -> tuple[dict[str, Any], list[str]]:
    """The pages ``changes`` reports changed and the summed counts, for the asset event."""
    results = list(changes) if isinstance(changes, Sequence) and not isinstance(changes, str) else [changes]
    pages: list[str] = []
    counts = dict.fromkeys(("total", "updated", "unchanged", "failed", "skipped"), 0)
    for result in results:
        if isinstance(result, str):
            pages.append(result)
        elif isinstance(result, Mapping) and not result.get("dry_run"):
            if "changed_pages" in result:
                pages.extend(str(p) for p in result.get("changed_pages") or [])
            elif result.get("changed") is True and result.get("id"):
                pages.append(str(result["id"]))
            for key in counts:
                value = result.get(key)
                counts[key] += value if isinstance(value, int) and not isinstance(value, bool) else 0
    pages = list(dict.fromkeys(pages))
    if not any(counts.values()):
        counts = {"total": len(pages), "updated": len(pages), "unchanged": 0, "failed": 0, "skipped": 0}
    return {**counts, "changed_pages": pages}, pages
