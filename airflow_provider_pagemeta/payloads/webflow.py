"""Webflow page metadata as data: ids, update bodies, bulk entries, and what an update would change.

Pure functions only (no I/O), shared by :class:`~airflow_provider_pagemeta.hooks.webflow.WebflowHook`,
the operators and the bulk adapter, so a single update, a bulk batch and a dry run validate and
compare exactly alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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


# ---------------------------------------------------------------------- publishing
#: Webflow allows one successful publish per minute ("Site Publish operations are limited to one
#: successful publish per minute") and does not document a ``Retry-After`` on that 429: without
#: one, the publish waits this long before trying again (see ``core.retry``).
PUBLISH_RATE_LIMIT_WAIT = 60.0

#: A host name as Webflow lists custom domains (``www.example.com``): dot-separated labels of
#: letters, digits and hyphens (punycode for international names).
_HOST = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class PublishTargets:
    """Where a publish goes, checked before any request.

    ``domains`` keeps the order given, each entry an id (24 hex digits) or a host name to resolve
    through Get Custom Domains. ``everywhere`` is the default target (neither ``custom_domains``
    nor ``publish_to_webflow_subdomain`` given): every custom domain plus the Webflow subdomain,
    like the Designer's publish with every domain ticked.
    """

    domains: tuple[str, ...] | None
    subdomain: bool | None
    page_id: str | None

    @property
    def everywhere(self) -> bool:
        return self.domains is None and self.subdomain is None

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(d for d in self.domains or () if not OBJECT_ID.fullmatch(d))

    @property
    def needs_domain_list(self) -> bool:
        """True when the site's custom domains must be read first (one ``list_custom_domains``)."""
        return self.everywhere or bool(self.hosts)


def publish_targets(custom_domains: Any = None, publish_to_webflow_subdomain: Any = None,
                    page_id: Any = None) -> PublishTargets:
    """Check a publish's arguments; a target list that publishes nowhere is refused here, since
    Webflow would answer it with 400 ``no_domains``."""
    domains = None if custom_domains is None else _domain_entries(custom_domains)
    subdomain = None if publish_to_webflow_subdomain is None else require_bool(
        publish_to_webflow_subdomain, "publish_to_webflow_subdomain", cms=CMS)
    targets = PublishTargets(domains, subdomain, optional_object_id(page_id, "page_id"))
    if not targets.everywhere and not targets.domains and targets.subdomain is not True:
        argument = "custom_domains" if domains is not None else "publish_to_webflow_subdomain"
        raise invalid(
            "this publish goes nowhere: give custom_domains (domain ids or host names such as www.example.com), "
            "set publish_to_webflow_subdomain=True, or leave both unset to publish to every domain of the site",
            argument, CMS,
        )
    return targets


