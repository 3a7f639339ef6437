"""Buildin hook: connection, auth and the Buildin page calls, on the shared HTTP core.

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
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.definitions._internal.types import NOTSET, ArgNotSet

from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.core.validation import check_keys, fail, require_bool, require_json, require_str
from airflow_provider_pagemeta.exceptions import (
    CMSConflictError,
    CMSError,
    CMSInvalidResponseError,
    CMSValidationError,
)

if TYPE_CHECKING:
    import requests

CMS = "buildin"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: Top-level keys of the PATCH body (and of what ``modify_page``'s ``fn`` may return).
UPDATE_KEYS = ("properties", "icon", "cover", "in_trash")
RICH_TEXT_KINDS = ("title", "rich_text")
RICH_TEXT_ITEM_KEYS = ("type", "text", "annotations", "plain_text", "href")
ANNOTATION_KEYS = ("bold", "italic", "strikethrough", "underline", "code", "color")
ICON_TYPES = ("emoji", "external")
COVER_TYPES = ("external",)

#: What ``modify_page``'s ``fn`` receives and returns.
PageFn = Callable[[dict[str, Any]], "Mapping[str, Any] | None"]


class BuildinHook(PageMetaHook):
    """Talks to the Buildin API with the token from the connection's password.

    :param buildin_conn_id: the Airflow connection id (conn type ``buildin``).
    """

    conn_name_attr = "buildin_conn_id"
    default_conn_name = "buildin_default"
    conn_type = "buildin"
    hook_name = "Buildin"

    cms: ClassVar[str] = "buildin"
    default_base_url: ClassVar[str | None] = "https://api.buildin.ai"
    auth_scheme: ClassVar[str] = "Bearer"

    def __init__(self, buildin_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(buildin_conn_id, **kwargs)
        self.buildin_conn_id = buildin_conn_id

    # ------------------------------------------------------------------ reads
    def get_page(self, page_id: str) -> dict[str, Any]:
        """``GET /v2/pages/{page_id}``: the page object (properties, icon, cover, trash state)."""
        page, _version = self.get_page_with_version(page_id)
        return page

    def get_page_with_version(self, page_id: str) -> tuple[dict[str, Any], str | None]:
        """The page and the token to send as ``If-Match`` when writing back what was read.

        The token is the ``ETag`` response header when the API sends one, else the page's
        ``last_edited_time`` (the docs only say it is "derived from the last read page version").
        """
        path = page_path(page_id)
        response, parsed = self.request_json_response("GET", path, call="get_page")
        page = self._page_of("get_page", response, parsed)
        return page, version_token(response.headers, page)

    # ------------------------------------------------------------------ writes
    def update_page(
        self,
        page_id: str,
        *,
        properties: Mapping[str, Any] | None = None,
        icon: dict[str, Any] | ArgNotSet | None = NOTSET,
        cover: dict[str, Any] | ArgNotSet | None = NOTSET,
        in_trash: bool | None = None,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH /v2/pages/{page_id}`` with only the given keys; returns the updated page.

        ``icon``/``cover``: NOTSET leaves them, ``None`` removes them. With ``if_match`` the write
        is rejected (``CMSConflictError``) when the page changed since that version was read.
        """
        path = page_path(page_id)
        body = build_update_body(properties=properties, icon=icon, cover=cover, in_trash=in_trash)
        if not body:
            raise fail("nothing to update: give properties, icon, cover or in_trash", "properties", CMS)
        headers = {"If-Match": check_if_match(if_match)} if if_match is not None else None
        return self._patch(path, body, headers, call="update_page")

    def modify_page(self, page_id: str, fn: PageFn, *, max_conflicts: int = 3) -> dict[str, Any]:
        """Optimistic read-modify-write: never overwrite an edit made after our read.

        Reads the page and its version, calls ``fn(page)`` for the ``update_page`` keyword
        arguments (``properties``/``icon``/``cover``/``in_trash``; an empty result means nothing to
        change, and the page is returned without a write), and PATCHes with ``If-Match``. On a 409
        someone edited the page in between: read again and call ``fn`` again on the fresh page.
        At most ``1 + max_conflicts`` PATCHes are sent, then ``CMSConflictError`` is raised.
        """
        path = page_path(page_id)
        if not callable(fn):
            raise fail(f"fn must be callable (page -> update kwargs), got {type(fn).__name__}", "fn", CMS)
        limit = check_max_conflicts(max_conflicts)
        conflicts = 0
        while True:
            page, version = self.get_page_with_version(page_id)
            body = body_from_fn_result(fn(page))
            if not body:
                self.log.info("Buildin page %s already matches: nothing to write", page_id)
                return page
            if version is None:
                raise CMSError(
                    "the page has neither an ETag header nor last_edited_time, so it cannot be "
                    "written safely with If-Match", cms=CMS, method="GET", call="modify_page",
                )
            try:
                return self._patch(path, body, {"If-Match": version}, call="modify_page")
            except CMSConflictError as exc:
                conflicts += 1
                if conflicts > limit:
                    raise conflict_exhausted(page_id, conflicts, limit, exc) from exc
                self.log.warning(
                    "Buildin page %s changed since it was read (version %s); reading it again (conflict %d of %d)",
                    page_id, version, conflicts, limit,
                )

    # ------------------------------------------------------------------ connection test
    def _probe(self) -> str:
        """``GET /v2/users/me``: the docs' "smallest protected request"."""
        me = self.request_json("GET", join("v2", "users", "me"), call="test_connection")
        name = me.get("name") if isinstance(me, dict) else None
        can_write = isinstance(me, dict) and (me.get("capabilities") or {}).get("pages.write") is True
        write_note = "" if can_write else " (the token lacks pages.write: page updates will fail)"
        return f"Connected to Buildin as {name or 'the integration'}{write_note}"

    # ------------------------------------------------------------------ helpers
    def _patch(self, path: str, body: dict[str, Any], headers: dict[str, str] | None, *, call: str) -> dict[str, Any]:
        response, parsed = self.request_json_response("PATCH", path, call=call, json_body=body, headers=headers)
        return self._page_of(call, response, parsed)

    def _page_of(self, call: str, response: requests.Response, parsed: Any) -> dict[str, Any]:
        """The page object; any other JSON (a list, a string) means the answer is unusable."""
        if not isinstance(parsed, dict):
            raise CMSInvalidResponseError(
                f"expected a page object, got JSON {type(parsed).__name__}", cms=CMS,
                status_code=response.status_code, method=response.request.method,
                url=self.redactor.url(response.url), call=call,
            )
        return parsed


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
        raise fail("if_match must be printable ASCII (it is sent as a header)", "if_match", CMS)
    return text.strip()


