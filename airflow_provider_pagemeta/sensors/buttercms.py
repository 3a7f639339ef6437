"""ButterCMS completion sensor: wait until a page shows the expected field values.

ButterCMS accepts an update with ``202 {"status": "pending"}`` and applies it later, with no
job id; reading the page is the only way to see that it landed. This sensor applies the one
completion rule of :mod:`airflow_provider_pagemeta.hooks.buttercms` (nested objects key by key,
repeaters whole, per locale). With ``deferrable=True`` it checks once on the worker and then
waits in the triggerer, freeing the worker slot.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context

from airflow_provider_pagemeta._compat import AirflowException, AirflowSensorTimeout
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook, page_spec

#: Extra time given to Airflow's own deferral timeout beyond the trigger's deadline, so the
#: trigger's clear "timeout" event (naming the fields) normally wins over a bare TaskDeferralTimeout.
DEFERRAL_MARGIN_S = 60.0


class ButterCMSPageUpdateSensor(BaseSensorOperator):
    """Wait until a ButterCMS page (read with ``preview=1``) shows the expected field values.

    :param page_type: page-type slug, or ``*`` to search every type.
    :param page_slug: the page's slug.
    :param expected_fields: field values expected in one locale (``locale``, default the account's).
    :param expected_fields_by_locale: ``{"en": {...}, "es": {...}}``; give this or ``expected_fields``.
    :param locale: the locale to read with ``expected_fields``.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param buttercms_conn_id: the ButterCMS connection.

    Returns (XCom) the confirmed page: the Read API ``data`` object, or with
    ``expected_fields_by_locale`` a dict locale -> ``data`` object.
    """

    template_fields: Sequence[str] = (
        "page_type", "page_slug", "expected_fields", "expected_fields_by_locale", "locale",
    )
    ui_color = "#fff3c4"

    def __init__(
        self,
        *,
        page_type: str,
        page_slug: str,
        expected_fields: dict[str, Any] | None = None,
        expected_fields_by_locale: dict[str, dict[str, Any]] | None = None,
        locale: str | None = None,
        deferrable: bool = False,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.page_type = page_type
        self.page_slug = page_slug
        self.expected_fields = expected_fields
        self.expected_fields_by_locale = expected_fields_by_locale
        self.locale = locale
        self.deferrable = deferrable
        self.buttercms_conn_id = buttercms_conn_id
        self._hook: ButterCMSHook | None = None
        self._confirmed: Any = None
        self._differing: list[str] = []

    def _spec(self) -> dict[str, Any]:
        return page_spec(
            self.page_type, self.page_slug, expected_fields=self.expected_fields,
            expected_fields_by_locale=self.expected_fields_by_locale, locale=self.locale,
        )

    @property
    def hook(self) -> ButterCMSHook:
        if self._hook is None:
            self._hook = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id)
        return self._hook

    def poke(self, context: Context) -> bool:
        """One read round: True once every expected value shows (the page is kept for XCom)."""
        check = self.hook.check_page(self._spec())
        self._differing = check["differing"]
        if self._differing:
            self.log.info(
                "ButterCMS page %s/%s not updated yet; still different: %s",
                self.page_type, self.page_slug, ", ".join(self._differing),
            )
            return False
        self._confirmed = check["page"]
        self.log.info("ButterCMS page %s/%s shows every expected value", self.page_type, self.page_slug)
        return True

    def execute(self, context: Context) -> Any:
        spec = self._spec()  # validate after templating, before any request
        if not self.deferrable:
            try:
                super().execute(context)
            except AirflowSensorTimeout as exc:
                raise AirflowSensorTimeout(f"{self._describe()}: {exc}") from exc
            return self._confirmed
        if self.poke(context):
            return self._confirmed
        from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

        timeout = float(self.timeout)
        self.defer(
            trigger=ButterCMSPageUpdateTrigger(
                [spec], poll_interval=float(self.poke_interval), end_time=time.time() + timeout,
                buttercms_conn_id=self.buttercms_conn_id,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + max(DEFERRAL_MARGIN_S, 2 * float(self.poke_interval))),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: return the confirmed page, or fail naming page and fields."""
        status = event.get("status")
        if status == "success":
            self.log.info("ButterCMS page %s/%s confirmed by the trigger", self.page_type, self.page_slug)
            return event.get("page")
        self._differing = list(event.get("differing") or [])
        message = f"{self._describe()}: {event.get('message', '')}"
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        raise AirflowException(message)

    def _describe(self) -> str:
        fields = ", ".join(self._differing) or "(not read yet)"
        return f"ButterCMS page {self.page_type}/{self.page_slug} did not show the expected values; differing: {fields}"
