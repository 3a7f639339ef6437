"""Webflow page metadata as data: ids, update bodies, bulk entries, and what an update would change.

Pure functions only (no I/O), shared by :class:`~airflow_provider_pagemeta.hooks.webflow.WebflowHook`,
the operators and the bulk adapter, so a single update, a bulk batch and a dry run validate and
compare exactly alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from airflow_provider_pagemeta.core.validation import check_keys, invalid, require_bool, require_json, require_str
from airflow_provider_pagemeta.payloads import json_equal

CMS = "webflow"

#: Webflow ids (pages, sites, locales) are MongoDB object ids: 24 lowercase hex digits. The API
#: documents the format name ``objectid`` and every example has this shape.
OBJECT_ID = re.compile(r"[0-9a-f]{24}")

#: Webflow's documented maximum ``limit`` for List Pages, and the entry range of the bulk endpoint.
PAGE_LIMIT = 100
BULK_MAX = 100

SEO_KEYS = ("title", "description")
#: ``openGraph`` keys as sent, and the snake_case spellings (the official SDK's) accepted for them.
OPEN_GRAPH_KEYS = ("title", "titleCopied", "description", "descriptionCopied")
OPEN_GRAPH_ALIASES = {"title_copied": "titleCopied", "description_copied": "descriptionCopied"}
OPEN_GRAPH_BOOLS = frozenset({"titleCopied", "descriptionCopied"})
#: Webflow's schema default for the ``*Copied`` flags: absent means "copied from the SEO value".
OPEN_GRAPH_DEFAULTS: dict[str, Any] = {"titleCopied": True, "descriptionCopied": True}

#: Keys of a bulk entry, with the snake_case spellings accepted for the camelCase ones.
BULK_ENTRY_ALIASES = {"page_id": "id", "locale_id": "localeId", "open_graph": "openGraph"}
BULK_ENTRY_KEYS = ("id", "localeId", "title", "slug", "seo", "openGraph")

def validate_object_id(value: Any, argument: str) -> str:
    """Check a Webflow id before it goes into a path or query.

    A typo'd id would otherwise cost a request and come back as an opaque 400 or 404.
    """
    if not isinstance(value, str) or not OBJECT_ID.fullmatch(value):
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise invalid(f"{argument} must be a Webflow id (24 lowercase hex digits), got {shown}", argument, CMS)
    return value


def optional_object_id(value: Any, argument: str) -> str | None:
    return None if value is None else validate_object_id(value, argument)


def _seo(value: Any, argument: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict with keys {', '.join(SEO_KEYS)}, got {type(value).__name__}",
                   argument, CMS)
    if not value:
        raise invalid(f"{argument} must not be empty (give at least one of {', '.join(SEO_KEYS)})", argument, CMS)
    check_keys(value, SEO_KEYS, argument, cms=CMS)
    return {key: require_str(item, f"{argument}.{key}", cms=CMS, allow_empty=True) for key, item in value.items()}


def _open_graph(value: Any, argument: str) -> dict[str, Any]:
    """Validate ``open_graph`` and return it camelCased, the only spelling Webflow accepts."""
    if not isinstance(value, Mapping):
        raise invalid(f"{argument} must be a dict with keys {', '.join(OPEN_GRAPH_KEYS)}, got {type(value).__name__}",
                   argument, CMS)
    if not value:
        raise invalid(f"{argument} must not be empty (give at least one of {', '.join(OPEN_GRAPH_KEYS)})",
                   argument, CMS)
    check_keys(value, (*OPEN_GRAPH_KEYS, *OPEN_GRAPH_ALIASES), argument, cms=CMS)
    wire: dict[str, Any] = {}
    for key, (name, item) in _fold_aliases(value, OPEN_GRAPH_ALIASES, argument).items():
        if name in OPEN_GRAPH_BOOLS:
            wire[name] = require_bool(item, f"{argument}.{key}", cms=CMS)
        else:
            wire[name] = require_str(item, f"{argument}.{key}", cms=CMS, allow_empty=True)
    return wire


def _fold_aliases(value: Mapping[str, Any], aliases: Mapping[str, str], argument: str) -> dict[str, tuple[str, Any]]:
    """``{given key: (wire name, value)}``, refusing a field given under both of its spellings
    (which one would win is a guess the user should not have to make)."""
    folded: dict[str, tuple[str, Any]] = {}
    names: set[str] = set()
    for key, item in value.items():
        name = aliases.get(str(key), str(key))
        if name in names:
            raise invalid(f"{argument} gives {name} twice (camelCase and snake_case); keep one", argument, CMS)
        names.add(name)
        folded[str(key)] = (name, item)
    return folded


def normalize_update(
    *,
    title: Any = None,
    slug: Any = None,
    seo: Any = None,
    open_graph: Any = None,
    argument_prefix: str = "",
) -> dict[str, Any]:
    """The validated wire body of one page update (``title``, ``slug``, ``seo``, ``openGraph``).

    Only the given (non-None) fields are included: Webflow treats the PUT as a partial update, so
    an absent field keeps its value. An update with no field at all is refused, since it would
    be a request that changes nothing. ``argument_prefix`` (e.g. ``"updates[3]."``) lets batch
    callers name the offending row in the error.
    """
    body: dict[str, Any] = {}
    if title is not None:
        body["title"] = require_str(title, f"{argument_prefix}title", cms=CMS)
    if slug is not None:
        body["slug"] = require_str(slug, f"{argument_prefix}slug", cms=CMS)
    if seo is not None:
        body["seo"] = _seo(seo, f"{argument_prefix}seo")
    if open_graph is not None:
        body["openGraph"] = _open_graph(open_graph, f"{argument_prefix}open_graph")
    if not body:
        argument = f"{argument_prefix}fields"
        raise invalid("no fields to update: give at least one of title, slug, seo, open_graph", argument, CMS)
    for key, value in body.items():  # size now, naming the field: not as "body" after a read was spent
        require_json(value, f"{argument_prefix}{'open_graph' if key == 'openGraph' else key}", cms=CMS)
    return body


def normalize_bulk_entry(entry: Any, argument: str = "pages[0]") -> dict[str, Any]:
    """One validated ``PATCH /beta/pages`` entry: ``id``, optional ``localeId``, and the update fields.

    Accepts the wire spelling (``id``, ``localeId``, ``openGraph``) or the hook's own
    (``page_id``, ``locale_id``, ``open_graph``), and returns the wire spelling.
    """
    if not isinstance(entry, Mapping):
        raise invalid(f"{argument} must be a dict, got {type(entry).__name__}", argument, CMS)
    check_keys(entry, (*BULK_ENTRY_KEYS, *BULK_ENTRY_ALIASES), argument, cms=CMS)
    fields = dict(_fold_aliases(entry, BULK_ENTRY_ALIASES, argument).values())
    if "id" not in fields:
        raise invalid(f"{argument} needs the page id (key id)", f"{argument}.id", CMS)
    wire: dict[str, Any] = {"id": validate_object_id(fields["id"], f"{argument}.id")}
    locale_id = optional_object_id(fields.get("localeId"), f"{argument}.localeId")
    if locale_id is not None:
        wire["localeId"] = locale_id
    wire.update(normalize_update(
        title=fields.get("title"), slug=fields.get("slug"), seo=fields.get("seo"),
        open_graph=fields.get("openGraph"), argument_prefix=f"{argument}.",
    ))
    return wire


def bulk_body(pages: Any) -> list[dict[str, Any]]:
    """The checked entries of one ``PATCH /beta/pages`` call: 1 to 100, one per page and locale."""
    if not isinstance(pages, list):
        raise invalid(f"pages must be a list of dicts, got {type(pages).__name__}", "pages", CMS)
    if not 1 <= len(pages) <= BULK_MAX:
        raise invalid(f"pages must hold 1 to {BULK_MAX} entries, got {len(pages)}", "pages", CMS)
    entries = [normalize_bulk_entry(entry, f"pages[{n}]") for n, entry in enumerate(pages)]
    seen: dict[tuple[str, str | None], int] = {}
    for n, entry in enumerate(entries):
        key = (entry["id"], entry.get("localeId"))
        if key in seen:
            raise invalid(
                f"pages[{n}] repeats page {key[0]} for the same locale as pages[{seen[key]}] "
                "(Webflow allows one entry per page and locale)", f"pages[{n}]", CMS,
            )
        seen[key] = n
    return entries


def _current(page: Mapping[str, Any], group: str | None, key: str) -> Any:
    if group is None:
        return page.get(key)
    section = page.get(group)
    value = section.get(key) if isinstance(section, Mapping) else None
    if value is None and group == "openGraph":
        return OPEN_GRAPH_DEFAULTS.get(key)
    return value


def page_diff(page: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What an update body would change on a page, as ``{"seo.title": {"old": ..., "new": ...}}``.

    ``page`` is a page object as Webflow returns it; ``body`` a wire body from
    :func:`normalize_update`. Only fields present in ``body`` are compared, by their dotted wire
    path; an empty result means the page already matches, so the write can be skipped. A missing
    ``openGraph.*Copied`` counts as ``true``, Webflow's schema default.
    """
    changes: dict[str, dict[str, Any]] = {}
    for key, new in body.items():
        if key in ("id", "localeId"):
            continue
        if isinstance(new, Mapping):
            for sub, sub_new in new.items():
                old = _current(page, key, sub)
                if not json_equal(old, sub_new):
                    changes[f"{key}.{sub}"] = {"old": old, "new": sub_new}
        else:
            old = _current(page, None, key)
            if not json_equal(old, new):
                changes[key] = {"old": old, "new": new}
    return changes


