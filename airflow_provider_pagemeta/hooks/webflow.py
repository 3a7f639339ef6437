"""Webflow hook: connection, auth and the Webflow page calls, on the shared HTTP core.

Besides the hook, this module holds the small pure helpers a page-metadata update needs
(:func:`validate_object_id`, :func:`normalize_update`, :func:`normalize_bulk_entry`,
:func:`page_diff`). They are public so the operators, and the bulk engine that batches many
pages into ``PATCH /beta/pages``, validate and compare exactly the way the single update does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.core.validation import check_keys, fail, require_bool, require_json, require_str

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

#: Warnings about silently ignored slugs go here (a stdlib logger: Airflow shows it in the task log).
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- pure helpers
def validate_object_id(value: Any, argument: str) -> str:
    """Check a Webflow id before it goes into a path or query.

    A typo'd id would otherwise cost a request and come back as an opaque 400 or 404.
    """
    if not isinstance(value, str) or not OBJECT_ID.fullmatch(value):
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise fail(f"{argument} must be a Webflow id (24 lowercase hex digits), got {shown}", argument, CMS)
    return value


def optional_object_id(value: Any, argument: str) -> str | None:
    return None if value is None else validate_object_id(value, argument)


def _seo(value: Any, argument: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise fail(f"{argument} must be a dict with keys {', '.join(SEO_KEYS)}, got {type(value).__name__}",
                   argument, CMS)
    if not value:
        raise fail(f"{argument} must not be empty (give at least one of {', '.join(SEO_KEYS)})", argument, CMS)
    check_keys(value, SEO_KEYS, argument, cms=CMS)
    return {key: require_str(item, f"{argument}.{key}", cms=CMS, allow_empty=True) for key, item in value.items()}


def _open_graph(value: Any, argument: str) -> dict[str, Any]:
    """Validate ``open_graph`` and return it camelCased, the only spelling Webflow accepts."""
    if not isinstance(value, Mapping):
        raise fail(f"{argument} must be a dict with keys {', '.join(OPEN_GRAPH_KEYS)}, got {type(value).__name__}",
                   argument, CMS)
    if not value:
        raise fail(f"{argument} must not be empty (give at least one of {', '.join(OPEN_GRAPH_KEYS)})",
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
            raise fail(f"{argument} gives {name} twice (camelCase and snake_case); keep one", argument, CMS)
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
        raise fail("no fields to update: give at least one of title, slug, seo, open_graph", argument, CMS)
    for key, value in body.items():  # size now, naming the field: not as "body" after a read was spent
        require_json(value, f"{argument_prefix}{'open_graph' if key == 'openGraph' else key}", cms=CMS)
    return body


def normalize_bulk_entry(entry: Any, argument: str = "pages[0]") -> dict[str, Any]:
    """One validated ``PATCH /beta/pages`` entry: ``id``, optional ``localeId``, and the update fields.

    Accepts the wire spelling (``id``, ``localeId``, ``openGraph``) or the hook's own
    (``page_id``, ``locale_id``, ``open_graph``), and returns the wire spelling.
    """
    if not isinstance(entry, Mapping):
        raise fail(f"{argument} must be a dict, got {type(entry).__name__}", argument, CMS)
    check_keys(entry, (*BULK_ENTRY_KEYS, *BULK_ENTRY_ALIASES), argument, cms=CMS)
    fields = dict(_fold_aliases(entry, BULK_ENTRY_ALIASES, argument).values())
    if "id" not in fields:
        raise fail(f"{argument} needs the page id (key id)", f"{argument}.id", CMS)
    wire: dict[str, Any] = {"id": validate_object_id(fields["id"], f"{argument}.id")}
    locale_id = optional_object_id(fields.get("localeId"), f"{argument}.localeId")
    if locale_id is not None:
        wire["localeId"] = locale_id
    wire.update(normalize_update(
        title=fields.get("title"), slug=fields.get("slug"), seo=fields.get("seo"),
        open_graph=fields.get("openGraph"), argument_prefix=f"{argument}.",
    ))
    return wire


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
                if old != sub_new:
                    changes[f"{key}.{sub}"] = {"old": old, "new": sub_new}
        else:
            old = _current(page, None, key)
            if old != new:
                changes[key] = {"old": old, "new": new}
    return changes


def format_changes(changes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Log lines ``field: old -> new`` for a :func:`page_diff` result."""
    return [f"{field}: {change['old']!r} -> {change['new']!r}" for field, change in changes.items()]


