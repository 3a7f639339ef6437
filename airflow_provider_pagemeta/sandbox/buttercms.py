"""Sandbox emulation of the ButterCMS pages API (Read API and Write API update).

Written from the ButterCMS documents (see ``reference/cms-apis.md`` section 2), not from the
client. What it emulates:

* ``GET /v2/pages/{type}/{slug}/`` (Read API): token in ``Authorization: Token`` or the
  ``auth_token`` query; ``preview=1`` shows drafts (a draft-only page is 404 without it, a
  "published with draft" page shows its published version); ``locale`` (``en`` default, ``es``;
  anything else 400); ``levels`` 1-5; ``*`` as type finds a slug in any type, 403 when several.
* ``GET /v2/pages/{type}/`` (list; ``*`` = Single Pages) with ``page``/``page_size``.
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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import Response

from airflow_provider_pagemeta.sandbox.buttercms_data import DEFAULT_LOCALE, LOCALES, PAGE_TYPES, demo_pages
from airflow_provider_pagemeta.sandbox.common import json_response, read_json
from airflow_provider_pagemeta.sandbox.state import SandboxState

NOT_PROVIDED = {"detail": "Authentication credentials were not provided"}
INVALID_TOKEN = {"detail": "Invalid token."}
PAGE_NOT_FOUND = {"detail": "Page not found."}
INVALID_LOCALE = {"detail": "Invalid locale parameter"}
BAD_LEVELS = {"detail": "levels query parameter should be an integer between 1 and 5 (inclusive)"}
IMMUTABLE_KEYS = ("title", "name", "slug")
PAGE_METHODS = "GET, PUT, PATCH, HEAD, OPTIONS"


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
        self.pages: list[dict[str, Any]] = demo_pages()
        self.pending: list[PendingWrite] = []
        self.app = FastAPI(title="buttercms sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        self.app.add_api_route(
            "/{rest:path}", self.dispatch, methods=["GET", "HEAD", "PATCH", "PUT", "POST", "DELETE", "OPTIONS"]
        )

    def reset(self) -> None:
        self.pages = demo_pages()
        self.pending = []

    def fixtures(self) -> dict[str, Any]:
        return {
            "pages": [{"page_type": p["page_type"] or "*", "slug": p["slug"]} for p in self.pages],
            "locales": list(LOCALES),
            "default_locale": DEFAULT_LOCALE,
            "published": {"page_type": "landing-page", "slug": "home"},
            "draft_only": {"page_type": "landing-page", "slug": "spring-sale"},
            "published_with_draft": {"page_type": "faq", "slug": "faq"},
            "shared_slug": "contact",
            "single_page": {"page_type": "*", "slug": "about"},
            "page_types": {t or "*": sorted(schema) for t, schema in PAGE_TYPES.items()},
        }

    # ------------------------------------------------------------------ routing
    async def dispatch(self, request: Request) -> Response:
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
        page_no, size = _int_query(request, "page", 1, 1, None), _int_query(request, "page_size", 10, 1, 100)
        wanted: str | None = None if page_type == "*" else page_type
        if wanted not in PAGE_TYPES:
            raise ApiError(404, {"detail": "Page type not found."})
        visible = [
            (p, version) for p in self.pages
            if p["page_type"] == wanted and (version := _version(p, preview)) is not None
        ]
        chunk = visible[(page_no - 1) * size : page_no * size]
        more = page_no * size < len(visible)
        return json_response(200, {
            "meta": {"count": len(visible), "next_page": page_no + 1 if more else None,
                     "previous_page": page_no - 1 if page_no > 1 else None},
            "data": [_page_data(p, version, locale) for p, version in chunk],
        })

    def _find(self, page_type: str, slug: str) -> dict[str, Any]:
        if page_type == "*":
            found = [p for p in self.pages if p["slug"] == slug]
        else:
            found = [p for p in self.pages if p["page_type"] == page_type and p["slug"] == slug]
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

