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

SNIPPET_CHARS = 300


def parse_error_body(text: str) -> tuple[str | None, str, Any]:
    """Return ``(code, message, details)`` from an error body of any of the CMSs."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
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
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS] + "..."


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
    """Build the typed exception for a non-success response; every string is redacted."""
    code, message, details = parse_error_body(text)
    cls = error_class_for(status)
    return cls(
        redactor.text(message),
        cms=cms,
        status_code=status,
        code=redactor.text(code) if code else None,
        details=redactor.value(details),
        method=method,
        url=redactor.url(url),
        call=call,
        retry_after=retry_after,
    )
