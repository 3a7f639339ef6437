"""The Hamgam half of a bulk run (see :mod:`airflow_provider_pagemeta.bulk.engine`).

Hamgam has no multi-page read, so each page costs one meta listing (100 entries per call, so one
call for any page with up to 100 keys), and then one write per key that differs: a PATCH for a
key whose value differs, a POST for a missing key. That is the floor: the listing is what maps
keys to the meta ids a PATCH needs, and Hamgam has no batch write.

Diffs name ``meta.<key>`` with values as ``{"text": ...}`` or ``{"file": id}``; ``old`` is absent
for a key the page did not have (a create). When a page's writes fail part-way, its result reports
the keys that landed, so the journal and the summary never claim more than was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff, PlannedWrite, WriteResult, one_row_per_page
from airflow_provider_pagemeta.core.convert import to_file_ids, to_id
from airflow_provider_pagemeta.core.validation import check_keys, invalid
from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSError, CMSValidationError
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.payloads.hamgam import CMS, MetaPlan, check_desired, plan_page_meta

ROW_KEYS = ("page_id", "text", "files")
#: Entries per listing call: one call for any page with up to this many keys. Hamgam documents
#: no maximum; a server that caps it lower is still followed to the end.
LIST_PAGE_SIZE = 100


class HamgamBulkAdapter:
    """One listing per page, one write per differing key."""

    cms = CMS
    write_batch_size = 1

    def __init__(self, hook: HamgamHook) -> None:
        self.hook = hook

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        return one_row_per_page(rows, self._prepare_row, CMS)

    @staticmethod
    def _prepare_row(index: int, row: Any) -> BulkItem:
        where = f"updates[{index}]"
        if not isinstance(row, dict):
            raise invalid(f"{where} must be a dict, got {type(row).__name__}", where, CMS)
        check_keys(row, ROW_KEYS, where, cms=CMS)
        try:
            page_id = to_id(row.get("page_id"), "page_id", cms=CMS)
            text, files = check_desired(row.get("text"), to_file_ids(row.get("files"), "files", cms=CMS))
        except CMSValidationError as exc:
            raise invalid(f"{where}: {exc.message}", f"{where}.{exc.argument}", CMS) from None
        return BulkItem(index=index, key=str(page_id), target={"text": text, "files": files},
                        page={"page_id": page_id})

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        return None  # no multi-page read: each page's listing is its read

    def read(self, item: BulkItem) -> Any:
        return list(self.hook.list_page_meta(item.page["page_id"], page_size=LIST_PAGE_SIZE))

    def diff(self, item: BulkItem, current: Any) -> Diff:
        return self._plan(item, current).journal_changes()

    @staticmethod
    def _plan(item: BulkItem, current: Any) -> MetaPlan:
        return plan_page_meta(current, text=item.target["text"], files=item.target["files"])

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for planned in batch:
            result = self._write_page(planned)
            results.append(result)
            if isinstance(result.error, CMSAuthError):
                break  # the engine stops the run: the rest were not attempted
        return results

    def _write_page(self, planned: PlannedWrite) -> WriteResult:
        """The plan's writes in order (from the listing the diff was made on); on a failure, the
        result reports the keys written before it."""
        item = planned.item
        page_id = item.page["page_id"]
        plan = self._plan(item, planned.current)
        landed: Diff = {}
        for request in plan.requests:
            try:
                if request.meta_id is None:
                    self.hook.create_page_meta(page_id, key=request.key, value_text=request.new.get("text"),
                                               value_file=request.new.get("file"))
                else:
                    self.hook.update_page_meta(page_id, request.meta_id, key=request.key,
                                               value_text=request.new.get("text"),
                                               value_file=request.new.get("file"))
            except CMSError as exc:
                # Nothing landed: the planned diff is what failed. Some landed: that part changed
                # the page, and the error names the key that did not.
                return WriteResult(item, exc, landed or None)
            landed.update(plan.journal_changes([request]))
        return WriteResult(item)

    def requests_sent(self) -> int:
        return self.hook.request_count

    def redact(self, text: str) -> str:
        return self.hook.redactor.text(text)
