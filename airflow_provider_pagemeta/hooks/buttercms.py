"""ButterCMS hook: the Write API update, the Read API reads, and the one wait for queued updates.

A ButterCMS update is a ``202`` with no job id, so "done" means "the Read API shows the values".
The rule for that lives in :mod:`airflow_provider_pagemeta.payloads.buttercms`; the waiting lives
here, once for each transport: :meth:`ButterCMSHook.wait_for_pages` (on a worker: the operators'
``wait_for_completion``) and :meth:`ButterCMSHook.await_pages` (in the triggerer: the deferrable
operators and sensor). Both return the same :class:`~airflow_provider_pagemeta.types.PagesEvent`,
so a wait in place and a deferred wait end the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.core.convert import to_int
from airflow_provider_pagemeta.core.errors import bounded
from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paging import Paging
from airflow_provider_pagemeta.core.paths import join
from airflow_provider_pagemeta.exceptions import CMSInvalidResponseError, CMSNotFoundError
from airflow_provider_pagemeta.payloads.buttercms import (
    ANY_PAGE_TYPE,
    CMS,
    LIST_PAGE_SIZE_MAX,
    check_result,
    list_path,
    page_path,
    spec_locales,
    validate_update,
)
from airflow_provider_pagemeta.types import PageResult, PagesEvent

log = logging.getLogger(__name__)

#: Pages read at the same time while waiting in the triggerer: enough to make a large bulk wait
#: quick, few enough not to look like a burst to the CMS.
MAX_CONCURRENT_READS = 10


class ButterCMSHook(PageMetaHook):
    """Talks to the ButterCMS API with the token from the connection's password.

    Writes use the password (a write-enabled token). Reads use the extra ``read_token`` when
    set, else the password: the read token is the one ButterCMS hands out to every account, and
    keeping polls on it means a leaked poll log would expose the lesser token.

    :param buttercms_conn_id: the Airflow connection id (conn type ``buttercms``).
    """

    conn_name_attr = "buttercms_conn_id"
    default_conn_name = "buttercms_default"
    conn_type = CMS
    hook_name = "ButterCMS"

    cms: ClassVar[str] = CMS
    default_base_url: ClassVar[str | None] = "https://api.buttercms.com"
    auth_scheme: ClassVar[str] = "Token"
    cms_extras: ClassVar[dict[str, Any]] = {"read_token": None}

    def __init__(self, buttercms_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(buttercms_conn_id, **kwargs)
        self.buttercms_conn_id = buttercms_conn_id

    # ------------------------------------------------------------------ params and tokens
    @staticmethod
    def _read_params(locale: Any, preview: Any) -> dict[str, Any]:
        v.require_bool(preview, "preview", cms=CMS)
        locale = v.optional_str(locale, "locale", cms=CMS)
        params: dict[str, Any] = {}
        if preview:
            params["preview"] = 1
        if locale is not None:
            params["locale"] = locale
        return params

    def _read_token(self) -> str | None:
        token = self.settings.extras.get("read_token")
        return token if isinstance(token, str) and token else None

    async def _aread_token(self) -> str | None:
        token = (await self.asettings()).extras.get("read_token")
        return token if isinstance(token, str) and token else None

    # ------------------------------------------------------------------ calls
    def update_page(
        self,
        page_type: str,
        page_slug: str,
        *,
        fields: Mapping[str, Any] | None = None,
        fields_by_locale: Mapping[str, Mapping[str, Any]] | None = None,
        status: str = "draft",
        locale: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH /v2/pages/{type}/{slug}/``: queue a partial update; returns the 202 body.

        The 202 only means "validated and queued": the change shows up later (see
        :meth:`wait_for_pages`). Warnings in the body (ignored keys) are logged.
        """
        path, body, params = validate_update(
            page_type, page_slug, fields=fields, fields_by_locale=fields_by_locale, status=status, locale=locale
        )
        reply, result = self.request_json_response("PATCH", path, call="update_page", params=params, json_body=body)
        if reply.status_code != 202:
            log.warning("buttercms update_page: expected 202 Accepted, got %s", reply.status_code)
        warnings = result.get("warnings")
        for warning in warnings[:20] if isinstance(warnings, list) else []:
            log.warning("buttercms update_page %s/%s: %s", page_type, page_slug,
                        bounded(self.redactor.text(str(warning))))
        return dict(result)

    def get_page(
        self, page_type: str, page_slug: str, *, locale: str | None = None, preview: bool = True
    ) -> dict[str, Any]:
        """Read API ``GET /v2/pages/{type}/{slug}/``; returns the ``data`` object.

        ``preview=True`` by default because a draft update is only visible with ``preview=1``.
        """
        path = page_path(page_type, page_slug)
        params = self._read_params(locale, preview)
        body = self.request_json("GET", path, call="get_page", params=params, token=self._read_token())
        return self._data(body, path)

    def list_pages(
        self,
        page_type: str,
        *,
        locale: str | None = None,
        preview: bool = True,
        page_size: int = LIST_PAGE_SIZE_MAX,
    ) -> PageListing:
        """Read API List Pages, ``GET /v2/pages/{page_type}/``: every page of a page type (``*``:
        the Single Pages), following ``meta.next_page``.

        ButterCMS bills every call against the plan's monthly quota, whatever it returns, so 100
        pages per call (the most it allows, the default) is the cheapest way to read many pages.
        ``preview=True`` lists the latest drafts (and draft-only pages); ``preview=False`` the
        published versions, as visitors see them. The read token goes in the header, never in the
        URL. Arguments are checked now, requests happen as the iterator is consumed; the returned
        :class:`PageListing` also tells the listing's ``count`` once the first call answered.
        """
        path = list_path(page_type)
        params = self._read_params(locale, preview)
        params["page_size"] = to_int(page_size, "page_size", minimum=1, maximum=LIST_PAGE_SIZE_MAX, cms=CMS)
        return PageListing(self, path, params)

    async def aget_page(
        self, page_type: str, page_slug: str, *, locale: str | None = None, preview: bool = True
    ) -> dict[str, Any]:
        """:meth:`get_page` on the async client (for triggers: never blocks the event loop)."""
        path = page_path(page_type, page_slug)
        params = self._read_params(locale, preview)
        token = await self._aread_token()
        body = await self.arequest_json("GET", path, call="get_page", params=params, token=token)
        return self._data(body, path)

    @staticmethod
    def _data(body: dict[str, Any], path: str) -> dict[str, Any]:
        data = body.get("data")
        if not isinstance(data, dict):
            raise CMSInvalidResponseError(
                "the Read API response has no 'data' object", cms=CMS, method="GET", url=path, call="get_page"
            )
        return data

    # ------------------------------------------------------------------ completion checks
    def read_spec_pages(self, spec: Mapping[str, Any]) -> dict[str | None, dict[str, Any]]:
        """The version of a spec's page that its update changes, once per locale: the draft
        (``preview=1``) or, for ``"preview": False``, the published page.

        On the published read a 404 means "not published (yet)": a page published for the first
        time is 404 there until its update lands, so it reads as ``{}`` (nothing of the update
        shows) instead of failing. On the draft read a 404 means the page does not exist, and raises.
        """
        preview = spec.get("preview", True)
        pages: dict[str | None, dict[str, Any]] = {}
        for locale in spec_locales(spec):
            try:
                pages[locale] = self.get_page(spec["page_type"], spec["page_slug"], locale=locale, preview=preview)
            except CMSNotFoundError:
                if preview:
                    raise
                pages[locale] = {}
        return pages

    async def aread_spec_pages(self, spec: Mapping[str, Any]) -> dict[str | None, dict[str, Any]]:
        """:meth:`read_spec_pages` on the async client."""
        preview = spec.get("preview", True)
        pages: dict[str | None, dict[str, Any]] = {}
        for locale in spec_locales(spec):
            try:
                pages[locale] = await self.aget_page(
                    spec["page_type"], spec["page_slug"], locale=locale, preview=preview)
            except CMSNotFoundError:
                if preview:
                    raise
                pages[locale] = {}
        return pages

    def check_page(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """One read round for a spec (once per locale, see :meth:`read_spec_pages`) against the
        completion rule.

        :return: ``{"differing": [...], "page": <confirmed page>}``; ``page`` is None while
            something still differs.
        """
        return check_result(spec, self.read_spec_pages(spec))

    async def acheck_page(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`check_page` on the async client."""
        return check_result(spec, await self.aread_spec_pages(spec))

    # ------------------------------------------------------------------ the one wait
    def wait_for_pages(
        self,
        specs: Sequence[Mapping[str, Any]],
        *,
        poll_interval: float,
        timeout: float,
        log_progress: Callable[..., None] | None = None,
    ) -> PagesEvent:
        """Read until every spec's page shows its values or ``timeout`` seconds pass (on a worker).

        Each round re-reads only the pages still pending. A read that fails raises its typed
        error (the task fails with it). Returns the same event the trigger yields."""
        results = [_pending(spec) for spec in specs]
        deadline = time.monotonic() + timeout
        say = log_progress or log.info
        while True:
            for spec, result in zip(specs, results, strict=True):
                if result["status"] == "pending":
                    _record(result, self.check_page(spec))
            pending = sum(r["status"] == "pending" for r in results)
            if not pending:
                return pages_event(results, timed_out=False)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return pages_event(results, timed_out=True)
            say("buttercms: %d of %d page(s) not updated yet; next read in %.1f s",
                pending, len(results), min(poll_interval, remaining))
            self._sleep(min(poll_interval, remaining))

    async def await_pages(
        self, specs: Sequence[Mapping[str, Any]], *, poll_interval: float, end_time: float
    ) -> PagesEvent:
        """:meth:`wait_for_pages` in the triggerer: reads concurrently (bounded), never blocks the
        loop, and meets ``end_time`` (epoch seconds) even while a read hangs. A page whose read
        fails is reported as ``error`` and the others are still watched."""
        results = [_pending(spec) for spec in specs]
        semaphore = asyncio.Semaphore(MAX_CONCURRENT_READS)

        async def check(spec: Mapping[str, Any], result: PageResult) -> None:
            async with semaphore:
                try:
                    _record(result, await self.acheck_page(spec))
                except Exception as exc:  # reported in the event; the trigger must never crash
                    result["status"] = "error"
                    result["message"] = bounded(self.redactor.text(f"{type(exc).__name__}: {exc}"))

        while True:
            remaining = end_time - time.time()
            pending = [(spec, r) for spec, r in zip(specs, results, strict=True) if r["status"] == "pending"]
            if remaining <= 0:
                return pages_event(results, timed_out=bool(pending))
            try:
                await asyncio.wait_for(asyncio.gather(*(check(spec, r) for spec, r in pending)), timeout=remaining)
            except asyncio.TimeoutError:
                return pages_event(results, timed_out=True)
            still = sum(r["status"] == "pending" for r in results)
            if not still:
                return pages_event(results, timed_out=False)
            remaining = end_time - time.time()
            if remaining <= 0:
                return pages_event(results, timed_out=True)
            log.info("buttercms: %d of %d page(s) not updated yet; next check in %.1f s",
                     still, len(results), min(poll_interval, remaining))
            await self._asleep(min(poll_interval, remaining))

    # ------------------------------------------------------------------ connection test
    def _probe(self) -> str:
        """``GET /v2/pages/*/?page_size=1`` with the read token: the documented "list Single
        Pages" call, the cheapest authenticated read there is (one billed call, at most one item,
        no page needs to exist). The write token cannot be verified without writing, and a
        connection test must not write, so the message says so."""
        body = self.request_json(
            "GET", join("v2", "pages", ANY_PAGE_TYPE) + "/", call="test_connection",
            params={"page_size": 1}, token=self._read_token(),
        )
        meta = body.get("meta")
        count = meta.get("count") if isinstance(meta, dict) else None
        which = "read token" if self._read_token() else "token"
        return (
            f"Connected to ButterCMS: the {which} was accepted ({count if count is not None else '?'} single "
            "page(s) visible). A write token is only checked by the first update."
        )


# ---------------------------------------------------------------------- listings
class PageListing(Iterator[dict[str, Any]]):
    """What :meth:`ButterCMSHook.list_pages` returns: an iterator over the listed pages (each a
    ``data`` item: ``slug``, ``page_type``, ``fields``, ...), fetched one call at a time as it is
    consumed, that also says how big the listing is.

    ``count`` is ``meta.count`` of the last answer (None before the first call), ``fetched`` the
    items received so far, ``calls`` the calls made: with them a caller can tell whether reading
    on costs more calls than it saves (the bulk adapter does).
    """

    def __init__(self, hook: ButterCMSHook, path: str, params: dict[str, Any]) -> None:
        self.count: int | None = None
        self.fetched = 0
        self.calls = 0
        self.page_size = int(params["page_size"])
        self._pages = self._iter(hook, path, params)

    def __next__(self) -> dict[str, Any]:
        return next(self._pages)

    def _iter(self, hook: ButterCMSHook, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        paging = Paging(CMS, "list_pages")
        page_no = 1
        while True:
            paging.before_request(page_no)
            body = hook.request_json("GET", path, call="list_pages", params={**params, "page": page_no},
                                     token=hook._read_token())
            self.calls += 1
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            count = meta.get("count")
            self.count = count if isinstance(count, int) and not isinstance(count, bool) else None
            pages = paging.items(body.get("data"), "data", lambda p: (str(p.get("page_type")), str(p.get("slug"))))
            self.fetched += len(pages)
            yield from pages
            following = meta.get("next_page")
            if not pages or following is None:
                return
            if isinstance(following, bool) or not isinstance(following, int) or following <= page_no:
                raise paging.error(f"meta.next_page {following!r} does not follow page {page_no}")
            page_no = following


# ---------------------------------------------------------------------- the event
def _pending(spec: Mapping[str, Any]) -> PageResult:
    return {"page_type": spec["page_type"], "page_slug": spec["page_slug"], "status": "pending",
            "differing": [], "message": "", "page": None}


def _record(result: PageResult, check: Mapping[str, Any]) -> None:
    result["differing"] = list(check["differing"])
    if not check["differing"]:
        result["status"] = "success"
        result["page"] = check["page"]


def pages_event(results: Sequence[PageResult], *, timed_out: bool) -> PagesEvent:
    """The one event shape of a wait: the overall ``status``, the first page that did not succeed
    (or the first page) at the top level, ``pages`` always, and ``page`` for a single success."""
    pages: list[PageResult] = []
    for result in results:
        entry: PageResult = {**result}
        if entry["status"] == "pending":
            entry["status"] = "timeout"
            entry["message"] = f"still differs in {', '.join(entry['differing']) or '(not read)'} at the deadline"
        pages.append(entry)
    failed = [p for p in pages if p["status"] != "success"]
    status: Literal["success", "timeout", "error"] = "success"
    if failed:
        status = "timeout" if timed_out and any(p["status"] == "timeout" for p in failed) else "error"
    first = failed[0] if failed else pages[0]
    counts = {s: sum(p["status"] == s for p in pages) for s in ("success", "timeout", "error")}
    if len(pages) == 1:
        message = (f"page {first['page_type']}/{first['page_slug']}: "
                   + ("shows every expected field value" if status == "success" else first["message"]))
    else:
        message = (f"{counts['success']} of {len(pages)} page(s) updated, {counts['timeout']} timed out, "
                   f"{counts['error']} failed")
    event: PagesEvent = {
        "status": status, "page_type": first["page_type"], "page_slug": first["page_slug"],
        "differing": list(first["differing"]), "message": message,
        "pages": [{k: v for k, v in p.items() if k != "page"} for p in pages],  # type: ignore[misc]
    }
    if status == "success" and len(pages) == 1:
        event["page"] = pages[0]["page"]
    return event
