"""Sandbox emulation of the ButterCMS pages API (Read API and Write API update).

Written from the ButterCMS documents (see ``reference/cms-apis.md`` section 2), not from the
client. What it emulates:

* ``GET /v2/pages/{type}/{slug}/`` (Read API): token in ``Authorization: Token`` or the
  ``auth_token`` query; ``preview=1`` shows drafts (a draft-only page is 404 without it, a
  "published with draft" page shows its published version); ``locale`` (``en`` default, ``es``;
  anything else 400); ``levels`` 1-5; ``*`` as type finds a slug in any type, 403 when several.
* ``GET /v2/pages/{type}/`` (List Pages; ``*`` = Single Pages only): ``preview=1`` lists the latest
  drafts, without it the published versions (a never-published page is absent); ``page`` (>= 1)
  and ``page_size`` (1-100, default 10), or ``limit``/``offset`` (mutually exclusive with them:
  400 when mixed, an assumption); ``locale``; ``levels`` 1-5; ``fields.<key>=<value>`` exact
  filters (dotted keys reach into components) and ``order`` (``published``, ``updated`` or a
  field, ``-`` for descending; an unknown one is a 400, an assumption), both ignored for ``*``
  as the docs say they apply to Page Type endpoints only. Items carry ``status`` (``published`` or
  ``draft``: the version shown) besides the documented keys.
* The monthly quota of Free/Trial plans: with ``buttercms_monthly_quota`` > 0, once that many calls
  were made since reset every call answers ``429 {"detail": "API Calls limit reached."}`` with
  ``Retry-After`` = seconds until the first day of next month (UTC). Every call counts, whatever
  its answer: a 401, a 404, a write, and the 301 of a missing slash.
* ``PATCH`` and ``PUT /v2/pages/{type}/{slug}/`` (Write API, identical partial semantics):
  validated at once, answered ``202 {"status": "pending"}``, applied ``buttercms_apply_delay``
  seconds later. There are no background tasks: each request first applies every queued write
  whose due time (on ``state.clock``) has passed. Keys that cannot be changed (``title``,
  ``slug``, ``name``, scheduling keys, anything else besides ``status``/``fields``) are ignored
  and reported as ``{"status": "pending", "warnings": ["..."]}`` (ButterCMS does not document
  the shape of its warnings; this is the sandbox's choice).
* Write semantics (assumptions where the docs are silent, marked so): top-level fields not sent
  are kept; a component (object) is updated key by key (ASSUMPTION); a repeater (list) is
  replaced whole (documented); ``status: "draft"`` stores a draft next to the published version;
  ``status: "published"`` publishes what the editor would show (draft if any, else published)
  with the change applied (ASSUMPTION), and drops the draft.
* Missing trailing slash: 301 to the slashed URL (each request is logged, so the double call shows).

Paths are parsed from the raw, percent-encoded request path, so an encoded ``/`` inside a slug
stays part of the slug (and finds no page) exactly as on a real server.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import Response

from airflow_provider_pagemeta.sandbox.buttercms_data import (
    DEFAULT_LOCALE,
    LOCALES,
    PAGE_TYPES,
    PRODUCT_TYPE,
    demo_pages,
    product_pages,
)
from airflow_provider_pagemeta.sandbox.common import json_response, read_json
from airflow_provider_pagemeta.sandbox.state import SandboxState

NOT_PROVIDED = {"detail": "Authentication credentials were not provided"}
INVALID_TOKEN = {"detail": "Invalid token."}
PAGE_NOT_FOUND = {"detail": "Page not found."}
INVALID_LOCALE = {"detail": "Invalid locale parameter"}
BAD_LEVELS = {"detail": "levels query parameter should be an integer between 1 and 5 (inclusive)"}
QUOTA_REACHED = {"detail": "API Calls limit reached."}
IMMUTABLE_KEYS = ("title", "name", "slug")
PAGE_METHODS = "GET, PUT, PATCH, HEAD, OPTIONS"
_MISSING = object()


class ApiError(Exception):
    """An error answer, raised from deep inside a handler and turned into a response once."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


