"""Client-side checks shared by the hooks and operators.

Every check runs before any request and raises :class:`CMSValidationError` naming the argument,
so a bad DAG fails fast with a message that says what to fix, and the CMS never sees a request
that was bound to fail (or, worse, to half-succeed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_pagemeta.exceptions import CMSValidationError

#: Largest JSON body the provider sends. No CMS documents a limit; 1 MB is far above any real
#: page-metadata update and keeps a runaway template from posting megabytes.
MAX_BODY_BYTES = 1_000_000


def invalid(message: str, argument: str, cms: str | None = None) -> CMSValidationError:
    """The ``CMSValidationError`` for bad input, to ``raise`` (one place for the message shape)."""
    return CMSValidationError(message, argument=argument, cms=cms)


def require_str(
    value: Any,
    argument: str,
    *,
    cms: str | None = None,
    allow_empty: bool = False,
    max_length: int | None = None,
) -> str:
    if not isinstance(value, str):
        raise invalid(f"{argument} must be a string, got {type(value).__name__}", argument, cms)
    if not allow_empty and not value.strip():
        raise invalid(f"{argument} must not be empty", argument, cms)
    if max_length is not None and len(value) > max_length:
        raise invalid(f"{argument} is too long ({len(value)} characters, at most {max_length})", argument, cms)
    return value


def optional_str(value: Any, argument: str, *, cms: str | None = None, allow_empty: bool = False) -> str | None:
    if value is None:
        return None
    return require_str(value, argument, cms=cms, allow_empty=allow_empty)


def require_bool(value: Any, argument: str, *, cms: str | None = None) -> bool:
    if not isinstance(value, bool):
        raise invalid(f"{argument} must be true or false, got {type(value).__name__}", argument, cms)
    return value


def as_bool(value: Any, argument: str, *, cms: str | None = None) -> bool:
    """A flag that may arrive as a rendered template (``dry_run="{{ params.dry_run }}"`` renders
    to the string ``"True"``): a bool, or ``"true"``/``"false"`` in any case."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return require_bool(value, argument, cms=cms)


def require_positive_int(value: Any, argument: str, *, cms: str | None = None) -> int:
    """An id that must be a positive integer. A string of digits (what a rendered template
    gives) is accepted and converted."""
    if isinstance(value, bool):
        raise invalid(f"{argument} must be a positive integer, got a boolean", argument, cms)
    # isascii(): str.isdigit() also accepts "²" (int() then raises a bare ValueError) and "٣"
    # (silently another id than the one the DAG author sees).
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise invalid(f"{argument} must be a positive integer, got {type(value).__name__}", argument, cms)
    if value <= 0:
        raise invalid(f"{argument} must be a positive integer, got {value}", argument, cms)
    return value


def require_mapping(value: Any, argument: str, *, cms: str | None = None, allow_empty: bool = False) -> dict:
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict, got {type(value).__name__}", argument, cms)
    if not allow_empty and not value:
        raise invalid(f"{argument} must not be empty", argument, cms)
    return dict(value)


def check_keys(value: Mapping[str, Any], allowed: Iterable[str], argument: str, *, cms: str | None = None) -> None:
    allowed_set = set(allowed)
    unknown = sorted(str(k) for k in value if k not in allowed_set)
    if unknown:
        raise invalid(
            f"{argument} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed_set))}",
            argument,
            cms,
        )


def require_json(value: Any, argument: str, *, cms: str | None = None) -> Any:
    """Check that ``value`` serialises to strict JSON (no NaN/Infinity) within the size cap."""
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise invalid(f"{argument} is not JSON-serialisable: {exc}", argument, cms) from None
    if len(encoded.encode()) > MAX_BODY_BYTES:
        raise invalid(f"{argument} is larger than {MAX_BODY_BYTES} bytes as JSON", argument, cms)
    return value


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