def check_max_conflicts(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(f"max_conflicts must be a non-negative integer, got {value!r}", "max_conflicts", CMS)
    return value


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
        raise fail(f"page_id must be a UUID like 11111111-1111-4111-8111-111111111111, got {text!r}", "page_id", CMS)
    return join("v2", "pages", segment(text.strip(), "page_id", cms=CMS))


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
    if not isinstance(icon, ArgNotSet):
        body["icon"] = check_icon_or_cover(icon, "icon", ICON_TYPES)
    if not isinstance(cover, ArgNotSet):
        body["cover"] = check_icon_or_cover(cover, "cover", COVER_TYPES)
    if in_trash is not None:
        body["in_trash"] = require_bool(in_trash, "in_trash", cms=CMS)
    return body


def body_from_fn_result(result: Any) -> dict[str, Any]:
    """Check what ``modify_page``'s ``fn`` returned; errors name ``fn`` and the bad key."""
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise fail(f"fn must return a dict of update_page arguments or None, got {type(result).__name__}", "fn", CMS)
    try:
        check_keys(result, UPDATE_KEYS, "fn result", cms=CMS)
        return build_update_body(
            properties=result.get("properties"),
            icon=result.get("icon", NOTSET),
            cover=result.get("cover", NOTSET),
            in_trash=result.get("in_trash"),
        )
    except CMSValidationError as exc:
        raise fail(f"fn returned an invalid update: {exc.message}", "fn", CMS) from None


def check_properties(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(f"properties must be a dict of property name -> object, got {type(value).__name__}",
                   "properties", CMS)
    if not value:
        raise fail("properties must not be empty (leave it out to keep all properties)", "properties", CMS)
    checked = {}
    for name, prop in value.items():
        if not isinstance(name, str) or not name.strip():
            raise fail(f"properties has an empty or non-string name: {name!r}", "properties", CMS)
        # Values of other property kinds pass through as given: they must still be JSON (a set, a
        # datetime) and fit the body cap, named here rather than as "body" after a read was spent.
        checked[name] = require_json(check_property(prop, f"properties.{name}"), f"properties.{name}", cms=CMS)
    return checked


def check_property(value: Any, argument: str) -> dict[str, Any]:
    """One property object: exactly one value key, ``type`` (if given) naming it, optional ``id``."""
    if not isinstance(value, Mapping):
        raise fail(f"{argument} must be a dict like {{\"title\": [...]}}, got {type(value).__name__}", argument, CMS)
    value_keys = [k for k in value if k not in ("id", "type")]
    if len(value_keys) != 1:
        raise fail(f"{argument} must hold exactly one value key such as 'title' or 'rich_text', got "
                   f"{sorted(map(str, value_keys))}", argument, CMS)
    kind = value_keys[0]
    if "type" in value and value["type"] != kind:
        raise fail(f"{argument}.type is {value['type']!r} but the value key is {kind!r}", argument, CMS)
    if "id" in value:
        require_str(value["id"], f"{argument}.id", cms=CMS)
    checked = dict(value)
    if kind in RICH_TEXT_KINDS:
        checked[kind] = check_rich_text(value[kind], f"{argument}.{kind}")
    return checked


def check_rich_text(value: Any, argument: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise fail(f"{argument} must be a list of rich text items, got {type(value).__name__}", argument, CMS)
    return [check_rich_text_item(item, f"{argument}[{i}]") for i, item in enumerate(value)]


def check_rich_text_item(item: Any, argument: str) -> dict[str, Any]:
    """A ``text`` item as given, minus the read-back ``plain_text``/``href`` (derived by the server)."""
    if not isinstance(item, Mapping):
        raise fail(f"{argument} must be a dict like {{\"type\": \"text\", \"text\": {{\"content\": ...}}}}",
                   argument, CMS)
    check_keys(item, RICH_TEXT_ITEM_KEYS, argument, cms=CMS)
    if item.get("type", "text") != "text":
        raise fail(f"{argument}.type must be 'text' (other rich text types are not supported)", argument, CMS)
    text = item.get("text")
    if not isinstance(text, Mapping):
        raise fail(f"{argument}.text must be a dict with 'content'", argument, CMS)
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
        raise fail(f"{argument} must be null or {{\"url\": str}}", argument, CMS)
    check_keys(value, ("url",), argument, cms=CMS)
    return {"url": check_url(value.get("url"), f"{argument}.url")}


def check_annotations(value: Any, argument: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(f"{argument} must be a dict", argument, CMS)
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
        raise fail(f"{argument} must be a dict like {{\"type\": \"external\", \"external\": {{\"url\": ...}}}} or "
                   f"None, got {type(value).__name__}", argument, CMS)
    kind = value.get("type")
    if kind not in types:
        raise fail(f"{argument}.type must be one of {', '.join(types)}, got {kind!r}", argument, CMS)
    check_keys(value, ("type", kind), argument, cms=CMS)
    if kind == "emoji":
        return {"type": "emoji", "emoji": require_str(value.get("emoji"), f"{argument}.emoji", cms=CMS)}
    external = value.get("external")
    if not isinstance(external, Mapping):
        raise fail(f"{argument}.external must be a dict with 'url'", argument, CMS)
    check_keys(external, ("url",), f"{argument}.external", cms=CMS)
    return {"type": "external", "external": {"url": check_url(external.get("url"), f"{argument}.external.url")}}


def check_url(value: Any, argument: str) -> str:
    url = require_str(value, argument, cms=CMS)
    if not url.startswith(("https://", "http://")):
        raise fail(f"{argument} must be an http(s) URL, got {url!r}", argument, CMS)
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
    if "in_trash" in wanted and page.get("in_trash") is not wanted["in_trash"]:
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
        if not isinstance(text, Mapping) or text.get("content") != want["text"]["content"]:
            return False
        if (text.get("link") or None) != want["text"].get("link"):
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
    return bool(wanted == current)