@dataclass
class PendingWrite:
    due: float
    page: dict[str, Any]
    status: str
    updates: dict[str, dict[str, Any]]  # locale -> fields


class ButtercmsEmulator:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.pages: list[dict[str, Any]] = []
        self.index: dict[tuple[str | None, str], dict[str, Any]] = {}
        self.pending: list[PendingWrite] = []
        #: Calls made since reset (the monthly quota's counter).
        self.calls = 0
        #: Generated product pages, kept across resets until a write touches one.
        self._products: list[dict[str, Any]] = []
        self._products_dirty = True
        self.reset()
        self.app = FastAPI(title="buttercms sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        self.app.add_api_route(
            "/{rest:path}", self.dispatch, methods=["GET", "HEAD", "PATCH", "PUT", "POST", "DELETE", "OPTIONS"]
        )

    def reset(self) -> None:
        if self._products_dirty or len(self._products) != self._product_count():
            self._products = product_pages(self._product_count())
            self._products_dirty = False
        self.pages = demo_pages() + self._products
        self.index = {(p["page_type"], p["slug"]): p for p in self.pages}
        self.pending = []
        self.calls = 0

    def _product_count(self) -> int:
        return int(self.state.config.buttercms_product_pages)

    def _sync_products(self) -> None:
        """Follow ``buttercms_product_pages`` (read on every request) without touching the demo pages."""
        if len(self._products) == self._product_count():
            return
        for page in self._products:
            del self.index[(page["page_type"], page["slug"])]
        self.pages = [p for p in self.pages if p["page_type"] != PRODUCT_TYPE]
        self._products = product_pages(self._product_count())
        self._products_dirty = False
        self.pages += self._products
        self.index.update(((p["page_type"], p["slug"]), p) for p in self._products)

    def fixtures(self) -> dict[str, Any]:
        self._sync_products()
        return {
            "pages": [{"page_type": p["page_type"] or "*", "slug": p["slug"]} for p in self.pages
                      if p["page_type"] != PRODUCT_TYPE],
            "locales": list(LOCALES),
            "default_locale": DEFAULT_LOCALE,
            "published": {"page_type": "landing-page", "slug": "home"},
            "draft_only": {"page_type": "landing-page", "slug": "spring-sale"},
            "published_with_draft": {"page_type": "faq", "slug": "faq"},
            "shared_slug": "contact",
            "single_page": {"page_type": "*", "slug": "about"},
            "page_types": {t or "*": sorted(schema) for t, schema in PAGE_TYPES.items()},
            "products": {
                "page_type": PRODUCT_TYPE,
                "slugs": [p["slug"] for p in self._products],
                "draft_only_slugs": [p["slug"] for p in self._products if p["live"] is None],
                "published_with_draft_slugs": [
                    p["slug"] for p in self._products if p["live"] is not None and p["draft"] is not None],
            },
        }

    # ------------------------------------------------------------------ routing
    async def dispatch(self, request: Request) -> Response:
        quota = int(self.state.config.buttercms_monthly_quota)
        if quota and self.calls >= quota:
            return json_response(429, QUOTA_REACHED, {"Retry-After": str(seconds_to_next_month())})
        self.calls += 1
        self._sync_products()
        self._apply_due()
        segments, slashed = _raw_segments(request)
        try:
            if segments[:2] != ["v2", "pages"] or len(segments) not in (3, 4):
                raise ApiError(404, {"detail": "Not found."})
            if not slashed:
                return _redirect_to_slash(request)
            if len(segments) == 3:
                return self._list(request, segments[2])
            return await self._page(request, segments[2], segments[3])
        except ApiError as err:
            return json_response(err.status, err.body, err.headers)

    async def _page(self, request: Request, page_type: str, slug: str) -> Response:
        method = request.method
        if method in ("GET", "HEAD"):
            return self._read(request, page_type, slug)
        if method in ("PATCH", "PUT"):
            return await self._write(request, page_type, slug)
        if method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": PAGE_METHODS})
        raise ApiError(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": PAGE_METHODS})

    # ------------------------------------------------------------------ auth
    @staticmethod
    def _token(request: Request, *, allow_query: bool) -> str:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "token" or not token:
                raise ApiError(401, NOT_PROVIDED)
        else:
            token = request.query_params.get("auth_token", "") if allow_query else ""
            if not token:
                raise ApiError(401, NOT_PROVIDED)
        if token.startswith("invalid"):
            raise ApiError(401, INVALID_TOKEN, {"WWW-Authenticate": "Token"})
        return token

    # ------------------------------------------------------------------ read
    def _read(self, request: Request, page_type: str, slug: str) -> Response:
        self._token(request, allow_query=True)
        preview, locale = _read_query(request)
        page = self._find(page_type, slug)
        version = _version(page, preview)
        if version is None:
            raise ApiError(404, PAGE_NOT_FOUND)
        return json_response(200, {"data": _page_data(page, version, locale)})

    def _list(self, request: Request, page_type: str) -> Response:
        self._token(request, allow_query=True)
        preview, locale = _read_query(request)
        wanted: str | None = None if page_type == "*" else page_type
        if wanted not in PAGE_TYPES:
            raise ApiError(404, {"detail": "Page type not found."})
        window = _list_window(request)
        visible = [
            (p, version) for p in self.pages
            if p["page_type"] == wanted and (version := _version(p, preview)) is not None
        ]
        if wanted is not None:  # filters and ordering: Page Type endpoints only (docs)
            visible = _filtered(visible, request, locale)
            visible = _ordered(visible, request.query_params.get("order"), PAGE_TYPES[wanted], locale)
        chunk, meta = window.cut(visible)
        return json_response(200, {
            "meta": meta,
            "data": [{**_page_data(p, version, locale), "status": "draft" if version is p["draft"] else "published"}
                     for p, version in chunk],
        })

    def _find(self, page_type: str, slug: str) -> dict[str, Any]:
        if page_type == "*":
            found = [p for p in self.pages if p["slug"] == slug]
        else:
            hit = self.index.get((page_type, slug))
            found = [hit] if hit is not None else []
        if not found:
            raise ApiError(404, PAGE_NOT_FOUND)
        if len(found) > 1:
            raise ApiError(403, {"detail": "Multiple pages found. Please specify the page type."})
        return found[0]

    # ------------------------------------------------------------------ write
    async def _write(self, request: Request, page_type: str, slug: str) -> Response:
        token = self._token(request, allow_query=False)
        if token.startswith("read-"):
            raise ApiError(401, NOT_PROVIDED)  # a read token cannot write: ButterCMS says "not provided"
        ok, body = await read_json(request)
        if not ok or not isinstance(body, dict):
            raise ApiError(400, {"detail": "JSON parse error - the request body must be a JSON object."})
        if set(body) == {"data"} and isinstance(body["data"], dict):
            body = body["data"]  # Read-API-shaped bodies are unwrapped (documented)
        status = body.get("status", "draft")
        if status not in ("draft", "published"):
            raise ApiError(400, {"status": [f'"{status}" is not a valid choice.']})
        page = self._find(page_type, slug)
        updates = _locale_updates(body.get("fields", {}), request.query_params.get("locale"))
        _validate_fields(page["page_type"], updates)
        if page["page_type"] == PRODUCT_TYPE:
            self._products_dirty = True
        due = self.state.clock() + self.state.config.buttercms_apply_delay
        self.pending.append(PendingWrite(due=due, page=page, status=status, updates=updates))
        response: dict[str, Any] = {"status": "pending"}
        warnings = _ignored_key_warnings(body)
        if warnings:
            response["warnings"] = warnings
        return json_response(202, response)

    def _apply_due(self) -> None:
        now = self.state.clock()
        ready = [w for w in self.pending if w.due <= now]
        if ready:
            self.pending = [w for w in self.pending if w.due > now]
            for write in ready:  # in the order they were accepted
                _apply(write)


# ---------------------------------------------------------------------- helpers
def _raw_segments(request: Request) -> tuple[list[str], bool]:
    """Path segments below the mount, split on the raw path (``%2F`` stays inside a segment)."""
    raw = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
    root = request.scope.get("root_path", "")
    if root and raw.startswith(root):
        raw = raw[len(root):]
    parts = raw.split("/")
    return [unquote(p) for p in parts if p], raw.endswith("/")


def _redirect_to_slash(request: Request) -> Response:
    raw = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    location = f"{request.url.scheme}://{request.url.netloc}{raw}/" + (f"?{query}" if query else "")
    return Response(status_code=301, headers={"Location": location})


def _read_query(request: Request) -> tuple[bool, str]:
    preview = request.query_params.get("preview", "") in ("1", "true", "True")
    locale = request.query_params.get("locale") or DEFAULT_LOCALE
    if locale not in LOCALES:
        raise ApiError(400, INVALID_LOCALE)
    if "levels" in request.query_params:
        _int_query(request, "levels", 2, 1, 5, error=BAD_LEVELS)
    return preview, locale


def _int_query(
    request: Request, name: str, default: int, low: int, high: int | None, error: Any = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    bad = error or {"detail": f"{name} query parameter should be an integer >= {low}"
                    + (f" and <= {high}" if high else "")}
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, bad) from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, bad)
    return value


