"""The shared HTTP core: one base hook that the four CMS hooks configure, never copy.

A CMS hook sets a few class attributes (its name, default base URL, auth scheme, extra
connection fields) and calls :meth:`PageMetaHook.request_json` / :meth:`arequest_json` with a
path built from :mod:`~airflow_provider_pagemeta.core.paths`. Everything else lives here, once
for both transports: connection parsing, one ``requests.Session`` per hook (``httpx`` for the
async path), a hard deadline on every attempt, the retry policy, pacing, redirects, error
mapping, response checks and redaction. Nothing connects in ``__init__``: DAG files build
operators at parse time, and operators build hooks only inside ``execute``.

What a hostile or broken server gets from this module:

* a redirect never moves a write: a 3xx answering a write raises :class:`CMSRedirectError`
  (following it would re-send the write elsewhere, as a GET or without its body, and report a
  success that never happened); a read follows at most :data:`MAX_REDIRECTS` hops on its own
  origin, so a token never travels to another host;
* ``timeout`` bounds each attempt from sending to the last byte, however slowly the bytes come;
* a body larger than :data:`MAX_RESPONSE_BYTES`, deeper than the JSON parser goes, empty, not
  JSON, or of the wrong shape is a :class:`CMSInvalidResponseError` naming the call, never a raw
  Python exception.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin, urlsplit

from airflow.sdk import BaseHook
from tenacity import AsyncRetrying, RetryCallState, Retrying, stop_after_attempt

from airflow_provider_pagemeta import __version__
from airflow_provider_pagemeta.core.config import ConnectionSettings, settings_from_connection
from airflow_provider_pagemeta.core.errors import bounded, error_from_response
from airflow_provider_pagemeta.core.pacing import RateLimitPacer, shared_pacer
from airflow_provider_pagemeta.core.redaction import Redactor
from airflow_provider_pagemeta.core.retry import outcome_unknown, parse_retry_after, retry_predicate, wait_for
from airflow_provider_pagemeta.core.validation import MAX_BODY_BYTES, invalid
from airflow_provider_pagemeta.exceptions import (
    CMSConnectionError,
    CMSError,
    CMSInvalidResponseError,
    CMSRedirectError,
)

if TYPE_CHECKING:
    import httpx
    import requests

USER_AGENT = f"airflow-provider-pagemeta/{__version__}"
#: Redirect hops a read may follow (same origin only).
MAX_REDIRECTS = 5
#: Largest response body read. A page-metadata answer is kilobytes; 100 Webflow pages are ~100 KB.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_METHODS = frozenset({"GET", "HEAD"})
_CHUNK = 64 * 1024
TOO_LARGE = f"the response body is larger than {MAX_RESPONSE_BYTES} bytes"

#: Request-level log. A plain stdlib logger: Airflow routes it into the task log, and its records
#: can be inspected in tests at DEBUG (the token-hygiene tests read every record).
log = logging.getLogger("airflow_provider_pagemeta.http")


class _Unset:
    def __repr__(self) -> str:
        return "<no body>"


NO_BODY: Any = _Unset()


@dataclass(frozen=True)
class Request:
    """One logical request, ready to send (the token is in ``headers`` and nowhere else)."""

    method: str
    url: str
    call: str
    params: Mapping[str, Any] | None
    data: bytes | None
    headers: dict[str, str]
    #: Seconds to wait after a 429 that names no ``Retry-After`` (None: the policy's backoff). A
    #: call to an endpoint with a slower limit of its own (Webflow's one publish per minute) passes
    #: ``rate_limit_wait=`` to ``request_json``: a backoff of a second or two would only spend the
    #: retries on a burst of 429s.
    rate_limit_wait: float | None = None


@dataclass(frozen=True)
class Reply:
    """A complete response: status, headers, the whole body, and the URL that answered."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes
    url: str


