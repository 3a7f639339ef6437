"""Operators that make Hamgam pages' meta keys match a mapping (by key, not by meta id): one page,
or many pages in one task on the shared bulk engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_pagemeta.bulk.engine import BulkRunner
from airflow_provider_pagemeta.bulk.hamgam import HamgamBulkAdapter
from airflow_provider_pagemeta.core.convert import to_bool, to_file_ids, to_id, to_int, to_rows
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.journal.tasks import PageRecord, journal_page, run_journaled
from airflow_provider_pagemeta.links import HamgamPageLink, hamgam_page_url, push_page_url
from airflow_provider_pagemeta.payloads.hamgam import CMS, MetaPlan, check_desired

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pagemeta.payloads.hamgam import MetaPlan
    from airflow_provider_pagemeta.types import BulkSummary

#: Longest value shown in a log line; meta texts can be whole paragraphs.
LOG_VALUE_CHARS = 80


def _show(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "(missing)"
    if "file" in value:
        return f"file {value['file']}"
    text = repr(value["text"])
    return text if len(text) <= LOG_VALUE_CHARS else text[: LOG_VALUE_CHARS - 3] + "..."


class HamgamUpdatePageMetaOperator(BaseOperator):
    """Set a Hamgam page's meta keys: ``text`` (key -> string) and ``files`` (key -> file id).

    Lists the page once, then creates missing keys and updates differing ones; equal keys are
    not written, so a rerun sends no write. Keys the page has but the mapping does not name are
    left alone. Returns ``{"created", "updated", "unchanged"}`` key lists (text keys first, then
    file keys, in input order); with ``dry_run`` also ``"dry_run": true`` and ``"changes"``
    (``{key: {"old": ..., "new": ...}}``, values as ``{"text": ...}`` / ``{"file": id}``) and
    nothing is written. The page's meta on the connection's host
    (``<host>/api/pages/base/<page_id>/meta/``), which the task's "Hamgam page meta" link opens,
    is pushed as the XCom ``page_url``.

    :param page_id: the page's id (templated; a rendered digit string is fine).
    :param text: key -> text value (templated).
    :param files: key -> file id (templated; rendered digit strings are converted to ints).
    :param dry_run: list the page and report the planned changes without writing.
    :param journal: record the change in the change journal (``meta.<key>`` fields, no ``old``
        for a key the write creates): ``True`` (default) the configured location, ``False`` none,
        a string a directory URI. The result gains ``"journal"`` (its URI, None when off).
    :param hamgam_conn_id: the Hamgam connection (its ``host`` is required).
    """

    template_fields: Sequence[str] = ("page_id", "text", "files", "dry_run", "journal")
    ui_color = "#e8f4ea"
    operator_extra_links = (HamgamPageLink(),)
    # The contract names this argument ``dry_run``; it shadows BaseOperator.dry_run(), which
    # Airflow 3 never calls, and it must keep the name to be a template field.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        page_id: int | str,
        text: Mapping[str, str] | None = None,
        files: Mapping[str, int] | None = None,
        dry_run: bool = False,
        journal: bool | str = True,
        hamgam_conn_id: str = HamgamHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.page_id = page_id
        self.text = text
        self.files = files
        self.dry_run = dry_run
        self.hamgam_conn_id = hamgam_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        page_id = to_id(self.page_id, "page_id", cms=CMS)
        dry_run = to_bool(self.dry_run, "dry_run", cms=CMS)
        text, files = check_desired(self.text, to_file_ids(self.files, "files", cms=CMS))
        hook = HamgamHook(hamgam_conn_id=self.hamgam_conn_id)
        with journal_page(self, context, cms=CMS, conn_id=self.hamgam_conn_id, page={"page_id": page_id},
                          dry_run=dry_run, hook=hook) as record:
            self.log.info("Hamgam page %s: listing meta to compare %d key(s)", page_id, len(text) + len(files))
            plan = hook.plan_page_meta(page_id, text=text, files=files)
            record.changes = plan.journal_changes()
            self._log_plan(page_id, plan, dry_run)
            # The connection was already read for the listing: the link costs no lookup and no request.
            push_page_url(context, hamgam_page_url(hook.base_url, page_id))
            if dry_run:
                return {**plan.summary(), "dry_run": True, "changes": plan.changes(), "journal": record.uri}
            result = self._apply(hook, page_id, plan, record)
        self.log.info(
            "Hamgam page %s: created %d, updated %d, unchanged %d (%d HTTP request(s))",
            page_id, len(plan.created), len(plan.updated), len(plan.unchanged), hook.request_count,
        )
        return {**result, "journal": record.uri}

    @staticmethod
    def _apply(hook: HamgamHook, page_id: int, plan: MetaPlan, record: PageRecord) -> dict[str, list[str]]:
        """The plan's writes one by one, so that when one fails the journal says which landed."""
        done = []
        for planned in plan.requests:
            hook.apply_plan(page_id, MetaPlan(requests=[planned]))
            done.append(planned)
            record.landed = plan.journal_changes(done)
        return plan.summary()

    def _log_plan(self, page_id: int, plan: MetaPlan, dry_run: bool) -> None:
        verb = "would" if dry_run else "will"
        for planned in plan.requests:
            action = "create" if planned.method == "POST" else "update"
            self.log.info("Hamgam page %s: %s %s %r: %s -> %s", page_id, verb, action, planned.key,
                          _show(planned.old), _show(planned.new))
        if plan.unchanged:
            self.log.info("Hamgam page %s: unchanged: %s", page_id, ", ".join(plan.unchanged))
        if dry_run:
            self.log.info("Hamgam page %s: dry run, no write sent (%d would be)", page_id, len(plan.requests))


