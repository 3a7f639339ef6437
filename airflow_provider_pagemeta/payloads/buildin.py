"""Buildin page updates as data: argument checks, the PATCH body, version tokens and the diff.

Buildin pages are edited by people while DAGs run. ``If-Match`` exists so that a DAG never
overwrites a human's edit with data it read before that edit: :meth:`BuildinHook.modify_page`
reads the page with its version token, computes the change from what it read, and writes only
if the page is still at that version, reading again on a 409.

Client-side checks follow the shapes the Buildin V2 docs show (Update Page, Get Page):

- ``properties``: a non-empty dict of property name -> property object. A property object holds
  exactly one value key (``title``, ``rich_text``, ``select``, ...), optionally ``type`` (equal to
  that key) and ``id``. ``title`` and ``rich_text`` values are checked item by item; other
  property types are passed on as given (the docs do not describe them).
- a rich-text item: ``{"type": "text", "text": {"content": str, "link": null | {"url": str}}}``
  (``type`` may be omitted; only ``text`` items are accepted), with optional ``annotations``.
  ``plain_text`` and ``href`` are tolerated so that items read from a page can be sent back, and
  they are stripped before sending: they are derived from ``content``/``link`` by the server.
- ``icon``: ``{"type": "emoji", "emoji": str}`` or ``{"type": "external", "external": {"url"}}``;
  ``cover``: external only (the docs document no other cover type for writes); ``None`` removes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_pagemeta import NOTSET, is_notset
from airflow_provider_pagemeta.core.convert import to_int
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.core.validation import check_keys, invalid, require_bool, require_json, require_str
from airflow_provider_pagemeta.exceptions import CMSConflictError, CMSValidationError
from airflow_provider_pagemeta.payloads import json_equal

CMS = "buildin"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: Top-level keys of the PATCH body (and of what ``modify_page``'s ``fn`` may return).
UPDATE_KEYS = ("properties", "icon", "cover", "in_trash")
RICH_TEXT_KINDS = ("title", "rich_text")
RICH_TEXT_ITEM_KEYS = ("type", "text", "annotations", "plain_text", "href")
ANNOTATION_KEYS = ("bold", "italic", "strikethrough", "underline", "code", "color")
ICON_TYPES = ("emoji", "external")
COVER_TYPES = ("external",)
#: Largest ``page_size`` of a database query (Query Database: "max 100").
QUERY_PAGE_SIZE_MAX = 100
SORT_DIRECTIONS = ("ascending", "descending")
SORT_TIMESTAMPS = ("created_time", "last_edited_time")

#: What ``modify_page``'s ``fn`` receives and returns.
PageFn = Callable[[dict[str, Any]], "Mapping[str, Any] | None"]


# ---------------------------------------------------------------------- version tokens
def version_token(headers: Mapping[str, str], page: Mapping[str, Any]) -> str | None:
    """The ``If-Match`` value for a page just read: ``ETag`` when present, else ``last_edited_time``."""
    etag = headers.get("ETag")
    if etag and etag.strip():
        return etag.strip()
    edited = page.get("last_edited_time")
    return edited if isinstance(edited, str) and edited else None


def check_if_match(value: Any) -> str:
    text = require_str(value, "if_match", cms=CMS)
    if any(ord(ch) < 0x20 or ord(ch) > 0x7E for ch in text):
        raise invalid("if_match must be printable ASCII (it is sent as a header)", "if_match", CMS)
    return text.strip()


def check_max_conflicts(value: Any) -> int:
    return to_int(value, "max_conflicts", maximum=100, cms=CMS)


def conflict_exhausted(page_id: str, conflicts: int, limit: int, last: CMSConflictError) -> CMSConflictError:
    return CMSConflictError(
        f"page {page_id} kept changing while it was being updated: {conflicts} writes were rejected with "
        f"409 conflict (max_conflicts={limit}); nothing was overwritten. Last answer: {last.message}",
        cms=CMS, status_code=409, code=last.code, details=last.details, method="PATCH", url=last.url,
        call="modify_page",
    )


# ---------------------------------------------------------------------- argument checks
def page_path(page_id: Any) -> str:
    """``/v2/pages/{page_id}`` for a UUID page id (checked before any request)."""
    text = require_str(page_id, "page_id", cms=CMS)
    if not UUID_RE.match(text.strip()):
        raise invalid(f"page_id must be a UUID like 11111111-1111-4111-8111-111111111111, got {text!r}", "page_id", CMS)
    return join("v2", "pages", segment(text.strip(), "page_id", cms=CMS))


def database_query_path(database_id: Any) -> str:
    """``/v2/databases/{database_id}/query`` for a UUID database id (checked before any request)."""
    text = require_str(database_id, "database_id", cms=CMS)
    if not UUID_RE.match(text.strip()):
        raise invalid(f"database_id must be a UUID like 11111111-1111-4111-8111-111111111111, got {text!r}",
                      "database_id", CMS)
    return join("v2", "databases", segment(text.strip(), "database_id", cms=CMS), "query")


def query_body(filter: Any, sorts: Any, page_size: Any) -> dict[str, Any]:
    """The Query Database body without its cursor, each key checked.

    ``filter`` is passed on as given (a JSON object): the docs name 19 filter variants without
    spelling out their grammar, so the server is the judge and answers ``unsupported_filter``
    (``CMSValidationError`` with that ``code``) for what it does not take. ``sorts`` has the two
    documented shapes, ``{"property", "direction"}`` and ``{"timestamp", "direction"}``, checked here.
    """
    body: dict[str, Any] = {
        "page_size": to_int(page_size, "page_size", minimum=1, maximum=QUERY_PAGE_SIZE_MAX, cms=CMS)}
    if filter is not None:
        if not isinstance(filter, Mapping) or not filter:
            raise invalid("filter must be a non-empty dict like {\"property\": \"Status\", \"select\": "
                          "{\"equals\": \"Doing\"}} (leave it out to match every page)", "filter", CMS)
        body["filter"] = require_json(dict(filter), "filter", cms=CMS)
    if sorts is not None:
        if not isinstance(sorts, (list, tuple)):
            raise invalid(f"sorts must be a list of sort objects, got {type(sorts).__name__}", "sorts", CMS)
        body["sorts"] = [check_sort(item, f"sorts[{i}]") for i, item in enumerate(sorts)]
    return body


def check_sort(value: Any, argument: str) -> dict[str, Any]:
    """``{"property": name, "direction"}`` or ``{"timestamp": created_time|last_edited_time, "direction"}``."""
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict with property (or timestamp) and direction", argument, CMS)
    if set(value) not in ({"property", "direction"}, {"timestamp", "direction"}):
        raise invalid(f"{argument} must have exactly property (or timestamp) and direction, got "
                      f"{sorted(map(str, value))}", argument, CMS)
    if value["direction"] not in SORT_DIRECTIONS:
        raise invalid(f"{argument}.direction must be ascending or descending, got {value['direction']!r}",
                      f"{argument}.direction", CMS)
    if "property" in value:
        require_str(value["property"], f"{argument}.property", cms=CMS)
    elif value["timestamp"] not in SORT_TIMESTAMPS:
        raise invalid(f"{argument}.timestamp must be created_time or last_edited_time, got {value['timestamp']!r}",
                      f"{argument}.timestamp", CMS)
    return dict(value)


def build_update_body(
    *,
    properties: Any = None,
    icon: Any = NOTSET,
    cover: Any = NOTSET,
    in_trash: Any = None,
) -> dict[str, Any]:
    """The PATCH body with only the given keys, each checked; ``{}`` when nothing is given."""
    body: dict[str, Any] = {}
    if properties is not None:
        body["properties"] = check_properties(properties)
    if not is_notset(icon):
        body["icon"] = check_icon_or_cover(icon, "icon", ICON_TYPES)
    if not is_notset(cover):
        body["cover"] = check_icon_or_cover(cover, "cover", COVER_TYPES)
    if in_trash is not None:
        body["in_trash"] = require_bool(in_trash, "in_trash", cms=CMS)
    return body


def body_from_fn_result(result: Any) -> dict[str, Any]:
    """Check what ``modify_page``'s ``fn`` returned; errors name ``fn`` and the bad key."""
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise invalid(f"fn must return a dict of update_page arguments or None, got {type(result).__name__}", "fn", CMS)
    try:
        check_keys(result, UPDATE_KEYS, "fn result", cms=CMS)
        return build_update_body(
            properties=result.get("properties"),
            icon=result.get("icon", NOTSET),
            cover=result.get("cover", NOTSET),
            in_trash=result.get("in_trash"),
        )
    except CMSValidationError as exc:
        raise invalid(f"fn returned an invalid update: {exc.message}", "fn", CMS) from None