class PageMetaHook(BaseHook):
    """Base class of the four CMS hooks.

    :param conn_id: the Airflow connection id.
    :param sleep: how to wait between retries and for pacing (``time.sleep``); tests inject a
        recorder so they can assert the wait without spending it.
    :param asleep: the async counterpart (``asyncio.sleep``), used by triggers.
    """

    #: Short CMS name used in errors and logs, e.g. ``"webflow"``.
    cms: ClassVar[str] = ""
    #: Base URL used when the connection has no host (None: host is required).
    default_base_url: ClassVar[str | None] = None
    #: ``Authorization`` scheme: ``"Bearer"`` or ``"Token"``.
    auth_scheme: ClassVar[str] = "Bearer"
    #: CMS-specific connection extras with their defaults (beyond timeout, max_retries, ...).
    cms_extras: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        conn_id: str,
        *,
        sleep: Callable[[float], None] | None = None,
        asleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self._sleep: Callable[[float], None] = sleep or time.sleep
        self._asleep: Callable[[float], Awaitable[Any]] = asleep or asyncio.sleep
        self._settings: ConnectionSettings | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._redactor: Redactor | None = None
        self._redactor_settings: ConnectionSettings | None = None
        self._pacer: RateLimitPacer | None = None
        self._retrying: Retrying | None = None
        #: HTTP requests actually sent by this hook (retries and redirect hops included).
        self.request_count = 0

    # ------------------------------------------------------------------ connection
    @property
    def settings(self) -> ConnectionSettings:
        """Connection settings, resolved on first use (sync lookup)."""
        if self._settings is None:
            conn = self.get_connection(self.conn_id)
            self._settings = self._settings_from(conn)
        return self._settings

    async def asettings(self) -> ConnectionSettings:
        """Connection settings via the async lookup (for triggers: never blocks the loop)."""
        if self._settings is None:
            conn = await self.aget_connection(self.conn_id)
            self._settings = self._settings_from(conn)
        return self._settings

    def _settings_from(self, conn: Any) -> ConnectionSettings:
        settings = settings_from_connection(
            self.cms,
            host=conn.host,
            port=conn.port,
            password=conn.password,
            extra=conn.extra_dejson or {},
            default_base_url=self.default_base_url,
            cms_extras=self.cms_extras,
        )
        _register_secrets(settings.secrets)
        if settings.verify is False:
            log.warning(
                "%s connection %r has TLS certificate verification turned off (extra verify=false)",
                self.cms,
                self.conn_id,
            )
        return settings

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def redactor(self) -> Redactor:
        """Scrubs this connection's secrets; empty until the connection has been resolved."""
        if self._redactor is None or self._redactor_settings is not self._settings:
            self._redactor = Redactor(self._settings.secrets if self._settings else ())
            self._redactor_settings = self._settings
        return self._redactor

    @property
    def pacer(self) -> RateLimitPacer:
        """The process-wide pacer of this connection's token (looked up once per hook)."""
        if self._pacer is None:
            s = self.settings
            self._pacer = shared_pacer(s.base_url, s.token, s.rate_limit_window)
        return self._pacer

    @cached_property
    def session(self) -> requests.Session:
        """One session per hook: connection pooling across all of the hook's calls.

        ``requests`` is imported here, not at module level: DAG files import operators (and so
        this module) at parse time, where only the import cost counts. Redirects are never
        followed by ``requests`` itself (see :meth:`_redirect_target`), and its connections report
        to the deadline watchdog (:mod:`~airflow_provider_pagemeta.core.deadline`)."""
        import requests

        from airflow_provider_pagemeta.core.deadline import DeadlineAdapter

        session = requests.Session()
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        session.verify = self.settings.verify
        adapter = DeadlineAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def auth_header(self, token: str) -> str:
        return f"{self.auth_scheme} {token}"

    # ------------------------------------------------------------------ public request API
    def request_json(self, method: str, path: str, *, call: str, **kwargs: Any) -> Any:
        """Send one logical request (retried per the policy) and return its parsed JSON body.

        Takes the arguments of :meth:`request_json_response`, which also returns the reply.
        """
        return self.request_json_response(method, path, call=call, **kwargs)[1]

    def request_json_response(
        self,
        method: str,
        path: str,
        *,
        call: str,
        settle: Callable[[], Any] | None = None,
        expect: type | None = dict,
        **kwargs: Any,
    ) -> tuple[Reply, Any]:
        """Send one logical request; return the :class:`Reply` (for its status or headers:
        Buildin's ``ETag``, ButterCMS's 202) and the parsed JSON body.

        :param path: the path below the base URL, already built with ``core.paths``.
        :param call: the hook method's name, for error messages and logs.
        :param settle: for a call that is not idempotent (a create): a read that returns the
            result when the call landed after all, else None. When an attempt's outcome is unknown
            (the answer was lost), the read decides; the call is sent again only if it says "not
            there" (see :func:`~airflow_provider_pagemeta.core.retry.outcome_unknown`). A settled
            call returns the read's result with a reply of status 0.
        :param expect: the JSON type the body must have (``dict``, ``list``, or None for any).
        :param kwargs: ``params``, ``json_body``, ``headers``, ``token`` (another token for this
            request, e.g. ButterCMS's read token).
        """
        request = self._prepare(method, path, call, **kwargs)

        def attempt() -> tuple[Reply, Any]:
            try:
                reply = self._send(request)
                return reply, self._parse(request, reply, expect)
            except CMSError as exc:
                settled = self._settle(request, settle, exc)
                if settled is None:
                    raise
                return Reply(0, {}, b"", request.url), settled

        return self._retry_policy()(attempt)

    async def arequest_json(
        self, method: str, path: str, *, call: str, expect: type | None = dict, **kwargs: Any
    ) -> Any:
        """Async twin of :meth:`request_json` on ``httpx.AsyncClient``: same retries, pacing,
        redirects, deadline, errors and redaction; every wait is an ``await``."""
        await self.asettings()  # the async lookup; _prepare then finds the settings cached
        request = self._prepare(method, path, call, **kwargs)
        async for attempt in AsyncRetrying(sleep=self._asleep, **self._retry_kwargs()):
            with attempt:
                reply = await self._asend(request)
                result = self._parse(request, reply, expect)
        return result

    # ------------------------------------------------------------------ preparing and retrying
    def _prepare(
        self,
        method: str,
        path: str,
        call: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = NO_BODY,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        rate_limit_wait: float | None = None,
    ) -> Request:
        s = self.settings
        data = self._encode_body(json_body)
        send_headers = {"Authorization": self.auth_header(token or s.token), **(headers or {})}
        if data is not None:
            send_headers["Content-Type"] = "application/json"
        return Request(method.upper(), s.base_url + path, call, params, data, send_headers, rate_limit_wait)

    def _retry_kwargs(self) -> dict[str, Any]:
        """The one policy, for both transports (see :mod:`~airflow_provider_pagemeta.core.retry`)."""
        return {
            "stop": stop_after_attempt(1 + self.settings.max_retries),
            "wait": wait_for,
            "retry": retry_predicate,
            "reraise": True,
            "before_sleep": self._log_retry,
        }

    def _retry_policy(self) -> Retrying:
        """Built once per hook: the connection's settings do not change."""
        if self._retrying is None:
            self._retrying = Retrying(sleep=self._sleep, **self._retry_kwargs())
        return self._retrying

    def _settle(self, request: Request, settle: Callable[[], Any] | None, exc: CMSError) -> Any:
        """For a non-idempotent call whose outcome is unknown: ask ``settle`` whether it landed."""
        if settle is None or not outcome_unknown(exc):
            return None
        log.warning("%s %s: outcome unknown (%s); reading whether it landed before sending it again",
                    self.cms, request.call, exc)
        found = settle()
        if found is not None:
            log.warning("%s %s: it had landed; not sending it again", self.cms, request.call)
        return found

    # ------------------------------------------------------------------ sync transport
    def _send(self, request: Request) -> Reply:
        """One attempt: the request, plus any same-origin redirect hops of a read."""
        url, params = request.url, request.params
        for hops in range(MAX_REDIRECTS + 1):
            reply = self._send_once(request, url, params)
            target = self._redirect_target(request, reply, hops)
            if target is None:
                return reply
            url, params = target, None  # the Location carries its own query
        raise AssertionError("unreachable: _redirect_target raises past MAX_REDIRECTS")

    def _send_once(self, request: Request, url: str, params: Mapping[str, Any] | None) -> Reply:
        import requests

        from airflow_provider_pagemeta.core.deadline import arm

        timeout = self.settings.timeout
        self._pace()
        started = time.monotonic()
        self.request_count += 1
        with arm(timeout) as deadline:
            try:
                response = self.session.request(
                    request.method, url, params=params, data=request.data, headers=request.headers,
                    timeout=timeout, allow_redirects=False, stream=True,
                )
                with response:
                    body = _read_capped(response.iter_content(_CHUNK))
                    reply = Reply(response.status_code, response.headers, body, response.url)
            except _BodyTooLarge:
                raise self._invalid(request, url, TOO_LARGE) from None
            except (requests.RequestException, OSError, http.client.HTTPException, _urllib3_error()) as exc:
                if deadline.expired or isinstance(exc, requests.Timeout):
                    raise self._timeout_error(request, url, exc) from None
                raise self._connection_error(request, url, exc, sent=not _never_sent(exc)) from None
        return self._observe(request, reply, started)

    # ------------------------------------------------------------------ async transport
    async def _asend(self, request: Request) -> Reply:
        url, params = request.url, request.params
        for hops in range(MAX_REDIRECTS + 1):
            reply = await self._asend_once(request, url, params)
            target = self._redirect_target(request, reply, hops)
            if target is None:
                return reply
            url, params = target, None
        raise AssertionError("unreachable: _redirect_target raises past MAX_REDIRECTS")

    async def _asend_once(self, request: Request, url: str, params: Mapping[str, Any] | None) -> Reply:
        import httpx

        s = await self.asettings()
        delay = self.pacer.reserve()
        if delay > 0:
            await self._asleep(delay)
        client = self._async_client(s)
        started = time.monotonic()
        self.request_count += 1
        try:
            reply = await asyncio.wait_for(self._afetch(client, request, url, params), timeout=s.timeout)
        except _BodyTooLarge:
            raise self._invalid(request, url, TOO_LARGE) from None
        except (asyncio.TimeoutError, httpx.TimeoutException) as exc:
            raise self._timeout_error(request, url, exc) from None
        except (httpx.HTTPError, OSError, http.client.HTTPException) as exc:
            sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise self._connection_error(request, url, exc, sent=sent) from None
        return self._observe(request, reply, started)

    @staticmethod
    async def _afetch(
        client: httpx.AsyncClient, request: Request, url: str, params: Mapping[str, Any] | None
    ) -> Reply:
        async with client.stream(
            request.method, url, params=params, content=request.data, headers=request.headers
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes(_CHUNK):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise _BodyTooLarge
                chunks.append(chunk)
            return Reply(response.status_code, response.headers, b"".join(chunks), str(response.url))

    def _async_client(self, s: ConnectionSettings) -> httpx.AsyncClient:
        import httpx

        if self._aclient is None or self._aclient.is_closed:
            self._aclient = httpx.AsyncClient(
                timeout=s.timeout,
                verify=ssl_context(s.verify),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            )
        return self._aclient

    async def aclose(self) -> None:
        """Close the async client (triggers call this when they finish)."""
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    def close(self) -> None:
        """Close the sync session's pooled connections."""
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # ------------------------------------------------------------------ the shared response check
    def _pace(self) -> None:
        delay = self.pacer.reserve()
        if delay > 0:
            log.debug("%s: pacing, waiting %.2f s for the rate-limit window", self.cms, delay)
            self._sleep(delay)

    def _observe(self, request: Request, reply: Reply, started: float) -> Reply:
        """Learn the rate limit, log, and turn an error status into the typed exception."""
        self.pacer.observe(reply.headers)
        self._log_response(request, reply, started)
        if reply.status_code in REDIRECT_STATUSES or 200 <= reply.status_code < 300:
            return reply
        raise error_from_response(
            cms=self.cms,
            call=request.call,
            method=request.method,
            url=reply.url,
            status=reply.status_code,
            text=reply.body[:200_000].decode("utf-8", "replace"),
            retry_after=_retry_after(request, reply),
            redactor=self.redactor,
        )

    def _redirect_target(self, request: Request, reply: Reply, hops: int) -> str | None:
        """None when ``reply`` is not a redirect; the next URL when a read may follow it; else raise."""
        if reply.status_code not in REDIRECT_STATUSES:
            return None
        location = reply.headers.get("Location")
        target = urljoin(reply.url, location) if location else None
        shown = self.redactor.url(target) if target else "(no Location header)"
        if request.method not in READ_METHODS:
            why = "a write is never re-sent to another URL (it would arrive as another method or without its body)"
        elif target is None or not _same_origin(target, request.url):
            why = "a read follows redirects on its own origin only, so the token never reaches another host"
        elif hops >= MAX_REDIRECTS:
            why = f"more than {MAX_REDIRECTS} redirects"
        else:
            return target
        raise CMSRedirectError(
            f"the server answered {reply.status_code} redirecting to {shown}; not followed: {why}. "
            "Check the connection's base URL (scheme, host, path prefix, trailing slash).",
            cms=self.cms, status_code=reply.status_code, method=request.method,
            url=self.redactor.url(reply.url), call=request.call, location=shown,
        )

    def _parse(self, request: Request, reply: Reply, expect: type | None) -> Any:
        """The JSON body of a 2xx, of the expected type; anything else is an invalid response."""
        if not reply.body.strip():
            if reply.status_code == 204:
                return {} if expect is dict else None
            raise self._invalid(request, reply.url, "the response body was empty where JSON was expected",
                                reply.status_code)
        try:
            parsed = json.loads(reply.body)
        except RecursionError:
            raise self._invalid(request, reply.url, "the response JSON is nested too deeply to read",
                                reply.status_code) from None
        except ValueError:
            snippet = bounded(self.redactor.text(reply.body[:4000].decode("utf-8", "replace")), 120)
            raise self._invalid(request, reply.url, f"the response body is not valid JSON: {snippet!r}",
                                reply.status_code) from None
        if expect is not None and not isinstance(parsed, expect):
            raise self._invalid(request, reply.url, f"expected a JSON {_json_type(expect)}, got a JSON "
                                f"{_json_type(type(parsed))}", reply.status_code)
        return parsed

    # ------------------------------------------------------------------ errors
    def _invalid(self, request: Request, url: str, message: str, status: int | None = None) -> CMSError:
        return CMSInvalidResponseError(
            message, cms=self.cms, status_code=status, method=request.method, url=self.redactor.url(url),
            call=request.call,
        )

    def _timeout_error(self, request: Request, url: str, exc: BaseException) -> CMSError:
        timeout = self.settings.timeout
        return CMSConnectionError(
            f"no response within {timeout:g} s (the limit of one attempt, from sending to the last byte; "
            f"{type(exc).__name__})", cms=self.cms,
            method=request.method, url=self.redactor.url(url), call=request.call,
        )

    def _connection_error(self, request: Request, url: str, exc: BaseException, *, sent: bool) -> CMSError:
        reason = self.redactor.text(type(exc).__name__)
        return CMSConnectionError(
            f"connection failed ({reason})", cms=self.cms, method=request.method, url=self.redactor.url(url),
            call=request.call, request_sent=sent,
        )

    def _encode_body(self, body: Any) -> bytes | None:
        if body is NO_BODY:
            return None
        try:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise invalid(f"request body is not JSON-serialisable: {exc}", "body", self.cms) from None
        if len(data) > MAX_BODY_BYTES:
            raise invalid(f"request body is larger than {MAX_BODY_BYTES} bytes", "body", self.cms)
        return data

    # ------------------------------------------------------------------ logs
    def _log_response(self, request: Request, reply: Reply, started: float) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return  # skip the URL redaction too: this runs on every request
        log.debug(
            "%s %s: %s %s -> %s in %.0f ms",
            self.cms, request.call, request.method, self.redactor.url(reply.url), reply.status_code,
            (time.monotonic() - started) * 1000,
        )

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        total = 1 + self.settings.max_retries
        log.warning(
            "%s: retrying in %.1f s (attempt %d of %d failed): %s",
            self.cms, wait, state.attempt_number, total, exc,
        )

    # ------------------------------------------------------------------ connection test
    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button. The message reaches the UI verbatim, so it is token-free."""
        try:
            return True, self._probe()
        except CMSError as exc:
            return False, str(exc)
        except Exception as exc:
            return False, bounded(self.redactor.text(f"{type(exc).__name__}: {exc}"))

    def _probe(self) -> str:
        """Make the cheapest authenticated call; return a success message. Override per CMS."""
        raise NotImplementedError


class _BodyTooLarge(Exception):
    """Raised while reading a body past :data:`MAX_RESPONSE_BYTES`."""


def _read_capped(chunks: Any) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


def _urllib3_error() -> type[Exception]:
    from urllib3.exceptions import HTTPError

    return HTTPError


def _never_sent(exc: BaseException) -> bool:
    """True when ``requests`` failed before the request left: no connection could be made."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        reason = getattr(current, "reason", None)
        nested = current.args[0] if getattr(current, "args", None) else None
        current = reason if isinstance(reason, BaseException) else nested if isinstance(nested, BaseException) else None
    return False


def _retry_after(request: Request, reply: Reply) -> float | None:
    """The wait before the next attempt: the server's ``Retry-After``, else for a 429 the call's
    own ``rate_limit_wait`` (the one retry policy then waits that long, see ``core.retry``)."""
    seconds = parse_retry_after(reply.headers.get("Retry-After"))
    if seconds is None and reply.status_code == 429:
        return request.rate_limit_wait
    return seconds


def _same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, _port(a)) == (b.scheme, b.hostname, _port(b))


def _port(parts: Any) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None


def _json_type(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(kind, "number")


@functools.lru_cache(maxsize=8)
def ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    """One TLS context per ``verify`` setting for every async client of the process.

    Building a context loads the CA bundle (~20 ms and ~800 KiB each); a triggerer running
    hundreds of ButterCMS waits would otherwise load it once per trigger, on the event loop.
    """
    if verify is False:
        return False
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _register_secrets(secrets: tuple[str, ...]) -> None:
    """Tell Airflow's log masker about the tokens too (a safety net, not the guarantee)."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - very old task SDKs
        return
    for secret in secrets:
        mask_secret(secret)
