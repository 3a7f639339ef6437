"""Typed errors of the provider.

Permanent failures (bad input, auth, missing page, version conflict) also subclass
``AirflowFailException`` so a task fails at once instead of burning its Airflow retries on a
request that can never succeed. Transient failures are raised only after the hook's own retries
are spent, so Airflow's task-level retries may still apply to them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow_provider_pagemeta._compat import AirflowException, AirflowFailException

__all__ = [
    "CMSAuthError",
    "CMSConflictError",
    "CMSConnectionError",
    "CMSError",
    "CMSInvalidResponseError",
    "CMSNotFoundError",
    "CMSRateLimitError",
    "CMSRedirectError",
    "CMSServerError",
    "CMSValidationError",
]


class CMSError(AirflowException):
    """Base class of every error raised by the provider.

    ``url`` never carries a token: the provider sends tokens only in headers, and the URL is
    stored without its query string's secret-looking values by the HTTP core.
    """

    def __init__(
        self,
        message: str,
        *,
        cms: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        details: Any = None,
        method: str | None = None,
        url: str | None = None,
        call: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cms = cms
        # AirflowException declares a class-level HTTPStatus here; ours is the CMS response status.
        self.status_code: int | None = status_code  # type: ignore[assignment]
        self.code = code
        self.details = details
        self.method = method
        self.url = url
        self.call = call
        self.retry_after = retry_after

    @property
    def path(self) -> str | None:
        """The request path (no scheme, host or query), for messages and logs."""
        if not self.url:
            return None
        return urlsplit(self.url).path or "/"

    def __str__(self) -> str:
        head = self.cms or "cms"
        if self.call:
            head += f" {self.call}"
        request = " ".join(part for part in (self.method, self.path) if part)
        if request:
            head += f" ({request})"
        if self.status_code is not None:
            head += f" -> HTTP {self.status_code}"
        if self.code:
            head += f" [{self.code}]"
        return f"{head}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep attributes across pickling (Airflow may pickle exceptions between processes).
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[CMSError], message: str, state: dict[str, Any]) -> CMSError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class CMSValidationError(CMSError, AirflowFailException, ValueError):
    """Bad input: a client-side check (before any request) or a 400/422 from the CMS.

    ``argument`` names the offending argument for client-side checks.
    """

    def __init__(self, message: str, *, argument: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.argument = argument


class CMSAuthError(CMSError, AirflowFailException):
    """401/403: the token is wrong, revoked, read-only or lacks a permission."""


class CMSNotFoundError(CMSError, AirflowFailException):
    """404: the page (or meta, or site) does not exist."""


class CMSConflictError(CMSError, AirflowFailException):
    """409: the resource changed since it was read (Buildin's If-Match)."""


class CMSRateLimitError(CMSError):
    """429 after the hook's own retries were spent, or at once when the server asks for a wait
    longer than the provider's cap (``retry_after`` holds the server's wait, in seconds: a spent
    monthly quota answers with days, and no retry inside one task can outlast that)."""


class CMSRedirectError(CMSError, AirflowFailException):
    """A 3xx the provider will not follow: any redirect of a write (following it would re-send the
    write elsewhere, as another method or without its body, and report a success that never
    happened), a read sent to another origin, or too many hops. ``location`` is the (redacted)
    target. Usually a wrong base URL in the connection (``http`` for ``https``, a missing prefix)."""

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class CMSServerError(CMSError):
    """5xx (or an unusable response) after the hook's own retries were spent."""


class CMSInvalidResponseError(CMSServerError):
    """A 2xx whose body is empty, not JSON, too deep, too large or of the wrong shape (a truncated
    transfer, a misbehaving proxy). Retried like a dropped connection."""


class CMSConnectionError(CMSError):
    """Connection error or timeout after the hook's own retries were spent.

    ``request_sent`` is False when the failure happened before the request left (connection
    refused, connect timeout): only then is it certain that a write did not land.
    """

    def __init__(self, message: str, *, request_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent
