"""Map an HTTP error response to the provider's typed exceptions.

Each CMS has its own error body; all of them are recognised here so a hook never parses one:
Webflow ``{"code", "message", "details"}``, Buildin ``{"object": "error", "code", "message"}``,
DRF-style ``{"detail": "..."}`` (ButterCMS, Hamgam), ButterCMS's ``{"error": "..."}`` and
field lists ``{"field": ["message", ...]}``. Anything else (an HTML error page from a proxy)
becomes a short, redacted text snippet.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_pagemeta.core.redaction import Redactor
from airflow_provider_pagemeta.core.retry import RETRY_AFTER_CAP, RETRY_AFTER_STATUSES
from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSConflictError,
    CMSConnectionError,
    CMSError,
    CMSNotFoundError,
    CMSRateLimitError,
    CMSServerError,
    CMSValidationError,
)

#: The longest message an exception carries. A CMS may answer with a 100 KB message (or echo the
#: request back); 200 such failures in a bulk run made a 20 MB XCom. Cut after redaction, so a
#: cut can never leave a piece of a token behind.
MESSAGE_CHARS = 300
#: Error bodies are read only this far: enough for any real message, and it keeps redaction cheap.
BODY_CHARS = 64_000
#: ``details`` larger than this (as JSON) are replaced by a cut JSON text.
DETAILS_CHARS = 2_000
CUT_MARK = " [... cut, {n} characters in all]"


def bounded(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` in at most ``limit`` characters, the cut marked. Call it on redacted text only."""
    if len(text) <= limit:
        return text
    mark = CUT_MARK.format(n=len(text))
    return text[: max(limit - len(mark), 0)] + mark


def parse_error_body(text: str) -> tuple[str | None, str, Any]:
    """Return ``(code, message, details)`` from an error body of any of the CMSs (unbounded:
    redact before cutting with :func:`bounded`)."""
    try:
        body = json.loads(text) if text else None
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        code = str(code) if code is not None else None
        if isinstance(body.get("message"), str):
            return code, body["message"], body.get("details")
        if "detail" in body:
            return code, _text(body["detail"]), body.get("details")
        if isinstance(body.get("error"), str):
            return code, body["error"], None
        if body and all(isinstance(v, list) for v in body.values()):
            fields = "; ".join(f"{k}: {' '.join(_text(m) for m in v)}" for k, v in body.items())
            return code, fields, body
        return code, _snippet(json.dumps(body)), body
    if isinstance(body, list) and body:
        return None, "; ".join(_text(item) for item in body), body
    snippet = _snippet(text)
    return None, snippet or "(empty body)", None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _snippet(text: str) -> str:
    """Whitespace folded; not cut here (the caller redacts, then cuts)."""
    return " ".join(text.split())


def describe_wait(seconds: float) -> str:
    """``seconds`` for a person: "3 days 4 h", "15 min", "40 s"."""
    if seconds >= 86400:
        days, rest = divmod(int(seconds), 86400)
        return f"{days} day{'s' if days != 1 else ''} {rest // 3600} h ({seconds:.0f} s)"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h ({seconds:.0f} s)"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min ({seconds:.0f} s)"
    return f"{seconds:.0f} s"


def bounded_details(details: Any) -> Any:
    """``details`` as given when small, else its JSON cut to ``DETAILS_CHARS`` (already redacted)."""
    if details is None:
        return None
    try:
        encoded = json.dumps(details)
    except (TypeError, ValueError, RecursionError):
        return bounded(str(details), DETAILS_CHARS)
    return details if len(encoded) <= DETAILS_CHARS else bounded(encoded, DETAILS_CHARS)


def error_class_for(status: int) -> type[CMSError]:
    """The exception class for an HTTP status."""
    if status in (400, 422):
        return CMSValidationError
    if status in (401, 403):
        return CMSAuthError
    if status == 404:
        return CMSNotFoundError
    if status == 409:
        return CMSConflictError
    if status == 429:
        return CMSRateLimitError
    if status == 408:
        return CMSConnectionError
    if status >= 500:
        return CMSServerError
    return CMSError


def error_from_response(
    *,
    cms: str,
    call: str,
    method: str,
    url: str,
    status: int,
    text: str,
    retry_after: float | None,
    redactor: Redactor,
) -> CMSError:
    """Build the typed exception for a non-success response; every string is redacted, then cut."""
    code, message, details = parse_error_body(text[:BODY_CHARS])
    cls = error_class_for(status)
    message = bounded(redactor.text(message))
    if retry_after is not None and retry_after > RETRY_AFTER_CAP:
        if status in RETRY_AFTER_STATUSES:
            cls = CMSRateLimitError
        message += (
            f" (the server asks to wait {describe_wait(retry_after)} (Retry-After), longer than the "
            f"{RETRY_AFTER_CAP:g} s the provider waits: not retried)"
        )
    return cls(
        message,
        cms=cms,
        status_code=status,
        code=bounded(redactor.text(code), 100) if code else None,
        details=bounded_details(redactor.value(details)),
        method=method,
        url=redactor.url(url),
        call=call,
        retry_after=retry_after,
    )
