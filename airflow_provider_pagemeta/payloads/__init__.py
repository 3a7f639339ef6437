"""Pure functions per CMS: validate arguments, build request bodies, diff current vs wanted.

Nothing in here sends a request, so a dry run, a bulk run's plan and a single update all decide
"what would change" with the same code, and it can be tested without a server. The one rule every
CMS's diff shares lives here: :func:`json_equal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it, which is what the CMS stores and returns.

    Python says ``True == 1`` and ``1.0 == True``; JSON does not: a boolean equals only a boolean.
    Numbers compare by value (``1 == 1.0``), strings, ``null``, arrays (in order) and objects (same
    keys, equal values) as usual. Without this, a Buildin checkbox set to ``1`` would count as
    already ``true`` and never be written, while ButterCMS compared strictly: one rule for all four.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple, Mapping)) or isinstance(b, (list, tuple, Mapping)):
        return False
    return bool(a == b)
