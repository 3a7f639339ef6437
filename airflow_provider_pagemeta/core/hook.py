"""The shared HTTP core: one base hook that the four CMS hooks configure, never copy.

A CMS hook sets a few class attributes (its name, default base URL, auth scheme, extra
connection fields) and calls :meth:`PageMetaHook.request_json` / :meth:`arequest_json` with a
path built from :mod:`~airflow_provider_pagemeta.core.paths`. Everything else lives here:
connection parsing, one ``requests.Session`` per hook, a timeout on every request, the retry
policy, pacing, error mapping and redaction. Nothing connects in ``__init__``: DAG files build
operators at parse time, and operators build hooks only inside ``execute``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseHook
from tenacity import AsyncRetrying, RetryCallState, Retrying, stop_after_attempt

from airflow_provider_pagemeta import __version__
from airflow_provider_pagemeta.core.config import ConnectionSettings, settings_from_connection
from airflow_provider_pagemeta.core.errors import error_from_response
from airflow_provider_pagemeta.core.pacing import RateLimitPacer, shared_pacer
from airflow_provider_pagemeta.core.redaction import Redactor
from airflow_provider_pagemeta.core.retry import parse_retry_after, retry_predicate, wait_for
from airflow_provider_pagemeta.core.validation import MAX_BODY_BYTES, fail
from airflow_provider_pagemeta.exceptions import CMSConnectionError, CMSError, CMSInvalidResponseError

if TYPE_CHECKING:
    import httpx
    import requests

USER_AGENT = f"airflow-provider-pagemeta/{__version__}"

#: Request-level log. A plain stdlib logger: Airflow routes it into the task log, and its records
#: can be inspected in tests at DEBUG (the token-hygiene tests read every record).
log = logging.getLogger("airflow_provider_pagemeta.http")


class _Unset:
    def __repr__(self) -> str:
        return "<no body>"


NO_BODY: Any = _Unset()


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
        self._pacer: RateLimitPacer | None = None
        self._retry_policy: Retrying | None = None
        self._redactor_settings: ConnectionSettings | None = None
        #: HTTP requests actually sent by this hook (retries included), for summaries.
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
        this module) at parse time, where only the import cost counts."""
        import requests

        session = requests.Session()
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        session.verify = self.settings.verify
        return session

    def auth_header(self, token: str) -> str:
        return f"{self.auth_scheme} {token}"

    # ------------------------------------------------------------------ sync requests
    def request(
        self,
        method: str,
        path: str,
        *,
        call: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = NO_BODY,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> requests.Response:
        """Send one logical request (retried per the policy) and return the 2xx response.

        The body is not parsed; use :meth:`request_json` (or :meth:`request_json_response` when
        the headers matter too), which also retries a 2xx whose body is unusable.

        :param path: the path below the base URL, already built with ``core.paths``.
        :param call: the hook method's name, for error messages and logs.
        :param token: another token for this request (ButterCMS's read token).
        """
        args = self._prepare(method, path, call, params=params, json_body=json_body, headers=headers, token=token)
        return self._retrying()(self._send, *args)

    def request_json_response(
        self, method: str, path: str, *, call: str, **kwargs: Any
    ) -> tuple[requests.Response, Any]:
        """Like :meth:`request_json` but also return the response, for callers that need its
        headers (Buildin's ``ETag``). Takes the keyword arguments of :meth:`request`."""
        args = self._prepare(method, path, call, **kwargs)

        def attempt() -> tuple[requests.Response, Any]:
            response = self._send(*args)
            return response, self._parse_json(call, method, response.url, response.status_code, response.text)

        return self._retrying()(attempt)

    def request_json(self, method: str, path: str, *, call: str, **kwargs: Any) -> Any:
        """Send one logical request and return its parsed JSON body.

        A 2xx with an empty or malformed body is retried like a dropped connection (every call
        the provider makes is idempotent, so sending it again is safe)."""
        return self.request_json_response(method, path, call=call, **kwargs)[1]

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
    ) -> tuple[str, str, str, Mapping[str, Any] | None, bytes | None, dict[str, str]]:
        s = self.settings
        data = self._encode_body(json_body)
        send_headers = {"Authorization": self.auth_header(token or s.token), **(headers or {})}
        if data is not None:
            send_headers["Content-Type"] = "application/json"
        return method, s.base_url + path, call, params, data, send_headers

    def _retrying(self) -> Retrying:
        """The retry policy for this hook's connection, built once (its settings do not change)."""
        if self._retry_policy is None:
            self._retry_policy = self._build_retrying()
        return self._retry_policy

    def _build_retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(1 + self.settings.max_retries),
            wait=wait_for,
            retry=retry_predicate,
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )

    def _send(
        self,
        method: str,
        url: str,
        call: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
        headers: dict[str, str],
    ) -> requests.Response:
        s = self.settings
        delay = self.pacer.reserve()
        if delay > 0:
            log.debug("%s %s: pacing, waiting %.2f s for the rate-limit window", self.cms, call, delay)
            self._sleep(delay)
        started = time.monotonic()
        self.request_count += 1
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=s.timeout
            )
        except _requests().Timeout as exc:
            raise self._connection_error(call, method, url, f"no response within {s.timeout:g} s", exc) from exc
        except _requests().RequestException as exc:
            raise self._connection_error(call, method, url, "connection failed", exc) from exc
        self.pacer.observe(response.headers)
        self._log_response(call, method, response.url, response.status_code, started)
        if not 200 <= response.status_code < 300:
            raise error_from_response(
                cms=self.cms,
                call=call,
                method=method,
                url=response.url,
                status=response.status_code,
                text=response.text,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                redactor=self.redactor,
            )
        return response

    # ------------------------------------------------------------------ async requests
    async def arequest_json(
        self,
        method: str,
        path: str,
        *,
        call: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = NO_BODY,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> Any:
        """Async twin of :meth:`request_json` on ``httpx.AsyncClient``: same retries, pacing,
        errors and redaction, and every wait is an ``await`` so the event loop never blocks."""
        await self.asettings()  # the async lookup; _prepare then finds the settings cached
        args = self._prepare(method, path, call, params=params, json_body=json_body, headers=headers, token=token)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(1 + self.settings.max_retries),
            wait=wait_for,
            retry=retry_predicate,
            sleep=self._asleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        async for attempt in retrying:
            with attempt:
                status, text, final_url = await self._asend(*args)
                result = self._parse_json(call, method, final_url, status, text)
        return result

    async def _asend(
        self,
        method: str,
        url: str,
        call: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
        headers: dict[str, str],
    ) -> tuple[int, str, str]:
        import httpx

        s = await self.asettings()
        delay = self.pacer.reserve()
        if delay > 0:
            await self._asleep(delay)
        client = self._async_client(s)
        started = time.monotonic()
        self.request_count += 1
        try:
            response = await client.request(method, url, params=params, content=data, headers=headers)
        except httpx.TimeoutException as exc:
            raise self._connection_error(call, method, url, f"no response within {s.timeout:g} s", exc) from exc
        except httpx.HTTPError as exc:
            raise self._connection_error(call, method, url, "connection failed", exc) from exc
        self.pacer.observe(response.headers)
        final_url = str(response.url)
        self._log_response(call, method, final_url, response.status_code, started)
        if not 200 <= response.status_code < 300:
            raise error_from_response(
                cms=self.cms,
                call=call,
                method=method,
                url=final_url,
                status=response.status_code,
                text=response.text,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                redactor=self.redactor,
            )
        return response.status_code, response.text, final_url

    def _async_client(self, s: ConnectionSettings) -> httpx.AsyncClient:
        import httpx

        if self._aclient is None or self._aclient.is_closed:
            self._aclient = httpx.AsyncClient(
                timeout=s.timeout,
                verify=ssl_context(s.verify),
                follow_redirects=True,
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

    # ------------------------------------------------------------------ helpers
    def _encode_body(self, body: Any) -> bytes | None:
        if body is NO_BODY:
            return None
        try:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise fail(f"request body is not JSON-serialisable: {exc}", "body", self.cms) from None
        if len(data) > MAX_BODY_BYTES:
            raise fail(f"request body is larger than {MAX_BODY_BYTES} bytes", "body", self.cms)
        return data

    def _parse_json(self, call: str, method: str, url: str, status: int, text: str) -> Any:
        if not text.strip():
            if status == 204:
                return {}
            raise CMSInvalidResponseError(
                "the response body was empty where JSON was expected",
                cms=self.cms, status_code=status, method=method, url=self.redactor.url(url), call=call,
            )
        try:
            return json.loads(text)
        except ValueError:
            raise CMSInvalidResponseError(
                f"the response body is not valid JSON: {self.redactor.text(text[:120])!r}",
                cms=self.cms, status_code=status, method=method, url=self.redactor.url(url), call=call,
            ) from None

    def _connection_error(self, call: str, method: str, url: str, what: str, exc: Exception) -> CMSError:
        reason = self.redactor.text(type(exc).__name__)
        return CMSConnectionError(
            f"{what} ({reason})", cms=self.cms, method=method, url=self.redactor.url(url), call=call
        )

    def _log_response(self, call: str, method: str, url: str, status: int, started: float) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return  # skip the URL redaction too: this runs on every request
        log.debug(
            "%s %s: %s %s -> %s in %.0f ms",
            self.cms, call, method, self.redactor.url(url), status, (time.monotonic() - started) * 1000,
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
            return False, self.redactor.text(f"{type(exc).__name__}: {exc}")

    def _probe(self) -> str:
        """Make the cheapest authenticated call; return a success message. Override per CMS."""
        raise NotImplementedError


def _requests() -> Any:
    import requests

    return requests


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
