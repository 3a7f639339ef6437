"""The Buildin half of a bulk run (see :mod:`airflow_provider_pagemeta.bulk.engine`).

Buildin has no multi-page read by id, so each page costs one read and, when something differs,
one PATCH carrying only the differing keys: two requests per changed page, one per unchanged one.

People edit Buildin pages while a run goes on, and the plan phase reads every page before the
first write, so minutes can pass between a page's read and its write. With ``optimistic`` (the
default) each PATCH carries ``If-Match`` with the version of the read its diff was made on; a 409
means someone edited the page since, so that page is read again, diffed again, and written with
the new version, at most ``max_conflicts`` times, after which it is a per-page failure that
overwrote nothing. Each conflict costs two requests (the re-read and the new PATCH). The page then
reports the final diff, and a page that turns out to match already counts as unchanged.

Diffs name ``properties.<Name>``, ``icon``, ``cover`` and ``in_trash``; values are the objects as
Buildin reads and takes them, so an old value can be written back as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pagemeta import NOTSET
from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff, PlannedWrite, WriteResult, one_row_per_page
from airflow_provider_pagemeta.core.convert import to_bool
from airflow_provider_pagemeta.core.validation import check_keys, invalid
from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSConflictError, CMSError, CMSValidationError
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.payloads.buildin import (
    CMS,
    build_update_body,
    changes_to_apply,
    conflict_exhausted,
    page_changes,
    page_path,
)

ROW_KEYS = ("page_id", "properties", "icon", "cover", "in_trash")
#: Conflicts (409s) absorbed per page before it fails: the contract's "at most 3 times".
MAX_CONFLICTS = 3

#: A page as read, with the version token to send back as ``If-Match``.
Versioned = tuple[dict[str, Any], "str | None"]


class BuildinBulkAdapter:
    """One read per page, one PATCH (with ``If-Match``) per page that differs."""

    cms = CMS
    write_batch_size = 1

    def __init__(self, hook: BuildinHook, *, optimistic: bool = True, max_conflicts: int = MAX_CONFLICTS) -> None:
        self.hook = hook
        self.optimistic = optimistic
        self.max_conflicts = max_conflicts

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        return one_row_per_page(rows, self._prepare_row, CMS)

    @staticmethod
    def _prepare_row(index: int, row: Any) -> BulkItem:
        where = f"updates[{index}]"
        if not isinstance(row, dict):
            raise invalid(f"{where} must be a dict, got {type(row).__name__}", where, CMS)
        check_keys(row, ROW_KEYS, where, cms=CMS)
        try:
            page_path(row.get("page_id"))
            in_trash = row.get("in_trash")
            update = {
                "properties": row.get("properties"),
                "icon": row.get("icon", NOTSET),
                "cover": row.get("cover", NOTSET),
                "in_trash": None if in_trash is None else to_bool(in_trash, "in_trash", cms=CMS),
            }
            body = build_update_body(**update)
        except CMSValidationError as exc:
            raise invalid(f"{where}: {exc.message}", f"{where}.{exc.argument}", CMS) from None
        if not body:
            raise invalid(f"{where}: nothing to update: give properties, icon, cover or in_trash",
                          f"{where}.properties", CMS)
        page_id = str(row["page_id"]).strip().lower()
        return BulkItem(index=index, key=page_id, target=body, spec={"update": update}, page={"page_id": page_id})

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        return None  # no multi-page read by id: each page is read on its own

    def read(self, item: BulkItem) -> Versioned:
        return self.hook.get_page_with_version(item.key)

    def diff(self, item: BulkItem, current: Versioned) -> Diff:
        page, _version = current
        return page_changes(page, **item.spec["update"])

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for planned in batch:
            result = self._write_page(planned.item, planned.current)
            results.append(result)
            if isinstance(result.error, CMSAuthError):
                break  # the engine stops the run: the rest were not attempted
        return results

    def _write_page(self, item: BulkItem, current: Versioned) -> WriteResult:
        """PATCH what differs from ``current``; on a 409 read, diff and try again (optimistic)."""
        page, version = current
        conflicts = 0
        while True:
            update = changes_to_apply(page, **item.spec["update"])
            final = page_changes(page, **item.spec["update"]) if conflicts else None  # None: the planned diff
            if not update:
                return WriteResult(item, None, {})  # someone made the same change in between
            if self.optimistic and version is None:
                return WriteResult(item, CMSError(
                    "the page has neither an ETag header nor last_edited_time, so it cannot be written "
                    "safely with If-Match (use optimistic=False to write without it)",
                    cms=CMS, method="GET", call="get_page"))
            try:
                self.hook.update_page(item.key, **update, if_match=version if self.optimistic else None)
                return WriteResult(item, None, final)
            except CMSConflictError as exc:
                conflicts += 1
                if not self.optimistic or conflicts > self.max_conflicts:
                    error = conflict_exhausted(item.key, conflicts, self.max_conflicts, exc) if self.optimistic else exc
                    return WriteResult(item, error, final)
            except CMSError as exc:
                return WriteResult(item, exc, final)
            try:
                page, version = self.hook.get_page_with_version(item.key)
            except CMSError as exc:
                return WriteResult(item, exc, final)

    def requests_sent(self) -> int:
        return self.hook.request_count

    def redact(self, text: str) -> str:
        return self.hook.redactor.text(text)
