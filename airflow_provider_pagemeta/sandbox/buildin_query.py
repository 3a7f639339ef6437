"""Buildin database query (``POST /v2/databases/{id}/query``): body checks, filters, sorts, cursors.

Written from the Buildin V2 docs (Query Database, Conventions): the body has exactly ``filter``,
``sorts``, ``start_cursor`` and ``page_size`` (default 20, at most 100); filters and sorts must
match the database's property schema; "unsupported filters or sorts return explicit errors"; cursors
are opaque. The docs do not spell out the filter grammar, so the sandbox emulates a small, common
part of it and refuses the rest with ``unsupported_filter`` rather than guessing:

* ``{"property": <name>, <type>: {"equals": <value>}}`` for ``select`` (the option name),
  ``title`` and ``rich_text`` (the concatenated plain text) and ``checkbox`` (a boolean); the type
  key must be the property's type;
* ``{"and": [...]}`` and ``{"or": [...]}``, nested at most :data:`MAX_NESTING` levels deep.

Sorts are ``{"property", "direction"}`` or ``{"timestamp": "created_time" | "last_edited_time",
"direction"}`` with ``direction`` ``ascending`` or ``descending``; empty values sort last either way.
Without sorts, records come oldest first. Trashed records are left out. A cursor is base64 of the
offset and a fingerprint of the query (database, filter, sorts): it works only for the query it
came from, so a cursor from another query is a 400, never a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BODY_KEYS = ("filter", "sorts", "start_cursor", "page_size")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_NESTING = 2
FILTER_TYPES = ("select", "title", "rich_text", "checkbox")
TIMESTAMPS = ("created_time", "last_edited_time")
DIRECTIONS = ("ascending", "descending")

Page = dict[str, Any]
Predicate = Callable[[Page], bool]
SortKey = Callable[[Page], Any]


class QueryError(Exception):
    """A 400 with Buildin's ``code`` (``validation_error``, ``unsupported_filter``, ``unsupported_sort``)."""

    def __init__(self, code: str, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.code = code
        self.path = path
        self.message = message


def _invalid(path: str, message: str) -> QueryError:
    return QueryError("validation_error", path, message)


@dataclass(frozen=True)
class Query:
    predicate: Predicate | None
    sorts: list[tuple[SortKey, bool]]
    offset: int
    page_size: int
    fingerprint: str


def parse_query(body: Any, database_id: str, schema: dict[str, str]) -> Query:
    """Check a query body against the database schema (``schema``: property name -> type)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise _invalid(unknown[0], f"unknown field; allowed: {', '.join(BODY_KEYS)}")
    predicate = None if body.get("filter") is None else compile_filter(body["filter"], schema, "filter", 0)
    sorts = compile_sorts(body.get("sorts"), schema)
    page_size = _page_size(body.get("page_size"))
    fingerprint = hashlib.sha256(
        json.dumps([database_id, body.get("filter"), body.get("sorts")], sort_keys=True).encode()
    ).hexdigest()[:20]
    offset = decode_cursor(body.get("start_cursor"), fingerprint)
    return Query(predicate, sorts, offset, page_size, fingerprint)


def _page_size(value: Any) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise _invalid("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}")
    return value


# ---------------------------------------------------------------------- filters
def compile_filter(spec: Any, schema: dict[str, str], path: str, depth: int) -> Predicate:
    if not isinstance(spec, dict):
        raise _invalid(path, "a filter must be an object")
    if len(spec) == 1 and next(iter(spec)) in ("and", "or"):
        return _compound(spec, schema, path, depth)
    if "property" in spec:
        return _property_filter(spec, schema, path)
    raise QueryError("unsupported_filter", path, "only property filters (equals) and and/or compounds are supported")


def _compound(spec: dict[str, Any], schema: dict[str, str], path: str, depth: int) -> Predicate:
    key, items = next(iter(spec.items()))
    if not isinstance(items, list):
        raise _invalid(f"{path}.{key}", "must be an array of filters")
    if depth >= MAX_NESTING:
        raise QueryError("unsupported_filter", f"{path}.{key}", f"compound filters nest at most {MAX_NESTING} levels")
    predicates = [compile_filter(item, schema, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]
    if key == "and":
        return lambda page: all(p(page) for p in predicates)
    return lambda page: any(p(page) for p in predicates)


def _property_filter(spec: dict[str, Any], schema: dict[str, str], path: str) -> Predicate:
    name = spec["property"]
    if not isinstance(name, str):
        raise _invalid(f"{path}.property", "must be a string")
    conditions = [key for key in spec if key != "property"]
    if len(conditions) != 1:
        raise _invalid(path, "a property filter has exactly one condition, keyed by the property type")
    kind = conditions[0]
    if name not in schema:
        raise _invalid(f"{path}.property", f"{name!r} is not a property of this database")
    if kind not in FILTER_TYPES:
        raise QueryError("unsupported_filter", f"{path}.{kind}", f"{kind} filters are not supported")
    if schema[name] != kind:
        raise _invalid(f"{path}.{kind}", f"property {name!r} is a {schema[name]} property, not {kind}")
    condition = spec[kind]
    if not isinstance(condition, dict) or len(condition) != 1:
        raise _invalid(f"{path}.{kind}", "must be an object with one operator")
    operator, value = next(iter(condition.items()))
    if operator != "equals":
        raise QueryError("unsupported_filter", f"{path}.{kind}.{operator}", "only the equals operator is supported")
    wanted_type = bool if kind == "checkbox" else str
    if not isinstance(value, wanted_type):
        raise _invalid(f"{path}.{kind}.equals", f"must be a {'boolean' if wanted_type is bool else 'string'}")
    return lambda page: property_value(page, name, kind) == value


def property_value(page: Page, name: str, kind: str) -> Any:
    """What filters and sorts compare: the option name, the plain text, or the boolean (None: empty)."""
    prop = page["properties"].get(name)
    if prop is None:
        return None
    if kind == "select":
        option = prop.get("select")
        return option.get("name") if option else None
    if kind in ("title", "rich_text"):
        return "".join(item.get("plain_text", "") for item in prop.get(kind) or [])
    return prop.get(kind)


# ---------------------------------------------------------------------- sorts
def compile_sorts(sorts: Any, schema: dict[str, str]) -> list[tuple[SortKey, bool]]:
    if sorts is None:
        return []
    if not isinstance(sorts, list):
        raise _invalid("sorts", "must be an array")
    return [_sort(item, schema, f"sorts[{i}]") for i, item in enumerate(sorts)]


def _sort(item: Any, schema: dict[str, str], path: str) -> tuple[SortKey, bool]:
    if not isinstance(item, dict) or set(item) not in ({"property", "direction"}, {"timestamp", "direction"}):
        raise QueryError("unsupported_sort", path, "a sort has property or timestamp, and direction")
    if item["direction"] not in DIRECTIONS:
        raise QueryError("unsupported_sort", f"{path}.direction", "must be ascending or descending")
    descending = item["direction"] == "descending"
    if "property" in item:
        name = item["property"]
        if not isinstance(name, str) or name not in schema:
            raise _invalid(f"{path}.property", f"{name!r} is not a property of this database")
        kind = schema[name]
        return (lambda page: _empty_as_none(property_value(page, name, kind))), descending
    stamp = item["timestamp"]
    if stamp not in TIMESTAMPS:
        raise QueryError("unsupported_sort", f"{path}.timestamp", "must be created_time or last_edited_time")
    return (lambda page: page[stamp]), descending


def _empty_as_none(value: Any) -> Any:
    return None if value is None or value == "" else value


def sort_pages(pages: list[Page], sorts: list[tuple[SortKey, bool]]) -> list[Page]:
    """Stable multi-key sort, least significant key first; empty values last in either direction."""
    rows = list(pages)
    for key, descending in reversed(sorts):
        present = [page for page in rows if key(page) is not None]
        absent = [page for page in rows if key(page) is None]
        rows = sorted(present, key=key, reverse=descending) + absent
    return rows


# ---------------------------------------------------------------------- cursors and results
def encode_cursor(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{fingerprint}".encode()).decode().rstrip("=")


def decode_cursor(cursor: Any, fingerprint: str) -> int:
    if cursor is None:
        return 0
    if not isinstance(cursor, str):
        raise _invalid("start_cursor", "must be a string")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset_text, _, mark = raw.partition(":")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid("start_cursor", "is not a cursor this API returned") from None
    if mark != fingerprint or offset < 0:
        raise _invalid("start_cursor", "belongs to another query: send the same filter and sorts")
    return offset


def run_query(query: Query, pages: list[Page]) -> dict[str, Any]:
    """The list envelope: ``object``, ``results``, ``next_cursor``, ``has_more``."""
    rows = [page for page in pages if not page.get("in_trash")]
    if query.predicate is not None:
        rows = [page for page in rows if query.predicate(page)]
    rows = sort_pages(rows, query.sorts)
    end = query.offset + query.page_size
    has_more = end < len(rows)
    return {
        "object": "list",
        "results": rows[query.offset:end],
        "next_cursor": encode_cursor(end, query.fingerprint) if has_more else None,
        "has_more": has_more,
    }
