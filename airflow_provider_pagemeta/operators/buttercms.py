"""ButterCMS operators: one page update, many page updates (on the bulk engine).

ButterCMS answers ``202 {"status": "pending"}`` and applies the change later, so "done" can mean
two things: the update was accepted (the default), or it is visible on the page
(``wait_for_completion``, decided by the hook's one wait). The PATCH is sent exactly once per
execution: when the task resumes from the trigger, only ``execute_complete`` runs, and it never
writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import Asset, BaseOperator, Context

from airflow_provider_pagemeta._compat import AirflowException
from airflow_provider_pagemeta.assets import add_alias_outlet, emit_changed_pages
from airflow_provider_pagemeta.bulk.buttercms import ButterCMSBulkAdapter
from airflow_provider_pagemeta.bulk.engine import BulkRunner
from airflow_provider_pagemeta.core.convert import to_bool, to_duration, to_int, to_rows
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.journal.tasks import journal_page, run_journaled
from airflow_provider_pagemeta.links import BUTTERCMS_EDITOR_URL, ButterCMSPageLink, buttercms_page_url, push_page_url
from airflow_provider_pagemeta.payloads.buttercms import CMS, page_spec, preview_for, validate_update
from airflow_provider_pagemeta.triggers.buttercms import default_deferrable, defer_until_confirmed
from airflow_provider_pagemeta.types import BulkSummary, PagesEvent

#: Longest wait a task may ask for (a week): a typo must not hold a slot for a year.
MAX_WAIT_S = 7 * 86400.0


def unconfirmed_message(event: Mapping[str, Any]) -> str:
    """Why a wait did not confirm, naming each page and the fields that still differ."""
    pages = [p for p in event.get("pages") or [] if p.get("status") != "success"] or [event]

    def fields(page: Mapping[str, Any]) -> str:
        return ", ".join(page.get("differing") or []) or "(none read)"

    if len(event.get("pages") or [event]) == 1:
        page = pages[0]
        return (f"ButterCMS update of page {page.get('page_type')}/{page.get('page_slug')} not confirmed: "
                f"{event.get('message', '')}; fields still different: {fields(page)}")
    listed = "; ".join(f"{p.get('page_type')}/{p.get('page_slug')}: {fields(p)}" for p in pages)
    return f"ButterCMS bulk update not confirmed for {len(pages)} page(s): {listed} ({event.get('message', '')})"


class ButterCMSUpdatePageOperator(BaseOperator):
    """Update a ButterCMS page's fields through the Write API (``PATCH``).

    :param page_type: page-type slug, or ``*`` to search every type (403 if the slug is in several).
    :param page_slug: the page's slug (title and slug themselves cannot be changed by the API).
    :param fields: ``{field: value}`` for one locale (``locale``, or the account's default).
        Nested objects are partial; repeaters (lists) must be sent whole.
    :param fields_by_locale: ``{"en": {...}, "es": {...}}`` to update several locales in one call.
        Give exactly one of ``fields`` / ``fields_by_locale``.
    :param status: ``"draft"`` (stage the change) or ``"published"`` (make it live). A published
        update is confirmed on the published read (no ``preview``), a draft on ``preview=1``.
    :param locale: the locale ``fields`` applies to (not with ``fields_by_locale``).
    :param wait_for_completion: after the 202, poll the Read API on the worker until the page
        shows the values sent.
    :param deferrable: wait in the triggerer instead (implies ``wait_for_completion``); defaults to
        Airflow's ``[operators] default_deferrable``.
    :param poll_interval: seconds between reads while waiting.
    :param timeout: seconds to wait for the change to show before failing.
    :param journal: record the change in the change journal: ``True`` (default) the configured
        location, ``False`` none, a string a directory URI. With a journal the page is read (per
        locale) before the PATCH, so the journal's ``old`` is the real value.
    :param buttercms_conn_id: the ButterCMS connection.

    Returns (XCom) the 202 body (``{"status": "pending"}`` plus any ``warnings``) with ``"journal"``
    (the journal's URI, None when off), and when waiting also ``"page"``: the confirmed page
    (``data`` object; per locale with ``fields_by_locale``).
    The page in the ButterCMS editor (``editor_url``), which the task's "ButterCMS page" link
    opens, is pushed as the XCom ``page_url`` (none for ``page_type="*"``).
    Media URLs are re-hosted by ButterCMS, so the read value differs from the URL sent: leave
    media fields out of updates you wait on, or wait with the sensor on the other fields.
    """

    template_fields: Sequence[str] = (
        "page_type", "page_slug", "fields", "fields_by_locale", "status", "locale", "journal",
    )
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
        deferrable: bool | None = None,
        poll_interval: float = 10,
        timeout: float = 600,
        journal: bool | str = True,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.page_type = page_type
        self.page_slug = page_slug
        self.fields = fields
        self.fields_by_locale = fields_by_locale
        self.status = status
        self.locale = locale
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.wait_for_completion = wait_for_completion or self.deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.buttercms_conn_id = buttercms_conn_id

    def _validate(self) -> tuple[dict[str, Any], float, float]:
        """All checks after templating and before any request: the spec to wait on, the poll
        interval and the timeout."""
        validate_update(
            self.page_type, self.page_slug, fields=self.fields, fields_by_locale=self.fields_by_locale,
            status=self.status, locale=self.locale,
        )
        poll = to_duration(self.poll_interval, "poll_interval", maximum=MAX_WAIT_S, cms=CMS)
        timeout = to_duration(self.timeout, "timeout", maximum=MAX_WAIT_S, cms=CMS)
        spec = page_spec(
            self.page_type, self.page_slug, expected_fields=self.fields,
            expected_fields_by_locale=self.fields_by_locale, locale=self.locale, preview=preview_for(self.status),
        )
        return spec, poll, timeout

    def execute(self, context: Context) -> dict[str, Any]:
        spec, poll, timeout = self._validate()
        hook = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id)
        where = f"{self.page_type}/{self.page_slug}"
        page = {"page_type": self.page_type, "page_slug": self.page_slug, "locale": self.locale}
        with journal_page(self, context, cms=CMS, conn_id=self.buttercms_conn_id, page=page, hook=hook) as record:
            if record.uri is not None:  # the values before the write, for the journal's "old"
                record.changes, record.options = self._current_changes(hook)
            accepted = hook.update_page(
                self.page_type, self.page_slug, fields=self.fields, fields_by_locale=self.fields_by_locale,
                status=self.status, locale=self.locale,
            )
        accepted = {**accepted, "journal": record.uri}
        self.log.info("ButterCMS accepted the %s update of page %s: %s", self.status, where, accepted)
        self._push_link(context)
        if not self.wait_for_completion:
            return accepted
        check = hook.check_page(spec)  # once on the worker: defer only if there is something to wait for
        if not check["differing"]:
            self.log.info("ButterCMS page %s already shows the update", where)
            return {**accepted, "page": check["page"]}
        if self.deferrable:
            defer_until_confirmed(self, [spec], poll_interval=poll, timeout=timeout,
                                  buttercms_conn_id=self.buttercms_conn_id, kwargs={"accepted": accepted})
        event = hook.wait_for_pages([spec], poll_interval=poll, timeout=timeout, log_progress=self.log.info)
        return self.execute_complete(context, event=event, accepted=accepted)

    def _current_changes(self, hook: ButterCMSHook) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """What the update will change, from the version it changes (the draft, or the published
        page for ``status="published"``): the bulk adapter's read and diff, for one row."""
        adapter = ButterCMSBulkAdapter(hook)
        row = {key: value for key, value in (("page_type", self.page_type), ("page_slug", self.page_slug),
                                             ("fields", self.fields), ("fields_by_locale", self.fields_by_locale),
                                             ("status", self.status), ("locale", self.locale)) if value is not None}
        [item] = adapter.prepare([row])
        return adapter.diff(item, adapter.read(item)), item.options

    def _push_link(self, context: Context) -> None:
        push_page_url(context, buttercms_page_url(self.page_type, self.page_slug, self.editor_url))

    def execute_complete(
        self, context: Context, event: PagesEvent | dict[str, Any], accepted: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The end of a wait, in place or after the trigger; never re-sends the update."""
        self._push_link(context)  # again: the resumed execution is the one whose XComs count
        if event.get("status") == "success":
            self.log.info("ButterCMS page %s/%s shows the update", self.page_type, self.page_slug)
            return {**(accepted or {}), "page": event.get("page")}
        raise AirflowException(unconfirmed_message(event))


class ButterCMSBulkUpdatePagesOperator(BaseOperator):
    """Update many ButterCMS pages in one task, on the shared bulk engine.

    :param updates: a list of dicts (or an XComArg / a template rendering to a list), each with
        ``page_type``, ``page_slug``, ``fields`` or ``fields_by_locale``, and optional ``status``
        (default ``draft``) and ``locale``. Every row is validated before the first request.
    :param skip_unchanged: read each page first and send no write for a page that already shows
        the values; this is also what makes a retried task resume without re-sending what an
        earlier try applied. Current values come from List Pages, 100 pages per call, per page
        type, locale and read (draft or published): N pages of one type cost ceil(N/100) calls of
        the plan's monthly quota, not N. Rows with ``page_type="*"``, and pages the listing does
        not hold, are read singly.
    :param dry_run: send no write; return and log the per-page diff (field: old -> new).
    :param max_failures: how many pages may fail before the task fails (after all were tried).
    :param wait_for_completion: after the 202s, confirm every written page with ONE poller over
        the whole set; ``deferrable=True`` does it with one trigger in the triggerer (default:
        Airflow's ``[operators] default_deferrable``).
    :param poll_interval: seconds between read rounds while waiting.
    :param timeout: seconds to wait for all pages to show their updates.
    :param changed_pages_asset: an ``Asset`` (or its name) that gets ONE event per run in which at
        least one page was accepted for update, its ``extra`` listing those pages (``{"cms",
        "changed_pages", "counts"}``); emitted when the task succeeds (after confirmation when
        waiting); a run that changed nothing, or a dry run, emits none (see
        :mod:`airflow_provider_pagemeta.assets`).
    :param journal: record every page's change in the change journal: ``True`` (default) the
        configured location, ``False`` none, a string a directory URI.

    Returns (XCom) the bulk summary: ``total, updated, unchanged, failed, skipped, failures,
    requests, changed_pages, journal`` (+ ``changes`` on a dry run, + ``confirmed`` when waiting).
    """

    template_fields: Sequence[str] = ("updates", "dry_run", "skip_unchanged", "max_failures", "journal")
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
        deferrable: bool | None = None,
        poll_interval: float = 10,
        timeout: float = 600,
        changed_pages_asset: Asset | str | None = None,
        journal: bool | str = True,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.changed_pages_asset = add_alias_outlet(self, changed_pages_asset, CMS)
        self.updates = updates
        self.max_failures = max_failures
        self.dry_run = dry_run
        self.skip_unchanged = skip_unchanged
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.wait_for_completion = wait_for_completion or self.deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.buttercms_conn_id = buttercms_conn_id

    def execute(self, context: Context) -> BulkSummary:
        rows = to_rows(self.updates)
        max_failures = to_int(self.max_failures, "max_failures", cms=CMS)
        poll = to_duration(self.poll_interval, "poll_interval", maximum=MAX_WAIT_S, cms=CMS)
        timeout = to_duration(self.timeout, "timeout", maximum=MAX_WAIT_S, cms=CMS)
        dry_run = to_bool(self.dry_run, "dry_run", cms=CMS)
        hook = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id)
        runner = BulkRunner(
            ButterCMSBulkAdapter(hook, log=self.log.info),
            skip_unchanged=to_bool(self.skip_unchanged, "skip_unchanged", cms=CMS),
            dry_run=dry_run, max_failures=max_failures, log=self.log.info,
            pacer=hook.pacer,  # also looks the connection up now: a missing one fails the task, not each page
        )
        summary = run_journaled(self, context, runner, rows, conn_id=self.buttercms_conn_id)
        if dry_run or not self.wait_for_completion or not runner.changed:
            return self._done(context, summary, runner.changed)
        changed = set(runner.changed)
        specs = [item.spec for item in runner.items if item.key in changed]
        if self.deferrable:
            defer_until_confirmed(self, specs, poll_interval=poll, timeout=timeout,
                                  buttercms_conn_id=self.buttercms_conn_id,
                                  kwargs={"summary": summary, "changed": runner.changed})
        event = hook.wait_for_pages(specs, poll_interval=poll, timeout=timeout, log_progress=self.log.info)
        return self.execute_complete(context, event=event, summary=summary, changed=runner.changed)

    def _done(self, context: Context, summary: BulkSummary, changed: Sequence[str]) -> BulkSummary:
        """Every successful end of the task goes through here, so the asset event is added exactly
        once, by the execution that returns (after a deferral that is ``execute_complete``)."""
        emit_changed_pages(self, context, self.changed_pages_asset, summary, CMS, changed)
        return summary

    def execute_complete(
        self,
        context: Context,
        event: PagesEvent | dict[str, Any],
        summary: BulkSummary | None = None,
        changed: Sequence[str] | None = None,
    ) -> BulkSummary:
        """The end of the wait, in place or after the trigger; never re-sends an update."""
        if event.get("status") == "success":
            confirmed = dict(summary or {})
            confirmed["confirmed"] = len(event.get("pages") or [])
            return self._done(context, confirmed, changed or confirmed.get("changed_pages") or [])  # type: ignore[arg-type]
        raise AirflowException(unconfirmed_message(event))
