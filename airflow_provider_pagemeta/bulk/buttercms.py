"""The ButterCMS half of a bulk run (see :mod:`airflow_provider_pagemeta.bulk.engine`).

Each row is one Write API update; the read it is compared with is the version the update
changes: the draft (``preview=1``) for drafts, the published page for ``status="published"``,
which is also the read a wait confirms it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff, PlannedWrite, WriteResult
from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.exceptions import CMSError, CMSValidationError
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.payloads.buttercms import (
    CMS,
    journal_options,
    page_differences,
    page_spec,
    preview_for,
    spec_locales,
    validate_update,
)

ROW_KEYS = frozenset({"page_type", "page_slug", "fields", "fields_by_locale", "status", "locale"})
_ABSENT = object()


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (``seo.title``) of a page's fields, or ``_ABSENT``."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return _ABSENT
        data = data[part]
    return data


class ButterCMSBulkAdapter:
    """One read per page and locale, one PATCH per page."""

    cms = CMS
    write_batch_size = 1

    def __init__(self, hook: ButterCMSHook) -> None:
        self.hook = hook

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
        return None

    def read(self, item: BulkItem) -> Any:
        spec = item.spec
        return {
            locale: self.hook.get_page(spec["page_type"], spec["page_slug"], locale=locale, preview=spec["preview"])
            for locale in spec_locales(spec)
        }

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
        results: list[WriteResult] = []
        for planned in batch:
            item, t = planned.item, planned.item.target
            try:
                self.hook.update_page(
                    item.spec["page_type"], item.spec["page_slug"], fields=t.get("fields"),
                    fields_by_locale=t.get("fields_by_locale"), status=t["status"], locale=t.get("locale"),
                )
            except CMSError as exc:
                results.append(WriteResult(item, exc))
                continue
            results.append(WriteResult(item))
        return results

    def requests_sent(self) -> int:
        return self.hook.request_count

    def redact(self, text: str) -> str:
        return self.hook.redactor.text(text)