def seconds_to_next_month(now: datetime | None = None) -> int:
    """Whole seconds until 00:00 UTC on the first day of next month (when the monthly quota resets)."""
    now = now or datetime.now(timezone.utc)
    first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=timezone.utc)
    return max(1, math.ceil((first - now).total_seconds()))


@dataclass
class ListWindow:
    """``page``/``page_size`` or ``limit``/``offset``: which slice of a listing, and its ``meta``."""

    start: int
    size: int
    by_offset: bool

    def cut(self, rows: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        chunk = rows[self.start:self.start + self.size]
        more = self.start + self.size < len(rows)
        if self.by_offset:
            previous = max(0, self.start - self.size) if self.start > 0 else None
            return chunk, {"count": len(rows), "next_offset": self.start + self.size if more else None,
                           "previous_offset": previous}
        page_no = self.start // self.size + 1
        return chunk, {"count": len(rows), "next_page": page_no + 1 if more else None,
                       "previous_page": page_no - 1 if page_no > 1 else None}


def _list_window(request: Request) -> ListWindow:
    params = request.query_params
    paged, offset = {"page", "page_size"} & set(params), {"limit", "offset"} & set(params)
    if paged and offset:
        raise ApiError(400, {"detail": "page/page_size and limit/offset are mutually exclusive"})
    if offset:
        limit = _int_query(request, "limit", 10, 1, 100)
        return ListWindow(_int_query(request, "offset", 0, 0, None), limit, by_offset=True)
    page_no, size = _int_query(request, "page", 1, 1, None), _int_query(request, "page_size", 10, 1, 100)
    return ListWindow((page_no - 1) * size, size, by_offset=False)


def _field_value(fields: dict[str, Any], dotted: str) -> Any:
    value: Any = fields
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _as_query_text(value: Any) -> str | None:
    """How a field value reads in a query string (``true``, ``12``); None for objects and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


Listed = list[tuple[dict[str, Any], dict[str, Any]]]


def _filtered(rows: Listed, request: Request, locale: str) -> Listed:
    """``fields.<key>=<value>``: exact matches, all of them (a missing field matches nothing)."""
    wanted = [(key[len("fields."):], value) for key, value in request.query_params.multi_items()
              if key.startswith("fields.") and len(key) > len("fields.")]
    if not wanted:
        return rows
    return [
        (page, version) for page, version in rows
        if all(_as_query_text(_field_value(version[locale], key)) == value for key, value in wanted)
    ]


def _ordered(rows: Listed, order: str | None, schema: dict[str, Any], locale: str) -> Listed:
    if not order:
        return rows
    key = order.lstrip("-")
    if key not in ("published", "updated") and key not in schema:
        raise ApiError(400, {"detail": f"Invalid order parameter: '{order}'"})

    def sort_key(row: tuple[dict[str, Any], dict[str, Any]]) -> tuple[int, Any]:
        page, version = row
        value = page[key] if key in ("published", "updated") else version[locale].get(key)
        if value is None or isinstance(value, (dict, list)):
            return (2, "")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, value)
        return (1, str(value))

    present = [row for row in rows if sort_key(row)[0] < 2]
    absent = [row for row in rows if sort_key(row)[0] == 2]
    return sorted(present, key=sort_key, reverse=order.startswith("-")) + absent


def _version(page: dict[str, Any], preview: bool) -> dict[str, Any] | None:
    if preview and page["draft"] is not None:
        return page["draft"]
    return page["live"]


def _page_data(page: dict[str, Any], version: dict[str, Any], locale: str) -> dict[str, Any]:
    return {
        "slug": page["slug"], "name": page["name"], "published": page["published"],
        "updated": page["updated"], "page_type": page["page_type"],
        "fields": copy.deepcopy(version[locale]),
    }


def _locale_updates(fields: Any, locale: str | None) -> dict[str, dict[str, Any]]:
    """Detect the body format: multi-locale when every top-level key is a locale code."""
    if not isinstance(fields, dict):
        raise ApiError(400, {"fields": [f'Expected a dictionary of items but got type "{type(fields).__name__}".']})
    multi = bool(fields) and all(k in LOCALES and isinstance(v, dict) for k, v in fields.items())
    if multi:
        if locale is not None:
            raise ApiError(400, {"locale": ["The locale query parameter only applies to the single-locale format."]})
        return {k: v for k, v in fields.items()}
    locale = locale or DEFAULT_LOCALE
    if locale not in LOCALES:
        raise ApiError(400, INVALID_LOCALE)
    return {locale: fields}


def _validate_fields(page_type: str | None, updates: dict[str, dict[str, Any]]) -> None:
    schema = PAGE_TYPES[page_type]
    errors: list[str] = []
    for locale, fields in updates.items():
        for name, value in fields.items():
            kind = schema.get(name)
            if kind is None:
                errors.append(f"{locale}: unknown field '{name}' for page type '{page_type or '*'}'.")
            elif kind == "repeater" and not (isinstance(value, list) and all(isinstance(i, dict) for i in value)):
                errors.append(f"{locale}: '{name}' is a repeater: send the whole list of items.")
            elif isinstance(kind, dict):
                errors.extend(_component_errors(locale, name, kind, value))
            elif kind == "text" and isinstance(value, (dict, list)):
                errors.append(f"{locale}: '{name}' expects a single value.")
    if errors:
        raise ApiError(400, {"fields": errors})


def _component_errors(locale: str, name: str, schema: dict[str, Any], value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [f"{locale}: '{name}' is a component: send an object."]
    return [f"{locale}: unknown field '{name}.{key}'." for key in value if key not in schema]


def _ignored_key_warnings(body: dict[str, Any]) -> list[str]:
    warnings = []
    for key in body:
        if key in IMMUTABLE_KEYS:
            warnings.append(f"'{key}' cannot be changed through the Write API and was ignored.")
        elif key not in ("status", "fields"):
            warnings.append(f"'{key}' is not supported by page updates and was ignored.")
    return warnings


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)  # scalars and repeaters: replaced whole
    return merged


def _apply(write: PendingWrite) -> None:
    page = write.page
    base = page["draft"] if page["draft"] is not None else page["live"]
    new = {loc: _merge(base[loc], write.updates.get(loc, {})) for loc in LOCALES}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if write.status == "published":
        page["live"], page["draft"] = new, None
        page["published"] = page["published"] or now
    else:
        page["draft"] = new
    page["updated"] = now


def create(state: SandboxState) -> ButtercmsEmulator:
    return ButtercmsEmulator(state)

