"""ButterCMS operators.

:class:`ButterCMSUpdatePageOperator` sends one Write API update. ButterCMS answers ``202
{"status": "pending"}`` and applies the change later, so "done" can mean two things: the update
was accepted (the default), or it is visible on the page (``wait_for_completion``, decided by the
shared completion rule of :mod:`airflow_provider_pagemeta.hooks.buttercms`). The PATCH is sent
exactly once per execution: when the task resumes from the trigger, only ``execute_complete``
runs, and it never writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, BaseOperator, Context

from airflow_provider_pagemeta._compat import AirflowException
from airflow_provider_pagemeta.bulk import BulkItem, BulkRunner, Diff, WriteResult, non_negative_int, rows_from
from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.exceptions import CMSError, CMSValidationError
from airflow_provider_pagemeta.hooks.buttercms import (
    ButterCMSHook,
    page_differences,
    page_spec,
    spec_locales,
    validate_update,
)
from airflow_provider_pagemeta.links import BUTTERCMS_EDITOR_URL, ButterCMSPageLink, buttercms_page_url, push_page_url
from airflow_provider_pagemeta.operators.changed_pages import add_alias_outlet, emit_changed_pages

#: Extra time given to Airflow's deferral timeout beyond the trigger's own deadline, so the
#: trigger's "timeout" event (which names the fields) normally arrives first.
DEFERRAL_MARGIN_S = 60.0


def _positive_number(value: Any, argument: str) -> float:
    if not v.is_finite_number(value) or value <= 0:
        raise v.fail(f"{argument} must be a positive number of seconds, got {value!r}", argument, "buttercms")
    return float(value)


class ButterCMSUpdatePageOperator(BaseOperator):
    """Update a ButterCMS page's fields through the Write API (``PATCH``).

    :param page_type: page-type slug, or ``*`` to search every type (403 if the slug is in several).
    :param page_slug: the page's slug (title and slug themselves cannot be changed by the API).
    :param fields: ``{field: value}`` for one locale (``locale``, or the account's default).
        Nested objects are partial; repeaters (lists) must be sent whole.
    :param fields_by_locale: ``{"en": {...}, "es": {...}}`` to update several locales in one call.
        Give exactly one of ``fields`` / ``fields_by_locale``.
    :param status: ``"draft"`` (stage the change) or ``"published"`` (make it live).
    :param locale: the locale ``fields`` applies to (not with ``fields_by_locale``).
    :param wait_for_completion: after the 202, poll the Read API on the worker until the page
        shows the values sent.
    :param deferrable: wait in the triggerer instead (implies ``wait_for_completion``).
    :param poll_interval: seconds between reads while waiting.
    :param timeout: seconds to wait for the change to show before failing.
    :param buttercms_conn_id: the ButterCMS connection.

    Returns (XCom) the 202 body (``{"status": "pending"}`` plus any ``warnings``), and when waiting
    also ``"page"``: the confirmed page (``data`` object; per locale with ``fields_by_locale``).
    The page in the ButterCMS editor (``editor_url``), which the task's "ButterCMS page" link
    opens, is pushed as the XCom ``page_url`` (none for ``page_type="*"``).
    Media URLs are re-hosted by ButterCMS, so the read value differs from the URL sent: leave
    media fields out of updates you wait on, or wait with the sensor on the other fields.
    """

    template_fields: Sequence[str] = ("page_type", "page_slug", "fields", "fields_by_locale", "status", "locale")
    ui_color = "#fff3c4"
    operator_extra_links = (ButterCMSPageLink(),)
    #: Where the link points: ButterCMS does not document its editor's URLs, so this pattern is an
    #: assumption; set it (on the class or an instance) to match what your dashboard shows.
    editor_url: str = BUTTERCMS_EDITOR_URL

    def __init__(
        self,
        *,
        page_type: str,
        page_slug: str,
        fields: dict[str, Any] | None = None,
        fields_by_locale: dict[str, dict[str, Any]] | None = None,
        status: str = "draft",
        locale: str | None = None,
        wait_for_completion: bool = False,
        deferrable: bool = False,
        poll_interval: float = 10,
        timeout: float = 600,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.page_type = page_type
        self.page_slug = page_slug
        self.fields = fields
        self.fields_by_locale = fields_by_locale
        self.status = status
        self.locale = locale
        self.deferrable = deferrable
        self.wait_for_completion = wait_for_completion or deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.buttercms_conn_id = buttercms_conn_id

    def _validate(self) -> dict[str, Any]:
        """All checks after templating and before any request; returns the page spec to wait on."""
        validate_update(
            self.page_type, self.page_slug, fields=self.fields, fields_by_locale=self.fields_by_locale,
            status=self.status, locale=self.locale,
        )
        _positive_number(self.poll_interval, "poll_interval")
        _positive_number(self.timeout, "timeout")
        return page_spec(
            self.page_type, self.page_slug, expected_fields=self.fields,
            expected_fields_by_locale=self.fields_by_locale, locale=self.locale,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        spec = self._validate()
        hook = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id)
        where = f"{self.page_type}/{self.page_slug}"
        accepted = hook.update_page(
            self.page_type, self.page_slug, fields=self.fields, fields_by_locale=self.fields_by_locale,
            status=self.status, locale=self.locale,
        )
        self.log.info("ButterCMS accepted the %s update of page %s: %s", self.status, where, accepted)
        self._push_link(context)
        if not self.wait_for_completion:
            return accepted
        check = hook.check_page(spec)
        if not check["differing"]:
            self.log.info("ButterCMS page %s already shows the update", where)
            return {**accepted, "page": check["page"]}
        if self.deferrable:
            self._defer(spec, accepted)
        return {**accepted, "page": self._wait_in_place(hook, spec, check["differing"])}

    def _push_link(self, context: Context) -> None:
        push_page_url(context, buttercms_page_url(self.page_type, self.page_slug, self.editor_url))

    def _defer(self, spec: dict[str, Any], accepted: dict[str, Any]) -> None:
        from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

        self.log.info("Deferring: the triggerer will read page %s/%s every %s s",
                      self.page_type, self.page_slug, self.poll_interval)
        self.defer(
            trigger=ButterCMSPageUpdateTrigger(
                [spec], poll_interval=float(self.poll_interval), end_time=time.time() + float(self.timeout),
                buttercms_conn_id=self.buttercms_conn_id,
            ),
            method_name="execute_complete",
            kwargs={"accepted": accepted},
            timeout=timedelta(seconds=float(self.timeout) + max(DEFERRAL_MARGIN_S, 2 * float(self.poll_interval))),
        )

    def _wait_in_place(self, hook: ButterCMSHook, spec: dict[str, Any], differing: list[str]) -> Any:
        deadline = time.monotonic() + float(self.timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AirflowException(self._failure(differing, "timed out waiting for the update to show"))
            self.log.info("Page %s/%s not updated yet (%s); next read in %.1f s",
                          self.page_type, self.page_slug, ", ".join(differing), min(self.poll_interval, remaining))
            time.sleep(min(float(self.poll_interval), remaining))
            check = hook.check_page(spec)
            differing = check["differing"]
            if not differing:
                self.log.info("ButterCMS page %s/%s shows the update", self.page_type, self.page_slug)
                return check["page"]

    def execute_complete(
        self, context: Context, event: dict[str, Any], accepted: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger; never re-sends the update."""
        self._push_link(context)  # again: the resumed execution is the one whose XComs count
        if event.get("status") == "success":
            self.log.info("ButterCMS page %s/%s confirmed by the trigger", self.page_type, self.page_slug)
            return {**(accepted or {}), "page": event.get("page")}
        raise AirflowException(self._failure(list(event.get("differing") or []), str(event.get("message", ""))))

    def _failure(self, differing: list[str], what: str) -> str:
        return (
            f"ButterCMS update of page {self.page_type}/{self.page_slug} not confirmed: {what}; "
            f"fields still different: {', '.join(differing) or '(none read)'}"
        )


# ---------------------------------------------------------------------- bulk
BULK_ROW_KEYS = frozenset({"page_type", "page_slug", "fields", "fields_by_locale", "status", "locale"})


def _value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (``seo.title``) of a page's fields, or None when absent."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


class ButterCMSBulkAdapter:
    """The ButterCMS half of a bulk run (see :mod:`airflow_provider_pagemeta.bulk`).

    ButterCMS has no cheap way to read many pages at once, so current values cost one read per
    page and locale; that is still cheaper than a write that would have changed nothing, and it
    is what lets a retried task skip the pages an earlier try already updated.
    """

    cms = "buttercms"

    def __init__(self, hook: ButterCMSHook) -> None:
        self.hook = hook

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        if not isinstance(rows, (list, tuple)):
            raise v.fail(f"updates must be a list of dicts, got {type(rows).__name__}", "updates", self.cms)
        items: list[BulkItem] = []
        seen: dict[tuple[str, str, str], int] = {}
        for index, row in enumerate(rows):
            item = self._prepare_row(index, row)
            for locale in spec_locales(item.spec):
                key = (str(item.spec["page_type"]), str(item.spec["page_slug"]), str(locale))
                if key in seen:
                    raise v.fail(
                        f"updates[{index}] updates the same page and locale as updates[{seen[key]}] "
                        f"({key[0]}/{key[1]}, locale {locale or 'default'}); merge the two rows",
                        f"updates[{index}]", self.cms,
                    )
                seen[key] = index
            items.append(item)
        return items

    def _prepare_row(self, index: int, row: Any) -> BulkItem:
        where = f"updates[{index}]"
        if not isinstance(row, dict):
            raise v.fail(f"{where} must be a dict, got {type(row).__name__}", where, self.cms)
        v.check_keys(row, BULK_ROW_KEYS, where, cms=self.cms)
        try:
            validate_update(
                row.get("page_type"), row.get("page_slug"), fields=row.get("fields"),
                fields_by_locale=row.get("fields_by_locale"), status=row.get("status", "draft"),
                locale=row.get("locale"),
            )
            spec = page_spec(
                row.get("page_type"), row.get("page_slug"), expected_fields=row.get("fields"),
                expected_fields_by_locale=row.get("fields_by_locale"), locale=row.get("locale"),
            )
        except CMSValidationError as exc:
            raise v.fail(f"{where}: {exc.message}", f"{where}.{exc.argument}", self.cms) from None
        key = f"{row['page_type']}/{row['page_slug']}"
        if row.get("locale"):
            key += f"@{row['locale']}"
        target = {k: row[k] for k in ("fields", "fields_by_locale", "locale") if row.get(k) is not None}
        target["status"] = row.get("status", "draft")
        return BulkItem(index=index, key=key, target=target, spec=spec)

    def read_current(self, items: Sequence[BulkItem]) -> Iterator[tuple[BulkItem, Any, CMSError | None]]:
        for item in items:
            spec = item.spec
            try:
                pages = {
                    locale: self.hook.get_page(spec["page_type"], spec["page_slug"], locale=locale)
                    for locale in spec_locales(spec)
                }
            except CMSError as exc:
                yield item, None, exc
                continue
            yield item, pages, None

    def diff(self, item: BulkItem, current: Any) -> Diff:
        changes: Diff = {}
        for path in page_differences(item.spec, current):
            locale, _, field_path = path.rpartition(":")
            fields = current.get(locale or item.spec.get("locale"), {}).get("fields", {})
            expected = item.target.get("fields_by_locale", {}).get(locale) if locale else item.target["fields"]
            changes[path] = {"old": _value_at(fields, field_path), "new": _value_at(expected, field_path)}
        return changes

    def write(self, items: Sequence[BulkItem]) -> Iterator[WriteResult]:
        for item in items:
            t = item.target
            try:
                self.hook.update_page(
                    item.spec["page_type"], item.spec["page_slug"], fields=t.get("fields"),
                    fields_by_locale=t.get("fields_by_locale"), status=t["status"], locale=t.get("locale"),
                )
            except CMSError as exc:
                yield WriteResult(item, exc)
                continue
            yield WriteResult(item)

    def requests_sent(self) -> int:
        return self.hook.request_count


class ButterCMSBulkUpdatePagesOperator(BaseOperator):
    """Update many ButterCMS pages in one task, on the shared bulk engine.

    :param updates: a list of dicts (or an XComArg / a template rendering to a list), each with
        ``page_type``, ``page_slug``, ``fields`` or ``fields_by_locale``, and optional ``status``
        (default ``draft``) and ``locale``. Every row is validated before the first request.
    :param skip_unchanged: read each page first (one read per page and locale) and send no write
        for a page that already shows the values; this is also what makes a retried task resume
        without re-sending what an earlier try applied.
    :param dry_run: send no write; return and log the per-page diff (field: old -> new).
    :param max_failures: how many pages may fail before the task fails (after all were tried).
    :param wait_for_completion: after the 202s, confirm every written page with ONE poller over
        the whole set; ``deferrable=True`` does it with one trigger in the triggerer.
    :param poll_interval: seconds between read rounds while waiting.
    :param timeout: seconds to wait for all pages to show their updates.
    :param changed_pages_asset: an ``Asset`` (or its name) that gets ONE event per run in which at
        least one page was accepted for update, its ``extra`` listing those pages (``{"cms",
        "changed_pages", "counts"}``); emitted when the task succeeds (after confirmation when
        waiting); a run that changed nothing, or a dry run, emits none (see
        :mod:`airflow_provider_pagemeta.operators.changed_pages`).

    Returns (XCom) the bulk summary: ``total, updated, unchanged, failed, skipped, failures,
    requests, changed_pages`` (+ ``changes`` on a dry run, + ``confirmed`` when waiting).
    """

    template_fields: Sequence[str] = ("updates", "dry_run", "skip_unchanged", "max_failures")
    ui_color = "#fff3c4"
    # The contract names this argument ``dry_run``; it shadows BaseOperator.dry_run(), a method
    # Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]

    def __init__(
        self,
        *,
        updates: Any,
        max_failures: int = 0,
        dry_run: bool = False,
        skip_unchanged: bool = True,
        wait_for_completion: bool = False,
        deferrable: bool = False,
        poll_interval: float = 10,
        timeout: float = 600,
        changed_pages_asset: Asset | str | None = None,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.changed_pages_asset = add_alias_outlet(self, changed_pages_asset, "buttercms")
        self.updates = updates
        self.max_failures = max_failures
        self.dry_run = dry_run
        self.skip_unchanged = skip_unchanged
        self.deferrable = deferrable
        self.wait_for_completion = wait_for_completion or deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.buttercms_conn_id = buttercms_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        rows = rows_from(self.updates)
        max_failures = non_negative_int(self.max_failures, "max_failures", "buttercms")
        _positive_number(self.poll_interval, "poll_interval")
        _positive_number(self.timeout, "timeout")
        hook = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id)
        adapter = ButterCMSBulkAdapter(hook)
        dry_run = v.as_bool(self.dry_run, "dry_run", cms="buttercms")
        runner = BulkRunner(
            adapter, skip_unchanged=v.as_bool(self.skip_unchanged, "skip_unchanged", cms="buttercms"),
            dry_run=dry_run, max_failures=max_failures, log=self.log.info,
        )
        summary = runner.run(rows)
        if dry_run or not self.wait_for_completion or not summary["changed_pages"]:
            return self._done(context, summary)
        changed = set(summary["changed_pages"])
        specs = {item.key: item.spec for item in adapter.prepare(rows) if item.key in changed}
        if self.deferrable:
            self._defer(list(specs.values()), summary)
        return self._done(context, self._confirm_in_place(hook, specs, summary))

    def _done(self, context: Context, summary: dict[str, Any]) -> dict[str, Any]:
        """Every successful end of the task goes through here, so the asset event is added exactly
        once, by the execution that returns (after a deferral that is ``execute_complete``)."""
        emit_changed_pages(self, context, self.changed_pages_asset, summary, "buttercms")
        return summary

    def _defer(self, specs: list[dict[str, Any]], summary: dict[str, Any]) -> None:
        from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

        self.log.info("Deferring: one trigger confirms %d page(s) every %s s", len(specs), self.poll_interval)
        self.defer(
            trigger=ButterCMSPageUpdateTrigger(
                specs, poll_interval=float(self.poll_interval), end_time=time.time() + float(self.timeout),
                buttercms_conn_id=self.buttercms_conn_id,
            ),
            method_name="execute_complete",
            kwargs={"summary": summary},
            timeout=timedelta(seconds=float(self.timeout) + max(DEFERRAL_MARGIN_S, 2 * float(self.poll_interval))),
        )

    def _confirm_in_place(
        self, hook: ButterCMSHook, specs: dict[str, dict[str, Any]], summary: dict[str, Any]
    ) -> dict[str, Any]:
        """One poller over the whole set: each round re-reads only the pages still pending."""
        deadline = time.monotonic() + float(self.timeout)
        pending = dict(specs)
        differing: dict[str, list[str]] = {}
        while True:
            for key, spec in list(pending.items()):
                check = hook.check_page(spec)
                if check["differing"]:
                    differing[key] = check["differing"]
                else:
                    pending.pop(key)
                    differing.pop(key, None)
            self.log.info("ButterCMS: %d/%d page(s) confirmed", len(specs) - len(pending), len(specs))
            if not pending:
                return {**summary, "confirmed": len(specs)}
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AirflowException(_unconfirmed_message(differing))
            time.sleep(min(float(self.poll_interval), remaining))

    def execute_complete(
        self, context: Context, event: dict[str, Any], summary: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger; never re-sends an update."""
        pages = event.get("pages") or [event]
        if event.get("status") == "success":
            return self._done(context, {**(summary or {}), "confirmed": len(pages)})
        differing = {
            f"{p.get('page_type')}/{p.get('page_slug')}": list(p.get("differing") or [])
            for p in pages if p.get("status") != "success"
        }
        raise AirflowException(f"{_unconfirmed_message(differing)} ({event.get('message', '')})")


def _unconfirmed_message(differing: dict[str, list[str]]) -> str:
    listed = "; ".join(f"{page}: {', '.join(fields) or '(unread)'}" for page, fields in sorted(differing.items()))
    return f"ButterCMS bulk update not confirmed for {len(differing)} page(s): {listed}"
