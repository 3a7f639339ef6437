"""The one converter for every number and flag a user, a template or a connection gives.

Values reach the provider as Python objects from a DAG, as strings from a rendered template
(``dry_run="{{ params.dry_run }}"`` renders to ``"True"``), and as strings or JSON numbers from
a connection's extras. Python's own converters are too generous for that: ``int("٣")`` is 3,
``"²".isdigit()`` is True (and ``int("²")`` then raises a bare ``ValueError``), ``float("nan")``
and ``float("inf")`` are numbers, and ``True`` is an ``int``. Each of those has turned a typo into
another page id, a pacing that never waits, or a raw exception after a write had landed. So every
conversion goes through here, before any request, and a bad value is a ``CMSValidationError``
naming the argument (or the connection extra) it came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_pagemeta.exceptions import CMSValidationError

#: ASCII digits only: ``str.isdigit`` also accepts superscripts and other scripts' digits.
_ASCII_INT = re.compile(r"[0-9]+")
#: A plain decimal number in ASCII (no sign, no exponent: durations are written by people).
_ASCII_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

_TRUE = frozenset({"true"})
_FALSE = frozenset({"false"})


def _fail(message: str, argument: str, cms: str | None) -> CMSValidationError:
    return CMSValidationError(message, argument=argument, cms=cms)


def _show(value: Any) -> str:
    """A short, safe rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_bool(value: Any, argument: str, *, cms: str | None = None) -> bool:
    """A flag: ``True``/``False``, or the strings ``"true"``/``"false"`` in any case (what a
    rendered template gives). Anything else (``1``, ``"yes"``, ``None``) is refused rather than
    guessed: a ``dry_run`` read the wrong way round writes to production."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise _fail(f"{argument} must be true or false, got {_show(value)}", argument, cms)


def to_int(
    value: Any, argument: str, *, minimum: int = 0, maximum: int | None = None, cms: str | None = None
) -> int:
    """A whole number in ``[minimum, maximum]``: an ``int`` (not a ``bool``) or a string of ASCII
    digits (surrounding blanks allowed)."""
    if isinstance(value, str) and _ASCII_INT.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{argument} must be a whole number written in ASCII digits, got {_show(value)}", argument, cms)
    if value < minimum:
        raise _fail(f"{argument} must be >= {minimum}, got {value}", argument, cms)
    if maximum is not None and value > maximum:
        raise _fail(f"{argument} must be <= {maximum}, got {value}", argument, cms)
    return value


def to_id(value: Any, argument: str, *, cms: str | None = None) -> int:
    """A numeric id (a page, a meta entry, a file): a positive whole number."""
    return to_int(value, argument, minimum=1, cms=cms)


def to_duration(
    value: Any, argument: str, *, maximum: float | None = None, cms: str | None = None
) -> float:
    """Seconds: a finite number > 0 (``int``, ``float`` or an ASCII decimal string).

    NaN, infinities and non-ASCII digits are refused here, because further on they turn into a
    pacing that never waits, an ``OverflowError`` in a socket call, or another number than the one
    the DAG author sees."""
    number: float | None = None
    if isinstance(value, str) and _ASCII_DECIMAL.fullmatch(value.strip()):
        number = float(value.strip())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    if number is None or not math.isfinite(number):
        raise _fail(f"{argument} must be a finite number of seconds, got {_show(value)}", argument, cms)
    if number <= 0:
        raise _fail(f"{argument} must be a positive number of seconds, got {_show(value)}", argument, cms)
    if maximum is not None and number > maximum:
        raise _fail(f"{argument} must be at most {maximum:g} seconds, got {_show(value)}", argument, cms)
    return number


def to_file_ids(value: Any, argument: str, *, cms: str | None = None) -> Any:
    """A mapping key -> file id with each id converted by :func:`to_id`. Anything that is not a
    mapping is returned as is, for the caller's own shape check to name."""
    if not isinstance(value, Mapping):
        return value
    return {key: to_id(item, f"{argument}[{key!r}]", cms=cms) for key, item in value.items()}


def to_rows(value: Any, argument: str = "updates") -> list[Any]:
    """A bulk operator's rows after templating: a list (an XComArg arrives as the upstream task's
    list), or a string holding a JSON array (what ``{{ ... | tojson }}`` renders). A Python
    literal is not read: ``ast.literal_eval`` of a rendered ``{{ rows }}`` would accept ``True``
    and ``None`` spellings JSON never has, and hide a template that forgot ``| tojson``."""
    if isinstance(value, str):
        import json

        text = value.strip()
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise _fail(
                f"{argument} rendered to a string that is not a JSON list: {shown!r} "
                "(render lists with `| tojson`, or pass the XComArg itself)",
                argument,
                None,
            ) from None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise _fail(f"{argument} must be a list of dicts, got {type(value).__name__}", argument, None)
    return value
