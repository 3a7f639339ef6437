"""ButterCMS completion trigger: waits in the triggerer until queued page updates show.

A ButterCMS update is a 202 with no job id, so waiting means re-reading pages until the
expected field values appear. Doing that in the triggerer frees the worker slot for the whole
wait. The trigger only reads (the triggerer may run it twice, or resume it elsewhere), never
blocks the event loop (async client, ``await asyncio.sleep``), and watches a list of pages so a
bulk operator can wait for hundreds of pages with one trigger instead of hundreds.

Event payload (one event, then the trigger ends)::

    {"status": "success" | "timeout" | "error", "page_type", "page_slug",
     "differing": ["seo.title", "es:seo.title", ...], "message", "page" (single page, on success)}

With several pages the event also has ``"pages": [{"page_type", "page_slug", "status",
"differing", "message"}]``, and the top-level ``page_type``/``page_slug``/``differing`` describe
the first page that did not succeed (or the first page when all did).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook, page_spec

#: Pages read at the same time: enough to make a large bulk wait quick, few enough not to look
#: like a burst to the CMS.
MAX_CONCURRENT_READS = 10


class ButterCMSPageUpdateTrigger(BaseTrigger):
    """Poll the Read API until every page spec matches, ``end_time`` passes, or a read fails.

    :param pages: page specs as built by :func:`~airflow_provider_pagemeta.hooks.buttercms.page_spec`
        (plain dicts: ``page_type``, ``page_slug`` and ``expected_fields`` + ``locale``, or
        ``expected_fields_by_locale``).
    :param poll_interval: seconds between read rounds.
    :param end_time: absolute deadline, epoch seconds (absolute so a resumed trigger keeps it).
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
        poll_interval: float,
        end_time: float,
        buttercms_conn_id: str = ButterCMSHook.default_conn_name,
    ) -> ButterCMSPageUpdateTrigger:
        """The single-page form the sensor and the operator use (the spec is validated here,
        on the worker, rather than failing later in the triggerer)."""
        spec = page_spec(
            page_type, page_slug, expected_fields=expected_fields,
            expected_fields_by_locale=expected_fields_by_locale, locale=locale,
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
        try:
            payload = await self._watch(hook)
        except Exception as exc:  # one error event, never a crashed trigger
            first = self.pages[0] if self.pages else {}
            message = hook.redactor.text(f"{type(exc).__name__}: {exc}")
            payload = _event("error", first, None, message)
        finally:
            await hook.aclose()
        yield TriggerEvent(payload)

    async def _watch(self, hook: ButterCMSHook) -> dict[str, Any]:
        results: list[dict[str, Any]] = [
            {"status": "pending", "differing": None, "page": None, "message": ""} for _ in self.pages
        ]
        semaphore = asyncio.Semaphore(MAX_CONCURRENT_READS)
        while True:
            pending = [i for i, r in enumerate(results) if r["status"] == "pending"]
            await asyncio.gather(*(self._check(hook, semaphore, i, results[i]) for i in pending))
            still = [i for i, r in enumerate(results) if r["status"] == "pending"]
            if not still:
                return self._final(results, timed_out=False)
            remaining = self.end_time - time.time()
            if remaining <= 0:
                return self._final(results, timed_out=True)
            self.log.info(
                "buttercms: %d of %d page(s) not updated yet; next check in %.1f s",
                len(still), len(results), min(self.poll_interval, remaining),
            )
            await asyncio.sleep(min(self.poll_interval, remaining))

    async def _check(
        self, hook: ButterCMSHook, semaphore: asyncio.Semaphore, index: int, result: dict[str, Any]
    ) -> None:
        async with semaphore:
            try:
                check = await hook.acheck_page(self.pages[index])
            except Exception as exc:
                if len(self.pages) == 1:
                    raise  # a single page: the whole trigger errors with this message
                result.update(status="error", message=hook.redactor.text(str(exc)))
                return
        result["differing"] = check["differing"]
        if not check["differing"]:
            result.update(status="success", page=check["page"])

    def _final(self, results: list[dict[str, Any]], *, timed_out: bool) -> dict[str, Any]:
        if len(self.pages) == 1:
            spec, result = self.pages[0], results[0]
            if result["status"] == "success":
                payload = _event("success", spec, [], "the page shows every expected field value")
                payload["page"] = result["page"]
                return payload
            differing = result["differing"] or []
            return _event("timeout", spec, differing, _timeout_message(spec, differing))
        return self._final_many(results, timed_out)

    def _final_many(self, results: list[dict[str, Any]], timed_out: bool) -> dict[str, Any]:
        entries = [
            {"page_type": spec["page_type"], "page_slug": spec["page_slug"],
             "status": "timeout" if r["status"] == "pending" else r["status"],
             "differing": r["differing"] or [], "message": r["message"]}
            for spec, r in zip(self.pages, results, strict=True)
        ]
        failed = [e for e in entries if e["status"] != "success"]
        status = "timeout" if timed_out else ("error" if failed else "success")
        first = failed[0] if failed else entries[0]
        counts = {s: sum(e["status"] == s for e in entries) for s in ("success", "timeout", "error")}
        message = (
            f"{counts['success']} of {len(entries)} page(s) updated, {counts['timeout']} timed out, "
            f"{counts['error']} failed"
        )
        payload = _event(status, first, first["differing"], message)
        payload["pages"] = entries
        return payload


def _event(status: str, spec: dict[str, Any], differing: list[str] | None, message: str) -> dict[str, Any]:
    return {
        "status": status,
        "page_type": spec.get("page_type"),
        "page_slug": spec.get("page_slug"),
        "differing": list(differing or []),
        "message": message,
    }


def _timeout_message(spec: dict[str, Any], differing: list[str]) -> str:
    return (
        f"page {spec['page_type']}/{spec['page_slug']} still differs in {', '.join(differing) or '(unknown)'} "
        "at the deadline"
    )