class HamgamBulkUpdatePageMetaOperator(BaseOperator):
    """Set the meta keys of many Hamgam pages in one task, on the shared bulk engine.

    Per page: one meta listing (the read), then a PATCH per key whose value differs and a POST per
    missing key; equal keys cost nothing, so a rerun, or a retry after a failure, writes only what
    is still different. Every row is validated before the first request; a page that fails does
    not stop the others (an auth failure does: every later request would fail the same way).

    :param updates: a list of ``{"page_id", "text", "files"}`` dicts (or an XComArg, or a template
        rendering to a JSON list): ``text`` key -> string, ``files`` key -> file id; one row per page.
    :param dry_run: list every page and return/log the diff (``meta.<key>: old -> new``) without
        writing.
    :param max_failures: how many pages may fail before the task fails (after all were tried).
    :param journal: record every page's change in the change journal: ``True`` (default) the
        configured location, ``False`` none, a string a directory URI.
    :param hamgam_conn_id: the Hamgam connection (its ``host`` is required).

    Returns (XCom) the bulk summary: ``total, updated, unchanged, failed, skipped, failures,
    requests, changed_pages, journal`` (page ids as strings; + ``changes`` on a dry run, keyed by page id,
    each ``{"meta.<key>": {"old": {"text": ...} | {"file": id}, "new": ...}}``, no ``old`` for a
    key the page did not have).
    """

    template_fields: Sequence[str] = ("updates", "dry_run", "max_failures", "journal")
    ui_color = "#e8f4ea"
    # The contract names this argument ``dry_run``; it shadows BaseOperator.dry_run(), which
    # Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        updates: Any,
        dry_run: bool = False,
        max_failures: int = 0,
        journal: bool | str = True,
        hamgam_conn_id: str = HamgamHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.updates = updates
        self.dry_run = dry_run
        self.max_failures = max_failures
        self.journal = journal
        self.hamgam_conn_id = hamgam_conn_id

    def execute(self, context: Context) -> BulkSummary:
        rows = to_rows(self.updates)
        max_failures = to_int(self.max_failures, "max_failures", cms=CMS)
        dry_run = to_bool(self.dry_run, "dry_run", cms=CMS)
        hook = HamgamHook(hamgam_conn_id=self.hamgam_conn_id)
        runner = BulkRunner(HamgamBulkAdapter(hook), dry_run=dry_run, max_failures=max_failures,
                            log=self.log.info, pacer=hook.pacer)
        try:
            return run_journaled(self, context, runner, rows, conn_id=self.hamgam_conn_id)
        finally:
            hook.close()
