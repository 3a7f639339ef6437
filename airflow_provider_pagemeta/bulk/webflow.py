"""The Webflow half of a bulk run (see :mod:`airflow_provider_pagemeta.bulk.engine`).

Current values come from one paginated List Pages per locale when ``site_id`` is known
(ceil(N/100) reads for N pages instead of N), else from one Get Page per page. Writes are one PUT
per page, or with ``use_bulk_endpoint`` one ``PATCH /beta/pages`` per 100 pages, falling back to
PUTs when the beta endpoint is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff, PlannedWrite, WriteResult, write_each
from airflow_provider_pagemeta.core.retry import waits_too_long
from airflow_provider_pagemeta.core.validation import check_keys, invalid
from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSConnectionError,
    CMSError,
    CMSRateLimitError,
    CMSServerError,
)
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.payloads.webflow import BULK_MAX, CMS, normalize_bulk_entry, page_changes

ROW_KEYS = ("page_id", "id", "locale_id", "localeId", "title", "slug", "seo", "open_graph", "openGraph")
#: Statuses that mean "this account cannot use the beta bulk endpoint", as opposed to a bad row.
BULK_REFUSED = frozenset({403, 404, 405, 501})


class WebflowBulkAdapter:
    """Reads by listing, writes by PUT or by the beta bulk endpoint."""

    cms = CMS

    def __init__(
        self,
        hook: WebflowHook,
        *,
        site_id: str | None,
        locale_id: str | None,
        use_bulk_endpoint: bool,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.hook = hook
        self.site_id = site_id
        self.locale_id = locale_id
        self.use_bulk_endpoint = use_bulk_endpoint
        self.log = log or (lambda *args: None)
        self._listed: dict[str | None, dict[str, Any]] = {}
        self._listings: dict[str | None, Iterator[dict[str, Any]]] = {}

    @property
    def write_batch_size(self) -> int:
        return BULK_MAX if self.use_bulk_endpoint else 1

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        items: list[BulkItem] = []
        seen: dict[tuple[str, str | None], int] = {}
        for index, row in enumerate(rows):
            where = f"updates[{index}]"
            if not isinstance(row, dict):
                raise invalid(f"{where} must be a dict, got {type(row).__name__}", where, CMS)
            check_keys(row, ROW_KEYS, where, cms=CMS)
            entry = dict(row)
            if "localeId" not in entry and "locale_id" not in entry and self.locale_id is not None:
                entry["locale_id"] = self.locale_id
            wire = normalize_bulk_entry(entry, where)
            page_key = (wire["id"], wire.get("localeId"))
            if page_key in seen:
                raise invalid(f"{where} updates the same page and locale as updates[{seen[page_key]}] "
                              f"({wire['id']}); merge the two rows", where, CMS)
            seen[page_key] = index
            key = wire["id"] + (f"@{wire['localeId']}" if "localeId" in wire else "")
            page = {"page_id": wire["id"], "locale_id": wire.get("localeId")}
            options = {"site_id": self.site_id} if self.site_id else {}
            items.append(BulkItem(index=index, key=key, target=wire, page=page, options=options))
        return items

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        """Open one listing per locale; its pages are fetched as the reads need them (below)."""
        if self.site_id is None:
            return
        for locale in dict.fromkeys(item.target.get("localeId") for item in items):
            self._listings[locale] = self.hook.list_pages(self.site_id, locale_id=locale)
            self._listed[locale] = {}

    def read(self, item: BulkItem) -> Any:
        locale, page_id = item.target.get("localeId"), item.target["id"]
        page = self._listed.get(locale, {}).get(page_id)
        if page is None and locale in self._listings:
            page = self._list_until(locale, page_id)
        if page is not None:
            return page
        # Not listed (no site_id, or a page of another site): read it on its own.
        return self.hook.get_page(page_id, locale_id=locale)

    def _list_until(self, locale: str | None, page_id: str) -> dict[str, Any] | None:
        """Read on in the locale's listing until ``page_id`` shows up (None: not in it).

        Lazily, one listing request at a time, so the diffs of the pages already listed run in
        the pauses the pacer makes between listing requests instead of after the whole listing:
        for 10,000 rows that takes the diffing off the run's critical path. A listing that fails
        for another reason than auth or a spent quota leaves the rest of its pages to single reads.
        """
        listed = self._listed[locale]
        try:
            for page in self._listings[locale]:
                listed[str(page.get("id"))] = page
                if page.get("id") == page_id:
                    return page
        except CMSError as exc:
            if isinstance(exc, CMSAuthError) or waits_too_long(exc):
                raise  # that page fails, and the engine stops the run
            self.log("Webflow: listing site %s failed (%s); reading the rest of its pages one by one",
                     self.site_id, exc)
        del self._listings[locale]  # read to the end (or broken): every later miss is a single read
        self.log("Webflow: listed %d page(s) of site %s%s", len(listed), self.site_id,
                 f" (locale {locale})" if locale else "")
        return None

    def diff(self, item: BulkItem, current: Any) -> Diff:
        return page_changes(current, item.target)

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        if not self.use_bulk_endpoint:
            return write_each(batch, self._put)
        try:
            self.hook.update_pages_bulk([planned.item.target for planned in batch])
        except CMSAuthError as exc:
            if exc.status_code == 403:
                return self._fall_back(batch, exc)
            raise  # every page of the batch fails; the engine stops the run
        except CMSError as exc:
            if isinstance(exc, (CMSRateLimitError, CMSServerError, CMSConnectionError)):
                raise
            return self._fall_back(batch, exc)
        return [WriteResult(planned.item) for planned in batch]

    def _fall_back(self, batch: Sequence[PlannedWrite], exc: CMSError) -> list[WriteResult]:
        """The beta endpoint refused the batch: write its pages one by one, which also pins a bad
        row to its page. When every page then succeeds, the endpoint itself was refused, so the
        rest of the run does not try it again."""
        self.log("Webflow bulk endpoint refused %d page(s) (%s); writing them one by one", len(batch), exc)
        results = write_each(batch, self._put)
        if exc.status_code in BULK_REFUSED and all(r.error is None for r in results):
            self.log("Webflow bulk endpoint unavailable for this token; using per-page writes from now on")
            self.use_bulk_endpoint = False
        return results

    def _put(self, planned: PlannedWrite) -> None:
        t = planned.item.target
        self.hook.update_page_settings(
            t["id"], locale_id=t.get("localeId"), title=t.get("title"), slug=t.get("slug"),
            seo=t.get("seo"), open_graph=t.get("openGraph"),
        )

    def requests_sent(self) -> int:
        return self.hook.request_count

    def redact(self, text: str) -> str:
        return self.hook.redactor.text(text)
