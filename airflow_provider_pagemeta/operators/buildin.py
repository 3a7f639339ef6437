"""Operators that update Buildin pages (title and other properties, icon, cover, trash state): one
page, or many pages in one task on the shared bulk engine (``BuildinBulkUpdatePagesOperator``).

Three ways to write, because people edit Buildin pages while DAGs run:

- plain (default): one PATCH with the given values;
- ``if_match="<version>"``: one PATCH that fails with ``CMSConflictError`` if the page changed
  since that version was read (the version came from somewhere else, e.g. an upstream task);
- ``optimistic=True``: read the page, PATCH only what still differs with ``If-Match``, and on a
  conflict read again (``BuildinHook.modify_page``). A rerun writes nothing, and an edit someone
  made in between to another property is kept rather than overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_pagemeta import NOTSET, ArgNotSet
from airflow_provider_pagemeta.bulk.buildin import MAX_CONFLICTS, BuildinBulkAdapter
from airflow_provider_pagemeta.bulk.engine import BulkRunner
from airflow_provider_pagemeta.core.convert import to_bool, to_int, to_rows
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.journal.tasks import PageRecord, journal_page, run_journaled
from airflow_provider_pagemeta.links import BuildinPageLink, buildin_page_url, push_page_url
from airflow_provider_pagemeta.payloads.buildin import (
    CMS,
    build_update_body,
    changes_to_apply,
    check_if_match,
    check_max_conflicts,
    page_changes,
    page_path,
)
from airflow_provider_pagemeta.types import BulkSummary


class BuildinUpdatePageOperator(BaseOperator):
    """Update one Buildin page; returns the page after the update (the XCom).

    The task's "Buildin page" link opens the page's own ``url`` (pushed as the XCom ``page_url``).

    :param page_id: the page's UUID.
    :param properties: property name -> property object, e.g.
        ``{"title": {"title": [{"type": "text", "text": {"content": "Q3 Plan"}}]}}``; only these change.
    :param icon: NOTSET leaves the icon, ``None`` removes it, a dict sets it (emoji or external).
    :param cover: NOTSET leaves the cover, ``None`` removes it, a dict sets it (external).
    :param in_trash: move the page to (True) or out of (False) the trash; None leaves it.
    :param if_match: a page version token; the write fails with ``CMSConflictError`` if the page
        is no longer at that version.
    :param optimistic: read-modify-write with ``If-Match`` and re-read on conflicts; only the
        values that differ are sent, nothing when none do.
    :param max_conflicts: with ``optimistic``, how many 409s to absorb before failing.
    :param journal: record the change in the change journal: ``True`` (default) the configured
        location, ``False`` none, a string a directory URI. With a journal a plain or ``if_match``
        update reads the page first, so the journal's ``old`` is the real value (``optimistic``
        reads anyway). The result gains ``"journal"`` (its URI, None when off).
    :param buildin_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("page_id", "properties", "icon", "cover", "in_trash", "if_match", "journal")
    template_fields_renderers = {"properties": "json", "icon": "json", "cover": "json"}
    ui_color = "#e8f0fe"
    operator_extra_links = (BuildinPageLink(),)

    def __init__(
        self,
        *,
        page_id: str,
        properties: dict[str, Any] | None = None,
        icon: dict[str, Any] | ArgNotSet | None = NOTSET,
        cover: dict[str, Any] | ArgNotSet | None = NOTSET,
        in_trash: bool | str | None = None,
        if_match: str | None = None,
        optimistic: bool = False,
        max_conflicts: int = 3,
        journal: bool | str = True,
        buildin_conn_id: str = BuildinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.page_id = page_id
        self.properties = properties
        self.icon = icon
        self.cover = cover
        self.in_trash = in_trash
        self.if_match = if_match
        self.optimistic = optimistic
        self.max_conflicts = max_conflicts
        self.buildin_conn_id = buildin_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        update, given = self._validated_update()
        hook = BuildinHook(buildin_conn_id=self.buildin_conn_id)
        fields = ", ".join(f"properties {sorted(self.properties or {})}" if key == "properties" else key
                           for key in given)
        with journal_page(self, context, cms=CMS, conn_id=self.buildin_conn_id, hook=hook,
                          page={"page_id": str(self.page_id).strip()}) as record:
            page = self._write(hook, update, fields, record)
        self.log.info("Buildin page %s is at last_edited_time %s", self.page_id, page.get("last_edited_time"))
        push_page_url(context, buildin_page_url(page))
        return {**page, "journal": record.uri}

    def _write(self, hook: BuildinHook, update: dict[str, Any], fields: str, record: PageRecord) -> dict[str, Any]:
        """The update in the chosen mode; ``record.changes`` is diffed from the page as read just
        before the write that lands (optimistic mode re-reads on each conflict)."""
        if self.optimistic:
            self.log.info("Updating Buildin page %s optimistically: %s", self.page_id, fields)

            def fn(current: dict[str, Any]) -> dict[str, Any]:
                if record.uri is not None:
                    record.changes = page_changes(current, **update)
                return changes_to_apply(current, **update)

            return hook.modify_page(self.page_id, fn, max_conflicts=self.max_conflicts)
        if record.uri is not None:
            record.changes = page_changes(hook.get_page(self.page_id), **update)
        mode = f"if the page is still at version {self.if_match}" if self.if_match else "unconditionally"
        self.log.info("Updating Buildin page %s %s: %s", self.page_id, mode, fields)
        return hook.update_page(self.page_id, **update, if_match=self.if_match)

    def _validated_update(self) -> tuple[dict[str, Any], list[str]]:
        """Check the rendered arguments before any request: ``update_page`` kwargs, keys given."""
        page_path(self.page_id)
        if self.in_trash is not None:
            self.in_trash = to_bool(self.in_trash, "in_trash", cms=CMS)
        update: dict[str, Any] = {"properties": self.properties, "icon": self.icon, "cover": self.cover,
                                  "in_trash": self.in_trash}
        given = list(build_update_body(**update))
        if not given:
            raise invalid("nothing to update: give properties, icon, cover or in_trash", "properties", CMS)
        if self.if_match is not None:
            self.if_match = check_if_match(self.if_match)
            if self.optimistic:
                raise invalid("give if_match or optimistic=True, not both (optimistic reads its own version)",
                           "if_match", CMS)
        if self.optimistic:
            self.max_conflicts = check_max_conflicts(self.max_conflicts)
        return update, given


class BuildinBulkUpdatePagesOperator(BaseOperator):
    """Update many Buildin pages in one task, on the shared bulk engine.

    Per page: one read, then one PATCH with only the keys that differ (none when the page already
    matches, so a rerun, or a retry after a failure, writes only what is still different). Every
    row is validated before the first request; a page that fails does not stop the others (an
    auth failure does). Pick the pages with ``BuildinHook.query_database`` in an upstream task.

    :param updates: a list of ``{"page_id", "properties", "icon", "cover", "in_trash"}`` dicts (or
        an XComArg, or a template rendering to a JSON list); only ``page_id`` and one of the others
        are required. A row without ``icon``/``cover`` leaves them; ``None`` removes them.
    :param optimistic: each PATCH carries ``If-Match`` with the version of the read its diff was
        made on, so an edit someone made after that read is never overwritten: on a 409 the page
        is read and diffed again (two more requests), at most ``max_conflicts`` times, after
        which the page fails. ``False`` writes the diff without ``If-Match``.
    :param max_conflicts: 409s absorbed per page before it counts as failed (default 3).
    :param dry_run: read every page and return/log the diff (``properties.<Name>``, ``icon``,
        ``cover``, ``in_trash``: old -> new) without writing.
    :param max_failures: how many pages may fail before the task fails (after all were tried).
    :param journal: record every page's change in the change journal: ``True`` (default) the
        configured location, ``False`` none, a string a directory URI.
    :param buildin_conn_id: the Buildin connection.

    Returns (XCom) the bulk summary: ``total, updated, unchanged, failed, skipped, failures,
    requests, changed_pages, journal`` (page ids; + ``changes`` on a dry run).
    """

    template_fields: Sequence[str] = ("updates", "optimistic", "dry_run", "max_failures", "journal")
    template_fields_renderers = {"updates": "json"}
    ui_color = "#e8f0fe"
    # The contract names this argument ``dry_run``; it shadows BaseOperator.dry_run(), which
    # Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        updates: Any,
        optimistic: bool = True,
        max_conflicts: int = MAX_CONFLICTS,
        dry_run: bool = False,
        max_failures: int = 0,
        journal: bool | str = True,
        buildin_conn_id: str = BuildinHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.updates = updates
        self.optimistic = optimistic
        self.max_conflicts = max_conflicts
        self.dry_run = dry_run
        self.max_failures = max_failures
        self.journal = journal
        self.buildin_conn_id = buildin_conn_id

    def execute(self, context: Context) -> BulkSummary:
        rows = to_rows(self.updates)
        optimistic = to_bool(self.optimistic, "optimistic", cms=CMS)
        max_conflicts = check_max_conflicts(self.max_conflicts)
        max_failures = to_int(self.max_failures, "max_failures", cms=CMS)
        dry_run = to_bool(self.dry_run, "dry_run", cms=CMS)
        hook = BuildinHook(buildin_conn_id=self.buildin_conn_id)
        adapter = BuildinBulkAdapter(hook, optimistic=optimistic, max_conflicts=max_conflicts)
        runner = BulkRunner(adapter, dry_run=dry_run, max_failures=max_failures, log=self.log.info, pacer=hook.pacer)
        try:
            return run_journaled(self, context, runner, rows, conn_id=self.buildin_conn_id)
        finally:
            hook.close()
