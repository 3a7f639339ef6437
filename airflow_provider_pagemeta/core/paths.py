"""Build request paths from user input without letting it change the endpoint.

Every segment that comes from a user (a page id, a slug) is percent-encoded with no safe
characters, so ``/``, ``?``, ``#`` and spaces cannot leave the segment. Empty, ``.`` and ``..``
segments are refused outright: HTTP clients and servers normalise dot-segments, even encoded
ones, which would move the request to another path.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow_provider_pagemeta.exceptions import CMSValidationError

DOT_SEGMENTS = frozenset({".", "..", "%2e", "%2e%2e", ".%2e", "%2e."})


def segment(value: object, argument: str, *, cms: str | None = None) -> str:
    """Validate one user-supplied path segment and return it percent-encoded."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CMSValidationError(
            f"{argument} must be a string, got {type(value).__name__}", argument=argument, cms=cms
        )
    text = str(value)
    if not text.strip():
        raise CMSValidationError(f"{argument} must not be empty", argument=argument, cms=cms)
    if text.lower() in DOT_SEGMENTS:
        raise CMSValidationError(
            f"{argument} must not be {text!r} (a dot-segment would change the request path)",
            argument=argument,
            cms=cms,
        )
    return quote(text, safe="")


def join(*parts: str) -> str:
    """Join already-safe parts into an absolute path (``join("v2", "pages", seg)``)."""
    return "/" + "/".join(p.strip("/") for p in parts if p != "")
