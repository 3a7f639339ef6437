"""Sandbox emulation of the Buildin Developer API V2 page and database endpoints.

Written from the Buildin V2 docs (Get Page, Update Page, Get Database, Query Database, Object
Models, Conventions), never from the provider's client code. What it emulates, and the choices the
docs leave open:

- ``GET /v2/pages/{page_id}``, ``PATCH /v2/pages/{page_id}``, ``GET /v2/users/me`` (a ``bot_user``).
- ``GET /v2/databases/{database_id}`` (the schema under ``properties``, no records) and
  ``POST /v2/databases/{database_id}/query`` (see :mod:`.buildin_query`). Both are reads
  (``databases.read``), which every sandbox token has, so a ``readonly`` token may query. The
  records are ordinary pages: GET/PATCH with ETag/If-Match work on them, and a query returns them
  exactly as ``GET /v2/pages/{id}`` does.
- Page versions: every stored change bumps a counter sent as a strong ``ETag: "<n>"`` on GET and
  PATCH responses, and moves ``last_edited_time`` (milliseconds, strictly increasing). A PATCH that
  changes nothing keeps both. ``If-Match`` matches ``*``, the current ETag, or the current
  ``last_edited_time`` (bare or quoted); weak tags (``W/"n"``) never match (RFC 9110's strong
  comparison). A mismatch is ``409 conflict`` and nothing is written.
- Errors use the unified V2 body ``{"object": "error", "status", "code", "message", "request_id"}``
  (plus ``details`` on validation errors): 401 ``unauthorized`` for a missing header, a scheme other
  than Bearer, or a token starting with ``invalid``; 403 ``forbidden`` on writes with a token
  starting with ``readonly`` (no ``pages.write``); 404 ``not_found`` for unknown pages; 400
  ``validation_error`` for a malformed id or body: unknown top-level keys, wrong types, properties
  that do not exist on the page or do not match its property type, rich text other than ``text``;
  400 ``unsupported_filter`` / ``unsupported_sort`` for query filters and sorts not emulated.
- Partial updates: only submitted properties change; ``icon``/``cover`` ``null`` removes them.
  Property types that can be written: ``title``, ``rich_text``, ``select``, ``checkbox``.
  Rich text is stored in read-back form (``link: null``, ``plain_text``, ``href`` filled in);
  ``plain_text``/``href`` sent by a client are ignored, as they are derived values.
- Trashed pages can still be read and updated (the docs say they keep the same shape).
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_pagemeta.sandbox import buildin_data as data
from airflow_provider_pagemeta.sandbox.buildin_query import QueryError, parse_query, run_query
from airflow_provider_pagemeta.sandbox.common import read_authorization, read_json
from airflow_provider_pagemeta.sandbox.state import SandboxState

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
UPDATE_KEYS = frozenset({"properties", "icon", "cover", "in_trash"})
RICH_TEXT_KEYS = frozenset({"type", "text", "annotations", "plain_text", "href"})
ANNOTATION_FLAGS = frozenset({"bold", "italic", "strikethrough", "underline", "code"})
ERROR_CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}


class ApiError(Exception):
    """An error response in Buildin's unified shape, raised from deep inside validation."""

    def __init__(
        self, status: int, message: str, details: list[dict[str, str]] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.code = code or ERROR_CODES.get(status, "internal_error")


def invalid(path: str, message: str) -> ApiError:
    return ApiError(400, f"{path}: {message}", [{"path": path, "message": message}])


@dataclass
class StoredPage:
    doc: dict[str, Any]
    version: int
    edited: datetime

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _stored(page: dict[str, Any]) -> StoredPage:
    return StoredPage(doc=page, version=1, edited=parse_iso(page["last_edited_time"]))


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def user_id_for(token: str) -> str:
    """A stable user id per token, so a "human" edit shows a different ``last_edited_by``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"buildin-sandbox-user:{token}"))


class BuildinEmulator:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.pages: dict[str, StoredPage] = {}
        self.select_options: dict[str, list[dict[str, str]]] = {}
        self.databases: dict[str, dict[str, Any]] = {}
        #: Record page ids per database, oldest first (the query's default order).
        self.records: dict[str, list[str]] = {}
        #: The database's 500 records, kept across resets until one is changed (building them
        #: costs more than a reset should).
        self._library: list[StoredPage] = []
        self._library_dirty = True
        self._request_seq = 0
        self.app = FastAPI(title="buildin sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        self._install_routes()
        self.reset()

    # ------------------------------------------------------------------ controls
    def reset(self) -> None:
        if self._library_dirty:
            self._library = [_stored(page) for page in data.library_pages()]
            self._library_dirty = False
        self.pages = {page["id"]: _stored(page) for page in data.demo_pages()}
        self.pages.update((stored.doc["id"], stored) for stored in self._library)
        self.databases = {data.LIBRARY_DATABASE_ID: data.library_database()}
        self.records = {data.LIBRARY_DATABASE_ID: [stored.doc["id"] for stored in self._library]}
        self.select_options = copy.deepcopy(data.SELECT_OPTIONS)
        self._request_seq = 0

    def fixtures(self) -> dict[str, Any]:
        library = self.records[data.LIBRARY_DATABASE_ID]
        return {
            "page_ids": [data.PLAN_PAGE_ID, data.NOTES_PAGE_ID, data.TRASHED_PAGE_ID, data.SPACE_PAGE_ID],
            "plan_page_id": data.PLAN_PAGE_ID,
            "trashed_page_id": data.TRASHED_PAGE_ID,
            "parent_page_id": data.SPACE_PAGE_ID,
            "etag_format": '"<n>"',
            "database_ids": list(self.databases),
            "database_page_ids": {data.LIBRARY_DATABASE_ID: list(library)},
            "needs_refresh_page_ids": [
                page_id for i, page_id in enumerate(library) if data.seo_status(i) == "needs refresh"],
        }

    # ------------------------------------------------------------------ responses
    def _error(
        self, status: int, message: str, details: list[dict[str, str]] | None = None, code: str | None = None
    ) -> JSONResponse:
        self._request_seq += 1
        body: dict[str, Any] = {
            "object": "error",
            "status": status,
            "code": code or ERROR_CODES.get(status, "internal_error"),
            "message": message,
            "request_id": f"req_sandbox_{self._request_seq:06d}",
        }
        if details:
            body["details"] = details
        return JSONResponse(status_code=status, content=body)

    def _page_response(self, stored: StoredPage) -> JSONResponse:
        return JSONResponse(status_code=200, content=stored.doc, headers={"ETag": stored.etag})

    # ------------------------------------------------------------------ routes
    def _install_routes(self) -> None:
        app = self.app

        @app.exception_handler(StarletteHTTPException)
        async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
            message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
            return self._error(exc.status_code, message)

        @app.exception_handler(ApiError)
        async def api_error(request: Request, exc: ApiError) -> JSONResponse:
            return self._error(exc.status, exc.message, exc.details, exc.code)

        @app.get("/v2/users/me")
        async def users_me(request: Request) -> JSONResponse:
            token = self._authenticate(request)
            return JSONResponse(status_code=200, content=self._bot_user(token))

        @app.get("/v2/pages/{page_id}")
        async def get_page(page_id: str, request: Request) -> JSONResponse:
            self._authenticate(request)
            return self._page_response(self._find(page_id))

        @app.get("/v2/databases/{database_id}")
        async def get_database(database_id: str, request: Request) -> JSONResponse:
            self._authenticate(request)
            return JSONResponse(status_code=200, content=self._find_database(database_id))

        @app.post("/v2/databases/{database_id}/query")
        async def query_database(database_id: str, request: Request) -> JSONResponse:
            self._authenticate(request)
            database = self._find_database(database_id)
            ok, body = await read_json(request)
            if not ok:
                raise invalid("body", "the request body is not valid JSON")
            schema = {name: prop["type"] for name, prop in database["properties"].items()}
            try:
                query = parse_query(body, database["id"], schema)
            except QueryError as exc:
                raise ApiError(400, str(exc), [{"path": exc.path, "message": exc.message}], exc.code) from None
            records = [self.pages[page_id].doc for page_id in self.records[database["id"]]]
            return JSONResponse(status_code=200, content=run_query(query, records))

        @app.patch("/v2/pages/{page_id}")
        async def update_page(page_id: str, request: Request) -> JSONResponse:
            token = self._authenticate(request)
            if token.startswith("readonly"):
                raise ApiError(403, "the token lacks the pages.write scope")
            stored = self._find(page_id)
            ok, body = await read_json(request)
            if not ok:
                raise invalid("body", "the request body is not valid JSON")
            update = validate_update({} if body is None else body, stored.doc, self.select_options)
            self._check_precondition(request.headers.get("if-match"), stored)
            self._apply(stored, update, token)
            return self._page_response(stored)

    # ------------------------------------------------------------------ request checks
    def _authenticate(self, request: Request) -> str:
        credentials = read_authorization(request)
        if credentials is None:
            raise ApiError(401, "missing Authorization header: use 'Authorization: Bearer <token>'")
        if credentials.scheme.lower() != "bearer":
            raise ApiError(401, "the Authorization scheme must be Bearer")
        if credentials.token.startswith("invalid"):
            raise ApiError(401, "the token is invalid or expired")
        return credentials.token

    def _find(self, page_id: str) -> StoredPage:
        if not UUID_RE.match(page_id):
            raise invalid("page_id", "must be a UUID")
        stored = self.pages.get(page_id.lower())
        if stored is None:
            raise ApiError(404, f"page {page_id} does not exist or is not shared with the integration")
        return stored

    def _find_database(self, database_id: str) -> dict[str, Any]:
        if not UUID_RE.match(database_id):
            raise invalid("database_id", "must be a UUID")
        database = self.databases.get(database_id.lower())
        if database is None:
            raise ApiError(404, f"database {database_id} does not exist or is not shared with the integration")
        return database

    def _check_precondition(self, if_match: str | None, stored: StoredPage) -> None:
        if if_match is None:
            return
        candidates = {part.strip() for part in if_match.split(",")}
        edited = stored.doc["last_edited_time"]
        accepted = {"*", stored.etag, edited, f'"{edited}"'}
        if not candidates & accepted:
            raise ApiError(
                409,
                f"If-Match {if_match!r} does not match the current page version {stored.etag} "
                f"(last edited {edited}); read the page again and retry",
            )

    def _bot_user(self, token: str) -> dict[str, Any]:
        writable = not token.startswith("readonly")
        return {
            "object": "bot_user",
            "id": user_id_for(token),
            "name": "Pagemeta sandbox integration",
            "workspace_id": data.WORKSPACE_ID,
            "workspace_name": "Sandbox Workspace",
            "owner": {"object": "user", "id": data.DEMO_USER_ID},
            "capabilities": {
                "pages.read": True, "pages.write": writable, "blocks.read": True, "blocks.write": writable,
                "databases.read": True, "databases.write": writable, "users.read": True,
                "users.email.read": False, "search.read": True,
            },
            "type": "integration",
            "integration_id": data.INTEGRATION_ID,
        }

    # ------------------------------------------------------------------ writes
    def _apply(self, stored: StoredPage, update: dict[str, Any], token: str) -> None:
        doc = stored.doc
        before = copy.deepcopy(doc)
        for name, value in update.get("properties", {}).items():
            doc["properties"][name] = value
        for key in ("icon", "cover", "in_trash"):
            if key in update:
                doc[key] = update[key]
        if doc == before:
            return
        if doc["parent"].get("type") == "database_id":
            self._library_dirty = True
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        stored.edited = max(now, stored.edited + timedelta(milliseconds=1))
        stored.version += 1
        doc["last_edited_time"] = iso_ms(stored.edited)
        doc["last_edited_by"] = {"object": "user", "id": user_id_for(token)}


# ---------------------------------------------------------------------- body validation
def validate_update(body: Any, page: dict[str, Any], options: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """Check a PATCH body against the page and return it in stored (read-back) form."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    unknown = sorted(set(body) - UPDATE_KEYS)
    if unknown:
        hint = " (V2 uses in_trash instead of archived)" if "archived" in unknown else ""
        raise invalid(unknown[0], f"unknown field; allowed: {', '.join(sorted(UPDATE_KEYS))}{hint}")
    update: dict[str, Any] = {}
    if "properties" in body:
        update["properties"] = validate_properties(body["properties"], page["properties"], options)
    if "icon" in body:
        update["icon"] = validate_file_like(body["icon"], "icon", ("emoji", "external"))
    if "cover" in body:
        update["cover"] = validate_file_like(body["cover"], "cover", ("external",))
    if "in_trash" in body:
        if not isinstance(body["in_trash"], bool):
            raise invalid("in_trash", "must be a boolean")
        update["in_trash"] = body["in_trash"]
    return update


def validate_properties(
    value: Any, current: dict[str, Any], options: dict[str, list[dict[str, str]]]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("properties", "must be an object")
    result = {}
    for name, prop in value.items():
        path = f"properties.{name}"
        existing = current.get(name)
        if existing is None:
            raise invalid(path, "is not a property that exists on this page")
        kind = existing["type"]
        if not isinstance(prop, dict):
            raise invalid(path, "must be an object")
        unknown = sorted(set(prop) - {"id", "type", kind})
        if unknown:
            raise invalid(f"{path}.{unknown[0]}", f"unknown field for a {kind} property")
        if "type" in prop and prop["type"] != kind:
            raise invalid(f"{path}.type", f"must be {kind!r} (the property's type)")
        if "id" in prop and prop["id"] != existing["id"]:
            raise invalid(f"{path}.id", f"does not match the property id {existing['id']!r}")
        if kind not in prop:
            raise invalid(path, f"a {kind} property needs the {kind!r} field")
        result[name] = {"id": existing["id"], "type": kind, kind: validate_value(kind, prop[kind], path, name, options)}
    return result


def validate_value(kind: str, value: Any, path: str, name: str, options: dict[str, list[dict[str, str]]]) -> Any:
    if kind in ("title", "rich_text"):
        return validate_rich_text(value, f"{path}.{kind}")
    if kind == "select":
        return validate_select(value, f"{path}.select", options.get(name, []))
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise invalid(f"{path}.checkbox", "must be a boolean")
        return value
    raise invalid(path, f"updating {kind} properties is not emulated")


def validate_rich_text(value: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid(path, "must be an array of rich text items")
    return [validate_rich_text_item(item, f"{path}[{i}]") for i, item in enumerate(value)]


def validate_rich_text_item(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid(path, "must be an object")
    unknown = sorted(set(item) - RICH_TEXT_KEYS)
    if unknown:
        raise invalid(f"{path}.{unknown[0]}", "unknown field of a rich text item")
    if item.get("type", "text") != "text":
        raise invalid(f"{path}.type", "only 'text' rich text items are supported")
    text = item.get("text")
    if not isinstance(text, dict):
        raise invalid(f"{path}.text", "must be an object")
    if set(text) - {"content", "link"}:
        raise invalid(f"{path}.text", "allowed fields: content, link")
    content = text.get("content")
    if not isinstance(content, str):
        raise invalid(f"{path}.text.content", "must be a string")
    link = text.get("link")
    if link is not None and not is_link(link):
        raise invalid(f"{path}.text.link", "must be null or {\"url\": string}")
    stored: dict[str, Any] = {"type": "text", "text": {"content": content, "link": link}}
    if "annotations" in item:
        stored["annotations"] = validate_annotations(item["annotations"], f"{path}.annotations")
    stored["plain_text"] = content
    stored["href"] = link["url"] if link else None
    return stored


def is_link(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"url"} and isinstance(value["url"], str) and bool(value["url"])


def validate_annotations(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(path, "must be an object")
    for key, flag in value.items():
        if key == "color":
            if not isinstance(flag, str):
                raise invalid(f"{path}.color", "must be a string")
        elif key not in ANNOTATION_FLAGS or not isinstance(flag, bool):
            raise invalid(f"{path}.{key}", "unknown annotation or not a boolean")
    return dict(value)


def validate_select(value: Any, path: str, known: list[dict[str, str]]) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"id", "name", "color"}:
        raise invalid(path, "must be null or an object with id, name or color")
    for option in known:
        if value.get("id") == option["id"] or value.get("name") == option["name"]:
            return dict(option)
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"{path}.name", "a new option needs a non-empty name")
    # A new option: its id derives from its name, so writing the same name again gives the same
    # option without registering it (a rejected write must leave no trace).
    option = {"id": f"opt-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:8]}", "name": name,
              "color": str(value.get("color", "default"))}
    return option


def validate_file_like(value: Any, path: str, types: tuple[str, ...]) -> dict[str, Any] | None:
    """An icon or cover: null, an emoji (icons only) or an external URL."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(path, "must be an object or null")
    kind = value.get("type")
    if kind not in types:
        raise invalid(f"{path}.type", f"must be one of {', '.join(types)}")
    if set(value) != {"type", kind}:
        raise invalid(path, f"an {kind} {path} has exactly the fields type and {kind}")
    if kind == "emoji":
        if not isinstance(value["emoji"], str) or not value["emoji"]:
            raise invalid(f"{path}.emoji", "must be a non-empty string")
        return {"type": "emoji", "emoji": value["emoji"]}
    external = value["external"]
    if not isinstance(external, dict) or set(external) != {"url"} or not isinstance(external["url"], str):
        raise invalid(f"{path}.external", "must be {\"url\": string}")
    if not external["url"].startswith(("https://", "http://")):
        raise invalid(f"{path}.external.url", "must be an http(s) URL")
    return {"type": "external", "external": {"url": external["url"]}}


def create(state: SandboxState) -> BuildinEmulator:
    return BuildinEmulator(state)