def check_properties(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(f"properties must be a dict of property name -> object, got {type(value).__name__}",
                   "properties", CMS)
    if not value:
        raise invalid("properties must not be empty (leave it out to keep all properties)", "properties", CMS)
    checked = {}
    for name, prop in value.items():
        if not isinstance(name, str) or not name.strip():
            raise invalid(f"properties has an empty or non-string name: {name!r}", "properties", CMS)
        # Values of other property kinds pass through as given: they must still be JSON (a set, a
        # datetime) and fit the body cap, named here rather than as "body" after a read was spent.
        checked[name] = require_json(check_property(prop, f"properties.{name}"), f"properties.{name}", cms=CMS)
    return checked


def check_property(value: Any, argument: str) -> dict[str, Any]:
    """One property object: exactly one value key, ``type`` (if given) naming it, optional ``id``."""
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict like {{\"title\": [...]}}, got {type(value).__name__}", argument, CMS)
    value_keys = [k for k in value if k not in ("id", "type")]
    if len(value_keys) != 1:
        raise invalid(f"{argument} must hold exactly one value key such as 'title' or 'rich_text', got "
                   f"{sorted(map(str, value_keys))}", argument, CMS)
    kind = value_keys[0]
    if "type" in value and value["type"] != kind:
        raise invalid(f"{argument}.type is {value['type']!r} but the value key is {kind!r}", argument, CMS)
    if "id" in value:
        require_str(value["id"], f"{argument}.id", cms=CMS)
    checked = dict(value)
    if kind in RICH_TEXT_KINDS:
        checked[kind] = check_rich_text(value[kind], f"{argument}.{kind}")
    return checked


def check_rich_text(value: Any, argument: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid(f"{argument} must be a list of rich text items, got {type(value).__name__}", argument, CMS)
    return [check_rich_text_item(item, f"{argument}[{i}]") for i, item in enumerate(value)]


def check_rich_text_item(item: Any, argument: str) -> dict[str, Any]:
    """A ``text`` item as given, minus the read-back ``plain_text``/``href`` (derived by the server)."""
    if not isinstance(item, Mapping):
        raise invalid(f"{argument} must be a dict like {{\"type\": \"text\", \"text\": {{\"content\": ...}}}}",
                   argument, CMS)
    check_keys(item, RICH_TEXT_ITEM_KEYS, argument, cms=CMS)
    if item.get("type", "text") != "text":
        raise invalid(f"{argument}.type must be 'text' (other rich text types are not supported)", argument, CMS)
    text = item.get("text")
    if not isinstance(text, Mapping):
        raise invalid(f"{argument}.text must be a dict with 'content'", argument, CMS)
    check_keys(text, ("content", "link"), f"{argument}.text", cms=CMS)
    content = require_str(text.get("content"), f"{argument}.text.content", cms=CMS, allow_empty=True)
    checked: dict[str, Any] = {"type": "text", "text": {"content": content}}
    if "link" in text:
        checked["text"]["link"] = check_link(text["link"], f"{argument}.text.link")
    if item.get("plain_text") is not None:
        require_str(item["plain_text"], f"{argument}.plain_text", cms=CMS, allow_empty=True)
    if "annotations" in item:
        checked["annotations"] = check_annotations(item["annotations"], f"{argument}.annotations")
    return checked


def check_link(value: Any, argument: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be null or {{\"url\": str}}", argument, CMS)
    check_keys(value, ("url",), argument, cms=CMS)
    return {"url": check_url(value.get("url"), f"{argument}.url")}


def check_annotations(value: Any, argument: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict", argument, CMS)
    check_keys(value, ANNOTATION_KEYS, argument, cms=CMS)
    for key, flag in value.items():
        if key == "color":
            require_str(flag, f"{argument}.color", cms=CMS)
        else:
            require_bool(flag, f"{argument}.{key}", cms=CMS)
    return dict(value)


def check_icon_or_cover(value: Any, argument: str, types: tuple[str, ...]) -> dict[str, Any] | None:
    """``None`` (remove), an emoji (icons only) or an external URL."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict like {{\"type\": \"external\", \"external\": {{\"url\": ...}}}} or "
                   f"None, got {type(value).__name__}", argument, CMS)
    kind = value.get("type")
    if kind not in types:
        raise invalid(f"{argument}.type must be one of {', '.join(types)}, got {kind!r}", argument, CMS)
    check_keys(value, ("type", kind), argument, cms=CMS)
    if kind == "emoji":
        return {"type": "emoji", "emoji": require_str(value.get("emoji"), f"{argument}.emoji", cms=CMS)}
    external = value.get("external")
    if not isinstance(external, Mapping):
        raise invalid(f"{argument}.external must be a dict with 'url'", argument, CMS)
    check_keys(external, ("url",), f"{argument}.external", cms=CMS)
    return {"type": "external", "external": {"url": check_url(external.get("url"), f"{argument}.external.url")}}


def check_url(value: Any, argument: str) -> str:
    url = require_str(value, argument, cms=CMS)
    if not url.startswith(("https://", "http://")):
        raise invalid(f"{argument} must be an http(s) URL, got {url!r}", argument, CMS)
    return url


# ---------------------------------------------------------------------- diffing (idempotent updates)
def changes_to_apply(
    page: Mapping[str, Any],
    *,
    properties: Mapping[str, Any] | None = None,
    icon: Any = NOTSET,
    cover: Any = NOTSET,
    in_trash: bool | None = None,
) -> dict[str, Any]:
    """The ``update_page`` kwargs still needed to give ``page`` the wanted values (``{}`` if none).

    Meant as (part of) a ``modify_page`` ``fn``: computed from the freshly read page, so a rerun
    or a retry after a lost response writes nothing, and a conflicting edit to another property
    is kept. Rich text compares content and link (and annotations when wanted ones are given).
    """
    wanted = build_update_body(properties=properties, icon=icon, cover=cover, in_trash=in_trash)
    current_props = page.get("properties") or {}
    changes: dict[str, Any] = {}
    props = {name: prop for name, prop in wanted.get("properties", {}).items()
             if not property_matches(prop, current_props.get(name))}
    if props:
        changes["properties"] = props
    for key in ("icon", "cover"):
        if key in wanted and not _matches(wanted[key], page.get(key)):
            changes[key] = wanted[key]
    if "in_trash" in wanted and not json_equal(page.get("in_trash"), wanted["in_trash"]):
        changes["in_trash"] = wanted["in_trash"]
    return changes


def property_matches(wanted: Mapping[str, Any], current: Any) -> bool:
    if not isinstance(current, Mapping):
        return False
    kind = next(k for k in wanted if k not in ("id", "type"))
    if kind in RICH_TEXT_KINDS:
        return _rich_text_matches(wanted[kind], current.get(kind))
    return _matches(wanted[kind], current.get(kind))


def _rich_text_matches(wanted: list[dict[str, Any]], current: Any) -> bool:
    if not isinstance(current, list) or len(current) != len(wanted):
        return False
    for want, have in zip(wanted, current, strict=True):
        text = have.get("text") if isinstance(have, Mapping) else None
        if not isinstance(text, Mapping) or not json_equal(text.get("content"), want["text"]["content"]):
            return False
        if not json_equal(text.get("link") or None, want["text"].get("link")):
            return False
        if "annotations" in want and not _matches(want["annotations"], have.get("annotations") or {}):
            return False
    return True


def _matches(wanted: Any, current: Any) -> bool:
    """``wanted`` is contained in ``current`` (dicts by their wanted keys, lists whole)."""
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(_matches(v, current.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (isinstance(current, list) and len(current) == len(wanted)
                and all(_matches(w, c) for w, c in zip(wanted, current, strict=True)))
    return json_equal(wanted, current)


# ---------------------------------------------------------------------- the journal's diff
#: Journal field names: ``properties.<name>`` for a property, else the page key itself.
PROPERTIES_PREFIX = "properties."


def page_changes(
    page: Mapping[str, Any],
    *,
    properties: Mapping[str, Any] | None = None,
    icon: Any = NOTSET,
    cover: Any = NOTSET,
    in_trash: bool | None = None,
) -> dict[str, dict[str, Any]]:
    """What an update would change on ``page``, as the journal's ``{field: {"old", "new"}}``.

    Only the values :func:`changes_to_apply` would still send count. ``old`` is the page's own
    property object (what a restore sends back), or its ``icon``/``cover``/``in_trash`` (a
    ``null`` icon is a value: "no icon"); it is left out when the page had no such property.
    """
    wanted = changes_to_apply(page, properties=properties, icon=icon, cover=cover, in_trash=in_trash)
    current_props = page.get("properties") or {}
    changes: dict[str, dict[str, Any]] = {}
    for name, prop in (wanted.get("properties") or {}).items():
        change = {"old": current_props[name]} if name in current_props else {}
        changes[PROPERTIES_PREFIX + name] = {**change, "new": prop}
    for key in ("icon", "cover", "in_trash"):
        if key in wanted:
            changes[key] = {**({"old": page[key]} if key in page else {}), "new": wanted[key]}
    return changes