def _domain_entries(value: Any) -> tuple[str, ...]:
    """``custom_domains`` as a tuple of ids and lower-case host names, each once, in order given."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise invalid(f"custom_domains must be a list of domain ids or host names, got {type(value).__name__}",
                      "custom_domains", CMS)
    entries: dict[str, None] = {}
    for n, item in enumerate(value):
        entries[_domain_entry(item, f"custom_domains[{n}]")] = None
    return tuple(entries)


def _domain_entry(item: Any, label: str) -> str:
    if isinstance(item, str) and OBJECT_ID.fullmatch(item.strip()):
        return item.strip()
    host = _host(item)
    if host is None:
        shown = repr(item) if isinstance(item, str) else type(item).__name__
        raise invalid(f"{label} must be a Webflow domain id (24 lowercase hex digits) or a host name such as "
                      f"www.example.com, got {shown}", "custom_domains", CMS)
    return host


def _host(item: Any) -> str | None:
    """A host name from ``www.example.com`` (a pasted ``https://www.example.com/`` is read as its host)."""
    if not isinstance(item, str):
        return None
    text = item.strip().lower()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return None
    text = text.rstrip(".")
    return text if _HOST.fullmatch(text) else None


def publish_body(site_id: str, targets: PublishTargets,
                 site_domains: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The ``POST /v2/sites/{site_id}/publish`` body: ``customDomains`` (ids), ``publishToWebflowSubdomain``
    and ``pageId``, only the ones asked for.

    ``site_domains`` is the site's Get Custom Domains list, needed (:attr:`PublishTargets.needs_domain_list`)
    for the default target and to resolve host names. A host name, or an id, that is not one of the
    site's domains is a ``CMSValidationError`` naming it, raised before the publish is sent.
    """
    body: dict[str, Any] = {}
    if targets.everywhere:
        ids = [str(d["id"]) for d in site_domains or [] if isinstance(d.get("id"), str)]
        if ids:  # a site with only its webflow.io subdomain has none (an empty list is not sent)
            body["customDomains"] = ids
        body["publishToWebflowSubdomain"] = True
    else:
        if targets.domains is not None:
            body["customDomains"] = _resolve(site_id, targets.domains, site_domains)
        if targets.subdomain is not None:
            body["publishToWebflowSubdomain"] = targets.subdomain
    if targets.page_id is not None:
        body["pageId"] = targets.page_id
    return body


def _resolve(site_id: str, entries: tuple[str, ...], site_domains: Sequence[Mapping[str, Any]] | None) -> list[str]:
    if site_domains is None:
        return list(entries)  # ids only: Webflow itself checks them (400 invalid_domain)
    by_host = {str(d.get("url", "")).lower().rstrip("."): d.get("id") for d in site_domains}
    known_ids = {d.get("id") for d in site_domains}
    listed = ", ".join(sorted(h for h in by_host if h)) or "none"
    resolved: list[str] = []
    for entry in entries:
        domain_id = entry if OBJECT_ID.fullmatch(entry) else by_host.get(entry)
        if not isinstance(domain_id, str) or domain_id not in known_ids:
            raise invalid(f"custom_domains: {entry!r} is not a custom domain of site {site_id} "
                          f"(its custom domains: {listed})", "custom_domains", CMS)
        if domain_id not in resolved:
            resolved.append(domain_id)
    return resolved


def publish_needed(changes: Any, argument: str = "changes") -> tuple[bool, str]:
    """Whether an upstream result shows a change worth publishing, and why (for the log).

    A change: ``True``; a bulk summary with ``updated > 0``; a single-page result with
    ``"changed": True`` (what ``WebflowUpdatePageOperator`` returns); a non-empty list of page
    ids; a whole number above 0; a list of any of those (a mapped task's results) in which one
    shows a change. No change: ``False``, ``None``, ``0``, an empty list, a summary with
    ``updated == 0``, ``"changed": False``, and any dry-run result (``"dry_run": True``: it wrote
    nothing, so there is nothing new to publish). Anything else is a ``CMSValidationError``:
    guessing would either publish on every run or never.
    """
    if isinstance(changes, str):
        return publish_needed(read_changes(changes, argument), argument)
    if changes is None or isinstance(changes, bool):
        return bool(changes), f"{argument} is {changes}"
    if isinstance(changes, int):
        if changes < 0:
            raise invalid(f"{argument} must not be negative, got {changes}", argument, CMS)
        return changes > 0, f"{changes} change(s)"
    if isinstance(changes, Mapping):
        return _result_changed(changes, argument)
    if isinstance(changes, Sequence):
        return _any_changed(list(changes), argument)
    raise invalid(f"{argument} must be an upstream result (a bulk summary, a page result, a list of page ids) "
                  f"or True/False, got {type(changes).__name__}", argument, CMS)


def read_changes(value: Any, argument: str = "changes") -> Any:
    """``changes`` after templating: a rendered string (``"True"``/``"False"``, ``"None"``/empty, or
    JSON from ``| tojson``) read back as the value it stands for; anything else as it is."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("", "none", "null"):
        return None
    if stripped[:1] in ("[", "{") or stripped.isdigit():
        import json

        try:
            return json.loads(stripped)
        except (ValueError, RecursionError):
            pass
    shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
    raise invalid(f"{argument} rendered to {shown!r}, which says neither yes nor no: pass the upstream task's "
                  "XComArg itself (e.g. changes=update.output), True/False, or render it with `| tojson`",
                  argument, CMS)


def _result_changed(result: Mapping[str, Any], argument: str) -> tuple[bool, str]:
    if result.get("dry_run") is True:
        return False, "the upstream result is a dry run (nothing was written)"
    if "updated" in result:
        updated = result["updated"]
        if isinstance(updated, bool) or not isinstance(updated, int):
            raise invalid(f"{argument}['updated'] must be a whole number, got {updated!r}", argument, CMS)
        return updated > 0, f"{updated} page(s) updated"
    if "changed" in result:
        changed = result["changed"]
        if not isinstance(changed, bool):
            raise invalid(f"{argument}['changed'] must be true or false, got {changed!r}", argument, CMS)
        return changed, "the page changed" if changed else "the page was already up to date"
    raise invalid(f"{argument} is a dict with neither 'updated' (a bulk summary) nor 'changed' (a single-page "
                  "result), so it cannot say whether anything changed", argument, CMS)


def _any_changed(results: list[Any], argument: str) -> tuple[bool, str]:
    """A list of page ids, or of results (a mapped task's): a change when any shows one."""
    if not results:
        return False, f"{argument} is empty"
    if all(isinstance(r, str) for r in results):
        return True, f"{len(results)} page(s) listed"
    verdicts = [(True, f"page {r} listed") if isinstance(r, str) else publish_needed(r, f"{argument}[{n}]")
                for n, r in enumerate(results)]
    changed = any(verdict for verdict, _why in verdicts)
    reasons = [why for verdict, why in verdicts if verdict == changed]
    shown = "; ".join(reasons[:5]) + (f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else "")
    return changed, shown
