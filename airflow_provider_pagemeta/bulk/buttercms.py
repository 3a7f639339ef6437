"""The ButterCMS half of a bulk run (see :mod:`airflow_provider_pagemeta.bulk.engine`).

Each row is one Write API update; the read it is compared with is the version the update
changes: the draft (``preview=1``) for drafts, the published page for ``status="published"``,
which is also the read a wait confirms it on.

ButterCMS bills every call against the plan's monthly quota, so current values come from List
Pages (100 pages per call): one listing per page type, locale and read (draft or published), so N
pages of one type cost ceil(N/100) reads instead of N. A page is read singly when listing cannot
be cheaper: a row whose ``page_type`` is ``*`` (that listing holds Single Pages only), the only
row of its listing, a page the listing does not hold, and the rest of a listing once reading on
would cost more calls than the pages still missing (a page type of 20,000 pages with 50 of them
to update costs at most 51 reads, not 200).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff, PlannedWrite, WriteResult, write_each
from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.core.retry import waits_too_long
from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSError, CMSValidationError
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.payloads.buttercms import (
    ANY_PAGE_TYPE,
    CMS,
    LIST_PAGE_SIZE_MAX,
    journal_options,
    page_differences,
    page_spec,
    preview_for,
    spec_locales,
    validate_update,
)

ROW_KEYS = frozenset({"page_type", "page_slug", "fields", "fields_by_locale", "status", "locale"})
_ABSENT = object()

#: One listing: page type, locale (None: the account's default) and whether it reads drafts.
ListingKey = tuple[str, "str | None", bool]


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (``seo.title``) of a page's fields, or ``_ABSENT``."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return _ABSENT
        data = data[part]
    return data


class ButterCMSBulkAdapter:
    """Reads by listing (one read per page and locale where a listing cannot help), one PATCH
    per page."""

    cms = CMS
    write_batch_size = 1

    def __init__(self, hook: ButterCMSHook, *, log: Callable[..., None] | None = None) -> None:
        self.hook = hook
        self.log = log or (lambda *args: None)
        #: Pages found by listing, per listing and slug (only the pages the rows name are kept).
        self._listed: dict[ListingKey, dict[str, dict[str, Any]]] = {}

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        items: list[BulkItem] = []
        seen: dict[tuple[str, str, str], int] = {}
        for index, row in enumerate(rows):
            item = self._prepare_row(index, row)
            for locale in spec_locales(item.spec):
                key = (str(item.spec["page_type"]), str(item.spec["page_slug"]), str(locale))
                if key in seen:
                    raise v.invalid(
                        f"updates[{index}] updates the same page and locale as updates[{seen[key]}] "
                        f"({key[0]}/{key[1]}, locale {locale or 'default'}); merge the two rows",
                        f"updates[{index}]", CMS,
                    )
                seen[key] = index
            items.append(item)
        return items

    def _prepare_row(self, index: int, row: Any) -> BulkItem:
        where = f"updates[{index}]"
        if not isinstance(row, dict):
            raise v.invalid(f"{where} must be a dict, got {type(row).__name__}", where, CMS)
        v.check_keys(row, ROW_KEYS, where, cms=CMS)
        status = row.get("status", "draft")
        try:
            validate_update(
                row.get("page_type"), row.get("page_slug"), fields=row.get("fields"),
                fields_by_locale=row.get("fields_by_locale"), status=status, locale=row.get("locale"),
            )
            spec = page_spec(
                row.get("page_type"), row.get("page_slug"), expected_fields=row.get("fields"),
                expected_fields_by_locale=row.get("fields_by_locale"), locale=row.get("locale"),
                preview=preview_for(status),
            )
        except CMSValidationError as exc:
            raise v.invalid(f"{where}: {exc.message}", f"{where}.{exc.argument}", CMS) from None
        key = f"{row['page_type']}/{row['page_slug']}"
        if row.get("locale"):
            key += f"@{row['locale']}"
        target = {k: row[k] for k in ("fields", "fields_by_locale", "locale") if row.get(k) is not None}
        target["status"] = status
        page = {"page_type": row["page_type"], "page_slug": row["page_slug"], "locale": row.get("locale")}
        options = journal_options(status, by_locale="fields_by_locale" in target)
        return BulkItem(index=index, key=key, target=target, spec=spec, page=page, options=options)

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        for key, slugs in self._listings(items).items():
            self._listed[key] = self._list(key, slugs)

    @staticmethod
    def _listings(items: Sequence[BulkItem]) -> dict[ListingKey, set[str]]:
        """The slugs each listing is read for; a listing wanted for one page only is left out (a
        single read costs one call too, and always finds it)."""
        wanted: dict[ListingKey, set[str]] = {}
        for item in items:
            spec = item.spec
            if spec["page_type"] == ANY_PAGE_TYPE:
                continue
            for locale in spec_locales(spec):
                wanted.setdefault((str(spec["page_type"]), locale, bool(spec["preview"])), set()).add(
                    str(spec["page_slug"]))
        return {key: slugs for key, slugs in wanted.items() if len(slugs) > 1}

    def _list(self, key: ListingKey, slugs: set[str]) -> dict[str, dict[str, Any]]:
        """List one page type until every wanted slug is found, or until the calls left would
        outnumber the pages still missing (those are then read singly). A listing that fails for
        another reason than auth or a spent quota leaves its pages to single reads as well."""
        page_type, locale, preview = key
        listing = self.hook.list_pages(page_type, locale=locale, preview=preview, page_size=LIST_PAGE_SIZE_MAX)
        found: dict[str, dict[str, Any]] = {}
        seen = 0
        try:
            for page in listing:
                seen += 1
                slug = page.get("slug")
                if slug in slugs:
                    found[str(slug)] = page
                if len(found) == len(slugs):
                    break
                if seen == listing.fetched and listing.count is not None:  # the end of one answer
                    calls_left = math.ceil(max(0, listing.count - seen) / listing.page_size)
                    if calls_left > len(slugs) - len(found):
                        break
        except CMSError as exc:
            if isinstance(exc, CMSAuthError) or waits_too_long(exc):
                raise  # every later call meets it too: the engine stops the run
            self.log("ButterCMS: listing %s pages failed (%s); reading them one by one",
                     page_type, self.hook.redactor.text(str(exc)))
        self.log("ButterCMS: listed %s (%s, %s) in %d call(s): %d of %d page(s) found",
                 page_type, locale or "default locale", "drafts" if preview else "published",
                 listing.calls, len(found), len(slugs))
        return found

    def read(self, item: BulkItem) -> Any:
        spec = item.spec
        listed = {locale: self._listed.get((str(spec["page_type"]), locale, bool(spec["preview"])), {})
                  .get(str(spec["page_slug"])) for locale in spec_locales(spec)}
        if all(page is not None for page in listed.values()):
            return listed
        # Not listed (see the module docstring): read on its own, where a never-published page
        # reads as {} on the published read.
        return self.hook.read_spec_pages(spec)

    def diff(self, item: BulkItem, current: Any) -> Diff:
        changes: Diff = {}
        for path in page_differences(item.spec, current):
            locale, _, field_path = path.rpartition(":")
            fields = current.get(locale or item.spec.get("locale"), {}).get("fields", {})
            expected = item.target.get("fields_by_locale", {}).get(locale) if locale else item.target["fields"]
            old = value_at(fields, field_path)
            name = f"fields.{locale}.{field_path}" if locale else f"fields.{field_path}"
            changes[name] = {"new": value_at(expected, field_path)}
            if old is not _ABSENT:
                changes[name] = {"old": old, **changes[name]}
        return changes

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        return write_each(batch, self._write_one)

    def _write_one(self, planned: PlannedWrite) -> None:
        item, t = planned.item, planned.item.target
        self.hook.update_page(
            item.spec["page_type"], item.spec["page_slug"], fields=t.get("fields"),
            fields_by_locale=t.get("fields_by_locale"), status=t["status"], locale=t.get("locale"),
        )

    def requests_sent(self) -> int:
        return self.hook.request_count

    def redact(self, text: str) -> str:
        return self.hook.redactor.text(text)