def page_changes(page: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """:func:`page_diff` in the journal's terms: a field Webflow returns as null (or leaves out)
    had no value, so its change carries no ``old``. A restore then reports it as not restorable
    rather than sending a ``null``, whose effect Webflow does not document."""
    changes = page_diff(page, body)
    for change in changes.values():
        if change.get("old") is None:
            change.pop("old", None)
    return changes


def format_changes(changes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Log lines ``field: old -> new`` for a :func:`page_diff` result (``(none)``: no old value)."""
    return [f"{field}: {repr(change['old']) if 'old' in change else '(none)'} -> {change['new']!r}"
            for field, change in changes.items()]


def pair_bulk_results(
    entries: list[dict[str, Any]], returned: list[Any]
) -> Iterator[tuple[dict[str, Any], Mapping[str, Any]]]:
    """Match each sent entry with its page in the response (order is not documented, so by id)."""
    by_id: dict[Any, list[Mapping[str, Any]]] = {}
    for page in returned:
        if isinstance(page, Mapping):
            by_id.setdefault(page.get("id"), []).append(page)
    for entry in entries:
        candidates = by_id.get(entry["id"], [])
        wanted = entry.get("localeId")
        match = next((p for p in candidates if wanted is not None and p.get("localeId") == wanted), None)
        if match is None and len(candidates) == 1:
            match = candidates[0]
        if match is not None:
            yield entry, match
