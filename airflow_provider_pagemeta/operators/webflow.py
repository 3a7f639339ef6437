"""Operators for Webflow page metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_pagemeta.core.validation import fail
from airflow_provider_pagemeta.hooks.webflow import (
    WebflowHook,
    format_changes,
    normalize_update,
    optional_object_id,
    page_diff,
    validate_object_id,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def as_flag(value: Any, argument: str) -> bool:
    """A bool argument that may arrive as a rendered template string (``"{{ params.dry_run }}"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise fail(f"{argument} must be true or false, got {value!r}", argument, "webflow")


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
    :param webflow_conn_id: the Webflow connection id.
    :return: the page Webflow returned plus ``"changed"`` (False when skipped as unchanged), or for
        ``dry_run`` ``{"dry_run": True, "page_id", "locale_id", "changed", "changes"}``.
    """

    template_fields: Sequence[str] = (
        "page_id", "locale_id", "title", "slug", "seo", "open_graph", "skip_unchanged", "dry_run",
    )
    template_fields_renderers = {"seo": "json", "open_graph": "json"}
    ui_color = "#4353ff"

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
        webflow_conn_id: str = "webflow_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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
        skip_unchanged = as_flag(self.skip_unchanged, "skip_unchanged")
        dry_run = as_flag(self.dry_run, "dry_run")
        hook = self._hook()
        where = f"page {page_id}" + (f" (locale {locale_id})" if locale_id else "")
        try:
            if dry_run or skip_unchanged:
                current = hook.get_page(page_id, locale_id=locale_id)
                changes = page_diff(current, body)
                if dry_run:
                    return self._dry_run_result(where, page_id, locale_id, changes)
                if not changes:
                    self.log.info("Webflow %s is unchanged (%s already match); no write sent", where,
                                  ", ".join(_dotted_fields(body)))
                    return {**current, "changed": False}
                self.log.info("Webflow %s: updating %d field(s): %s", where, len(changes), ", ".join(changes))
            else:
                self.log.info("Webflow %s: updating %s (skip_unchanged=False, no read first)", where, ", ".join(body))
            page = hook.update_page_settings(page_id, locale_id=locale_id, **_hook_kwargs(body))
        finally:
            hook.close()
        self.log.info("Webflow %s updated (lastUpdated %s)", where, page.get("lastUpdated"))
        return {**page, "changed": True}

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


def _dotted_fields(body: dict[str, Any]) -> list[str]:
    return [f"{key}.{sub}" if isinstance(value, dict) else key
            for key, value in body.items() for sub in (value if isinstance(value, dict) else [None])]


def _hook_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """The wire body back as ``update_page_settings`` keyword arguments."""
    return {"title": body.get("title"), "slug": body.get("slug"), "seo": body.get("seo"),
            "open_graph": body.get("openGraph")}