# ---------------------------------------------------------------------- hook
class WebflowHook(PageMetaHook):
    """Talks to the Webflow API with the token from the connection's password.

    Every argument is validated before any request, so a bad call costs no rate-limit budget.

    :param webflow_conn_id: the Airflow connection id (conn type ``webflow``).
    """

    conn_name_attr = "webflow_conn_id"
    default_conn_name = "webflow_default"
    conn_type = "webflow"
    hook_name = "Webflow"

    cms: ClassVar[str] = "webflow"
    default_base_url: ClassVar[str | None] = "https://api.webflow.com"
    auth_scheme: ClassVar[str] = "Bearer"

    def __init__(self, webflow_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(webflow_conn_id, **kwargs)
        self.webflow_conn_id = webflow_conn_id

    @staticmethod
    def _locale_params(locale_id: str | None) -> dict[str, str] | None:
        return {"localeId": locale_id} if locale_id is not None else None

    def get_page(self, page_id: str, *, locale_id: str | None = None) -> dict[str, Any]:
        """``GET /v2/pages/{page_id}``: the page's metadata, in ``locale_id``'s content when given."""
        validate_object_id(page_id, "page_id")
        optional_object_id(locale_id, "locale_id")
        path = join("v2", "pages", segment(page_id, "page_id", cms=CMS))
        return self.request_json("GET", path, call="get_page", params=self._locale_params(locale_id))

    def list_pages(self, site_id: str, *, locale_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every page of a site, following ``limit``/``offset`` pagination to ``pagination.total``.

        Arguments are checked now, not on the first ``next()``, so a bad call fails where it is made.
        """
        validate_object_id(site_id, "site_id")
        optional_object_id(locale_id, "locale_id")
        return self._iter_pages(site_id, locale_id)

    def _iter_pages(self, site_id: str, locale_id: str | None) -> Iterator[dict[str, Any]]:
        path = join("v2", "sites", segment(site_id, "site_id", cms=CMS), "pages")
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": PAGE_LIMIT, "offset": offset}
            if locale_id is not None:
                params["localeId"] = locale_id
            response = self.request_json("GET", path, call="list_pages", params=params)
            pages = response.get("pages") or []
            yield from pages
            # Advance by what arrived, not by the limit asked for: a server that caps the page
            # size lower than requested must not make us skip pages.
            offset += len(pages)
            total = (response.get("pagination") or {}).get("total")
            if not pages or not isinstance(total, int) or offset >= total:
                return

    def update_page_settings(
        self,
        page_id: str,
        *,
        locale_id: str | None = None,
        title: str | None = None,
        slug: str | None = None,
        seo: Mapping[str, Any] | None = None,
        open_graph: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``PUT /v2/pages/{page_id}[?localeId=]`` with only the given fields; returns the updated page.

        Webflow answers 200 but keeps the old slug on home, collection-template and utility pages
        and on secondary locales, so a slug that did not stick is logged as a warning.
        """
        validate_object_id(page_id, "page_id")
        optional_object_id(locale_id, "locale_id")
        body = normalize_update(title=title, slug=slug, seo=seo, open_graph=open_graph)
        path = join("v2", "pages", segment(page_id, "page_id", cms=CMS))
        page = self.request_json(
            "PUT", path, call="update_page_settings", params=self._locale_params(locale_id), json_body=body
        )
        self._warn_ignored_slug(body, page, locale_id)
        return page

    def update_pages_bulk(self, pages: list[dict[str, Any]]) -> dict[str, Any]:
        """``PATCH /beta/pages`` (beta): update 1 to 100 pages of one site in a single request.

        Each entry is ``{"id", "localeId"?, "title"?, "slug"?, "seo"?, "openGraph"?}`` (snake_case
        spellings accepted), validated like :meth:`update_page_settings`; an ``id`` + ``localeId``
        pair may appear only once. Returns ``{"pages": [updated pages]}``. Webflow requires a
        given ``localeId`` to be a *secondary* locale: omit it to update the primary locale.
        """
        entries = self._bulk_body(pages)
        response = self.request_json("PATCH", "/beta/pages", call="update_pages_bulk", json_body={"pages": entries})
        returned = response.get("pages") if isinstance(response, dict) else None
        if isinstance(returned, list):
            for entry, page in _pair_bulk_results(entries, returned):
                self._warn_ignored_slug(entry, page, entry.get("localeId"))
        return response

    @staticmethod
    def _bulk_body(pages: Any) -> list[dict[str, Any]]:
        if not isinstance(pages, list):
            raise fail(f"pages must be a list of dicts, got {type(pages).__name__}", "pages", CMS)
        if not 1 <= len(pages) <= BULK_MAX:
            raise fail(f"pages must hold 1 to {BULK_MAX} entries, got {len(pages)}", "pages", CMS)
        entries = [normalize_bulk_entry(entry, f"pages[{n}]") for n, entry in enumerate(pages)]
        seen: dict[tuple[str, str | None], int] = {}
        for n, entry in enumerate(entries):
            key = (entry["id"], entry.get("localeId"))
            if key in seen:
                raise fail(
                    f"pages[{n}] repeats page {key[0]} for the same locale as pages[{seen[key]}] "
                    "(Webflow allows one entry per page and locale)", f"pages[{n}]", CMS,
                )
            seen[key] = n
        return entries

    def _warn_ignored_slug(self, body: Mapping[str, Any], page: Any, locale_id: str | None) -> None:
        if "slug" not in body or not isinstance(page, Mapping) or page.get("slug") == body["slug"]:
            return
        where = f" (locale {locale_id})" if locale_id else ""
        log.warning(
            "webflow: slug of page %s%s was not changed: sent %r, Webflow kept %r. Webflow silently ignores slug "
            "changes on the home page, collection template pages, utility pages and secondary locales.",
            page.get("id"), where, body["slug"], page.get("slug"),
        )

    def _probe(self) -> str:
        """``GET /v2/token/introspect``: works for site and workspace tokens without extra scopes."""
        info = self.request_json("GET", "/v2/token/introspect", call="test_connection")
        auth = info.get("authorization") if isinstance(info, dict) else None
        if not isinstance(auth, dict):
            return "Connected to Webflow: the token is valid."
        sites = (auth.get("authorizedTo") or {}).get("siteIds") or []
        parts = [f"Connected to Webflow: the token is valid for {len(sites)} site(s)"]
        if auth.get("scope"):
            parts.append(f"scopes: {auth['scope']}")
        if auth.get("rateLimit"):
            parts.append(f"rate limit: {auth['rateLimit']} requests/min")
        return "; ".join(parts) + "."


def _pair_bulk_results(
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
