"""ButterCMS completion trigger: waits in the triggerer until queued page updates show.

A ButterCMS update is a 202 with no job id, so waiting means re-reading pages until the
expected field values appear. Doing that in the triggerer frees the worker slot for the whole
wait. The trigger only reads (the triggerer may run it twice, or resume it elsewhere): the
waiting itself is :meth:`ButterCMSHook.await_pages
<airflow_provider_pagemeta.hooks.buttercms.ButterCMSHook.await_pages>`, the same rule and the same
event shape as a wait on a worker. It watches a list of pages, so a bulk operator waits for
hundreds of pages with one trigger instead of hundreds.

Event payload (one event, then the trigger ends): a
:class:`~airflow_provider_pagemeta.types.PagesEvent` —
``{"status": "success" | "timeout" | "error", "page_type", "page_slug", "differing", "message",
"pages": [...], "page" (single page, on success)}``.

:func:`defer_until_confirmed` is the one way the operators and the sensor defer to it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pagemeta.core.errors import bounded
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.payloads.buttercms import page_spec

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

#: Extra time given to Airflow's own deferral timeout beyond the trigger's deadline, so the
#: trigger's clear "timeout" event (naming the fields) normally wins over a bare TaskDeferralTimeout.
DEFERRAL_MARGIN_S = 60.0


class ButterCMSPageUpdateTrigger(BaseTrigger):
    """Poll the Read API until every page spec matches, ``end_time`` passes, or a read fails.

    :param pages: page specs as built by :func:`~airflow_provider_pagemeta.payloads.buttercms.page_spec`
        (plain dicts: ``page_type``, ``page_slug``, ``preview`` and ``expected_fields`` + ``locale``,
        or ``expected_fields_by_locale``).
    :param poll_interval: seconds between read rounds.
    :param end_time: absolute deadline, epoch seconds (absolute so a resumed trigger keeps it);
        met even while a read hangs.
    :param buttercms_conn_id: the connection to read with (its read token when set).
    """

    def __init__(
        self,
        pages: list[dict[str, Any]],
        poll_interval: float,
        end_time: float,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
    ) -> None:
        super().__init__()
        self.pages = [dict(p) for p in pages]
        self.poll_interval = float(poll_interval)
        self.end_time = float(end_time)
        self.buttercms_conn_id = buttercms_conn_id

    @classmethod
    def for_page(
        cls,
        page_type: str,
        page_slug: str,
        *,
        expected_fields: dict[str, Any] | None = None,
        expected_fields_by_locale: dict[str, dict[str, Any]] | None = None,
        locale: str | None = None,
        preview: bool = True,
        poll_interval: float,
        end_time: float,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
    ) -> ButterCMSPageUpdateTrigger:
        """The single-page form (the spec is validated here, on the worker, rather than failing
        later in the triggerer)."""
        spec = page_spec(
            page_type, page_slug, expected_fields=expected_fields,
            expected_fields_by_locale=expected_fields_by_locale, locale=locale, preview=preview,
        )
        return cls([spec], poll_interval=poll_interval, end_time=end_time, buttercms_conn_id=buttercms_conn_id)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "pages": [dict(p) for p in self.pages],
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "buttercms_conn_id": self.buttercms_conn_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = ButterCMSHook(buttercms_conn_id=self.buttercms_conn_id)
        self.log.info("Waiting for %d ButterCMS page(s) to show the update, reading every %s s until %s",
                      len(self.pages), self.poll_interval,
                      time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.end_time)))
        try:
            payload: Mapping[str, Any] = await hook.await_pages(
                self.pages, poll_interval=self.poll_interval, end_time=self.end_time
            )
        except Exception as exc:  # one error event, never a crashed trigger
            first = self.pages[0] if self.pages else {}
            payload = {
                "status": "error", "page_type": first.get("page_type"), "page_slug": first.get("page_slug"),
                "differing": [], "message": bounded(hook.redactor.text(f"{type(exc).__name__}: {exc}")),
                "pages": [],
            }
        finally:
            await hook.aclose()
        # The status and the differing fields, never values: a page field may hold anything.
        self.log.info("ButterCMS wait ended: %s (differing: %s)", payload.get("status"),
                      list(payload.get("differing") or [])[:20])
        yield TriggerEvent(dict(payload))


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``: a deployment decides once where waits run."""
    from airflow.providers.common.compat.sdk import conf

    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def defer_until_confirmed(
    operator: BaseOperator,
    specs: Sequence[dict[str, Any]],
    *,
    poll_interval: float,
    timeout: float,
    buttercms_conn_id: str,
    kwargs: dict[str, Any] | None = None,
    method_name: str = "execute_complete",
) -> NoReturn:
    """Hand the wait to the triggerer; Airflow resumes ``operator.<method_name>(context, event=...)``."""
    operator.log.info("Deferring: the triggerer reads %d page(s) every %s s for up to %s s",
                      len(specs), poll_interval, timeout)
    operator.defer(
        trigger=ButterCMSPageUpdateTrigger(
            list(specs), poll_interval=poll_interval, end_time=time.time() + timeout,
            buttercms_conn_id=buttercms_conn_id,
        ),
        method_name=method_name,
        kwargs=kwargs,
        timeout=timedelta(seconds=timeout + max(DEFERRAL_MARGIN_S, 2 * poll_interval)),
    )
    raise AssertionError("unreachable: BaseOperator.defer raises TaskDeferred")
