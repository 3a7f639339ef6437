"""ButterCMS completion sensor: wait until a page shows the expected field values.

ButterCMS accepts an update with ``202 {"status": "pending"}`` and applies it later, with no
job id; reading the page is the only way to see that it landed. This sensor applies the one
completion rule (:mod:`airflow_provider_pagemeta.payloads.buttercms`: nested objects key by key,
repeaters whole, per locale). With ``deferrable=True`` it checks once on the worker and then
waits in the triggerer, freeing the worker slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_pagemeta._compat import AirflowException, AirflowSensorTimeout
from airflow_provider_pagemeta.core.convert import to_bool
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.payloads.buttercms import CMS, page_spec
from airflow_provider_pagemeta.triggers.buttercms import default_deferrable, defer_until_confirmed


class ButterCMSPageUpdateSensor(BaseSensorOperator):
    """Wait until a ButterCMS page shows the expected field values.

    :param page_type: page-type slug, or ``*`` to search every type.
    :param page_slug: the page's slug.
    :param expected_fields: field values expected in one locale (``locale``, default the account's).
    :param expected_fields_by_locale: ``{"en": {...}, "es": {...}}``; give this or ``expected_fields``.
    :param locale: the locale to read with ``expected_fields``.
    :param preview: read the latest draft (``True``, default: for updates sent as drafts) or the
        published page (``False``: for updates sent with ``status="published"``, so the sensor
        passes only when visitors see the values; a page not published yet, 404 on that read, is
        waited for). Templated: ``"{{ params.preview }}"`` renders to ``"True"``/``"False"``.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default: Airflow's
        ``[operators] default_deferrable``).
    :param buttercms_conn_id: the ButterCMS connection.

    Returns (XCom) the confirmed page: the Read API ``data`` object, or with
    ``expected_fields_by_locale`` a dict locale -> ``data`` object.
    """

    template_fields: Sequence[str] = (
        "page_type", "page_slug", "expected_fields", "expected_fields_by_locale", "locale", "preview",
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
        preview: bool = True,
        deferrable: bool | None = None,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.page_type = page_type
        self.page_slug = page_slug
        self.expected_fields = expected_fields
        self.expected_fields_by_locale = expected_fields_by_locale
        self.locale = locale
        self.preview = preview
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.buttercms_conn_id = buttercms_conn_id
        #: What the last poke saw still differing, for the timeout message (not the XCom).
        self.last_differing: list[str] = []

    def _spec(self) -> dict[str, Any]:
        return page_spec(
            self.page_type, self.page_slug, expected_fields=self.expected_fields,
            expected_fields_by_locale=self.expected_fields_by_locale, locale=self.locale,
            preview=to_bool(self.preview, "preview", cms=CMS),
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """One read round: done once every expected value shows; the confirmed page is the XCom."""
        check = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id).check_page(self._spec())
        self.last_differing = list(check["differing"])
        if check["differing"]:
            self.log.info("ButterCMS page %s/%s not updated yet; still different: %s",
                          self.page_type, self.page_slug, ", ".join(check["differing"]))
            return PokeReturnValue(is_done=False)
        self.log.info("ButterCMS page %s/%s shows every expected value", self.page_type, self.page_slug)
        return PokeReturnValue(is_done=True, xcom_value=check["page"])

    def execute(self, context: Context) -> Any:
        spec = self._spec()  # validate after templating, before any request
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                raise AirflowSensorTimeout(f"{self._describe(self.last_differing)}: {exc}") from exc
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        defer_until_confirmed(self, [spec], poll_interval=float(self.poke_interval), timeout=float(self.timeout),
                              buttercms_conn_id=self.buttercms_conn_id)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: return the confirmed page, or fail naming page and fields."""
        status = event.get("status")
        if status == "success":
            self.log.info("ButterCMS page %s/%s confirmed by the trigger", self.page_type, self.page_slug)
            return event.get("page")
        message = f"{self._describe(list(event.get('differing') or []))}: {event.get('message', '')}"
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        raise AirflowException(message)

    def _describe(self, differing: list[str]) -> str:
        fields = ", ".join(differing) or "(not read yet)"
        return f"ButterCMS page {self.page_type}/{self.page_slug} did not show the expected values; differing: {fields}"
