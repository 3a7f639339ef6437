"""Undo what a journaled task changed: the old values back, where nobody changed the page since.

A content migration or an SEO refresh can be approved and still be wrong. The journal every
writing operator keeps says, per page and field, what the value was before; this operator puts
those values back across the four CMSs, from one list of journals (see
:mod:`airflow_provider_pagemeta.bulk.restore` for the rules).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_pagemeta.bulk.engine import (
    CHANGED_PAGES_LISTED,
    CHANGES_LISTED,
    FAILURES_LISTED,
    BulkFailedError,
    BulkRunner,
)
from airflow_provider_pagemeta.bulk.restore import ADAPTERS, CONFLICTS_LISTED, RestoreAdapter, histories
from airflow_provider_pagemeta.core.convert import to_bool, to_int
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.journal.reader import journal_uris, locate
from airflow_provider_pagemeta.journal.tasks import close_writer, open_writer

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pagemeta.types import BulkSummary

#: Restored in this order (any order would do: the CMSs share no page).
CMS_ORDER = ("webflow", "buttercms", "hamgam", "buildin")
HOOKS = {
    "webflow": ("airflow_provider_pagemeta.hooks.webflow", "WebflowHook"),
    "buttercms": ("airflow_provider_pagemeta.hooks.buttercms", "ButterCMSHook"),
    "hamgam": ("airflow_provider_pagemeta.hooks.hamgam", "HamgamHook"),
    "buildin": ("airflow_provider_pagemeta.hooks.buildin", "BuildinHook"),
}
COUNTS = ("total", "updated", "unchanged", "failed", "skipped", "requests")


def _hook_class(cms: str) -> Any:
    module, name = HOOKS[cms]
    return getattr(__import__(module, fromlist=[name]), name)


class PageMetaRestoreOperator(BaseOperator):
    """Put back the values journaled tasks changed, newest change first.

    Each ``applied`` entry's ``old`` values go back, but only where the page still shows that
    entry's ``new``: a page someone edited since is a **conflict** and is left alone (all its
    fields), unless ``force=True``. A value that had no ``old`` (a Hamgam key the change created)
    is **not restorable** and is reported, never guessed. Runs on the bulk engine, one CMS at a
    time: pacing, per-page failures, and an authentication failure stops that CMS's pages.

    :param journal: what to restore: a journal URI (a file, or a directory such as a run's
        ``<dir>/<dag_id>/<run_id>``), a writing task's result (its XComArg: a dict with
        ``"journal"``), or a list of those (a mapped task's results). Every journal is read and
        checked before the first request; a missing or malformed one fails the task naming the
        file and line.
    :param conn_ids: ``{cms: conn_id}`` for the CMSs to restore; a CMS not named uses its hook's
        default connection (``webflow_default``, ...).
    :param dry_run: read and decide, write nothing; the summary and the journal (``planned``)
        say what would be restored.
    :param force: restore pages that were changed since the journal too (their conflicts are
        still counted).
    :param max_failures: how many pages may fail before the task fails (after every page was tried).
    :param output_journal: where this restore's own journal goes (``True``: the configured
        location, ``False``: none, a directory URI); its entries can be restored in turn.

    Returns (XCom) the bulk summary summed over the CMSs, plus ``restored`` (pages put back, in
    a dry run: that would be), ``conflicts`` (pages changed since, left alone unless forced),
    ``not_restorable`` (values without an old value), ``conflict_pages`` (the first few
    ``{"page", "fields"}``) and ``journal`` (this restore's journal).
    """

    template_fields: Sequence[str] = ("journal", "conn_ids", "dry_run", "force", "max_failures", "output_journal")
    ui_color = "#f3e8ff"
    # The contract names this argument ``dry_run``; it shadows BaseOperator.dry_run(), which
    # Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        journal: Any,
        conn_ids: Mapping[str, str] | None = None,
        dry_run: bool = False,
        force: bool = False,
        max_failures: int = 0,
        output_journal: bool | str = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.conn_ids = conn_ids
        self.dry_run = dry_run
        self.force = force
        self.max_failures = max_failures
        self.output_journal = output_journal

    def execute(self, context: Context) -> dict[str, Any]:
        dry_run = to_bool(self.dry_run, "dry_run")
        force = to_bool(self.force, "force")
        max_failures = to_int(self.max_failures, "max_failures")
        conn_ids = self._conn_ids()
        uris = journal_uris(self.journal)
        located = locate(uris)
        pages = histories(located)
        self.log.info("Restoring from %d journal file(s): %d entries, %d applied page(s) in %s",
                      len(uris), len(located), sum(len(rows) for rows in pages.values()),
                      ", ".join(f"{cms} {len(rows)}" for cms, rows in pages.items()) or "no CMS")
        runs = self._prepare(pages, conn_ids, force)  # every row checked before any write
        writer = open_writer(self, context, setting=self.output_journal)
        results: list[tuple[RestoreAdapter, BulkSummary]] = []
        try:
            for cms, adapter, rows in runs:
                recorder = writer.recorder(cms, conn_ids[cms]) if writer is not None else None
                runner = BulkRunner(adapter, skip_unchanged=True, dry_run=dry_run, max_failures=sys.maxsize,
                                    log=self.log.info, pacer=adapter.hook.pacer, recorder=recorder)
                try:
                    results.append((adapter, runner.run(rows)))
                finally:
                    adapter.hook.close()
        finally:
            close_writer(self, writer, report=True)
        summary = merge(results, dry_run)
        summary["journal"] = writer.uri if writer is not None else None
        self._log_outcome(summary)
        if summary["failed"] > max_failures:
            first = summary["failures"][0] if summary["failures"] else {"page": "?", "error": "?"}
            raise BulkFailedError(
                f"{summary['failed']} page(s) failed to restore (max_failures={max_failures}); "
                f"first: {first['page']}: {first['error']}", summary=summary,  # type: ignore[arg-type]
            )
        return summary

    def _conn_ids(self) -> dict[str, str]:
        given = self.conn_ids or {}
        if not isinstance(given, Mapping):
            raise invalid(f"conn_ids must be a dict cms -> conn id, got {type(given).__name__}", "conn_ids")
        unknown = sorted(set(given) - set(CMS_ORDER))
        if unknown:
            raise invalid(f"conn_ids names unknown CMS(s) {', '.join(map(str, unknown))} "
                          f"(known: {', '.join(CMS_ORDER)})", "conn_ids")
        for cms, conn_id in given.items():
            if not isinstance(conn_id, str) or not conn_id.strip():
                raise invalid(f"conn_ids[{cms!r}] must be a connection id, got {conn_id!r}", "conn_ids")
        return {cms: str(given.get(cms) or _hook_class(cms).default_conn_name) for cms in CMS_ORDER}

    def _prepare(
        self, pages: Mapping[str, list[Any]], conn_ids: Mapping[str, str], force: bool
    ) -> list[tuple[str, RestoreAdapter, list[Any]]]:
        """One adapter per CMS in the journals, its rows checked and its connection looked up
        now: a bad journal line or a missing connection fails the task before any write."""
        runs = []
        for cms in CMS_ORDER:
            rows = pages.get(cms)
            if not rows:
                continue
            hook = _hook_class(cms)(conn_ids[cms])
            adapter = ADAPTERS[cms](hook, force=force, log=self.log.info)
            adapter.prepare(rows)
            hook.settings  # noqa: B018 - resolves the connection (no request): a missing one fails here
            runs.append((cms, adapter, rows))
            self._warn_other_connections(cms, rows, conn_ids[cms])
        return runs

    def _warn_other_connections(self, cms: str, rows: Sequence[Any], conn_id: str) -> None:
        others = sorted({str(c) for row in rows for c in row.conn_ids if c and c != conn_id})
        if others:
            self.log.warning("%s: the journal was written through connection(s) %s; restoring through %s "
                             "(pass conn_ids to choose)", cms, ", ".join(others), conn_id)

    def _log_outcome(self, summary: Mapping[str, Any]) -> None:
        self.log.info("Restore%s: %d page(s) restored, %d conflict(s)%s, %d value(s) not restorable, %d failed",
                      " (dry run)" if summary.get("dry_run") else "", summary["restored"], summary["conflicts"],
                      " (forced)" if self.force and summary["conflicts"] else "", summary["not_restorable"],
                      summary["failed"])


def merge(results: Sequence[tuple[RestoreAdapter, BulkSummary]], dry_run: bool) -> dict[str, Any]:
    """The per-CMS summaries as one, still small whatever the journal's size."""
    plain: list[tuple[RestoreAdapter, Mapping[str, Any]]] = list(results)
    merged: dict[str, Any] = {key: sum(int(summary[key]) for _, summary in plain) for key in COUNTS}
    merged["failures"] = [f for _, summary in results for f in summary["failures"]][:FAILURES_LISTED]
    changed = [page for _, summary in results for page in summary["changed_pages"]]
    merged["changed_pages"] = changed[:CHANGED_PAGES_LISTED]
    if len(changed) > CHANGED_PAGES_LISTED or any(s.get("changed_pages_truncated") for _, s in results):
        merged["changed_pages_truncated"] = True
    if dry_run:
        merged["dry_run"] = True
        changes = {f"{adapter.cms}:{key}": diff for adapter, summary in results
                   for key, diff in (summary.get("changes") or {}).items()}
        merged["changes"] = dict(list(changes.items())[:CHANGES_LISTED])
        if len(changes) > CHANGES_LISTED or any(s.get("changes_truncated") for _, s in results):
            merged["changes_truncated"] = True
    merged["restored"] = sum(len(adapter.to_restore) if dry_run else summary["updated"] for adapter, summary in results)
    merged["conflicts"] = sum(len(adapter.conflicts) for adapter, _ in results)
    merged["not_restorable"] = sum(len(v) for adapter, _ in results for v in adapter.not_restorable.values())
    merged["conflict_pages"] = [{"page": f"{adapter.cms}:{key}", "fields": fields} for adapter, _ in results
                                for key, fields in adapter.conflicts.items()][:CONFLICTS_LISTED]
    return merged
