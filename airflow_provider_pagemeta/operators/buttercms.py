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
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowException

from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook, page_spec, validate_update

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
    Media URLs are re-hosted by ButterCMS, so the read value differs from the URL sent: leave
    media fields out of updates you wait on, or wait with the sensor on the other fields.
    """

    template_fields: Sequence[str] = ("page_type", "page_slug", "fields", "fields_by_locale", "status", "locale")
    ui_color = "#fff3c4"

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
        if not self.wait_for_completion:
            return accepted
        check = hook.check_page(spec)
        if not check["differing"]:
            self.log.info("ButterCMS page %s already shows the update", where)
            return {**accepted, "page": check["page"]}
        if self.deferrable:
            self._defer(spec, accepted)
        return {**accepted, "page": self._wait_in_place(hook, spec, check["differing"])}

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
        if event.get("status") == "success":
            self.log.info("ButterCMS page %s/%s confirmed by the trigger", self.page_type, self.page_slug)
            return {**(accepted or {}), "page": event.get("page")}
        raise AirflowException(self._failure(list(event.get("differing") or []), str(event.get("message", ""))))

    def _failure(self, differing: list[str], what: str) -> str:
        return (
            f"ButterCMS update of page {self.page_type}/{self.page_slug} not confirmed: {what}; "
            f"fields still different: {', '.join(differing) or '(none read)'}"
        )
