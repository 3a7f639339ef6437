"""Sandbox emulation of the Hamgam page-meta API (list, create, retrieve, update).

Written from Hamgam's four page-meta documents. Where they are silent (error bodies, status codes)
the emulator answers as the Django REST Framework backend their list envelope and query
parameters point to: ``{"detail": "..."}`` for 401/403/404 and ``{"field": ["message"]}`` for 400.

Modelling choices, each visible to clients:

- a meta value is a text or a file, never both and never neither, judged on the state *after*
  the write: switching kinds therefore needs the other value set to null in the same request, as
  the update document says;
- an empty ``value_text`` counts as "no text": the documented file meta carries ``value_text: ""``
  next to its file, which is what a create with only ``value_file`` stores here too;
- ``key`` is unique per page (a duplicate is a 400 on ``key``), required on PATCH too;
- the list URL without its trailing slash is served as is (the docs: "an internal redirect"),
  and so are create/retrieve/update with or without one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider_pagemeta.sandbox.common import json_response, read_authorization, read_json
from airflow_provider_pagemeta.sandbox.hamgam_data import (
    BULK_PAGE_IDS,
    DEMO_FILES,
    DEMO_PAGES,
    EMPTY_PAGE_ID,
    PAGED_PAGE_ID,
    demo_rows,
    human_size,
    iso,
)
from airflow_provider_pagemeta.sandbox.state import SandboxState

DEFAULT_LIMIT = 10
DEFAULT_ORDERING = "-created_at"
ORDERING_FIELDS = ("id", "key", "value_text", "created_at", "updated_at")
KEY_MAX_LENGTH = 255
LIST_PATHS = ("/api/pages/base/{page_id}/meta/", "/api/pages/base/{page_id}/meta")
DETAIL_PATHS = ("/api/pages/base/{page_id}/meta/{meta_id}", "/api/pages/base/{page_id}/meta/{meta_id}/")

NOT_FOUND = {"detail": "Not found."}
NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN = {"detail": "Invalid token."}
NO_PERMISSION = {"detail": "You do not have permission to perform this action."}
BOTH_VALUES = (
    "Only one of value_text or value_file can be set: to switch a meta's value kind, "
    "set the other one to null in the same request."
)
NEITHER_VALUE = "Either one of value_file or value_text must be provided."
DUPLICATE_KEY = "page meta with this key already exists."

Meta = dict[str, Any]


def _error(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Token"} if status == 401 else None
    return json_response(status, body, headers)


def _positive_int(raw: str | None) -> int | None:
    """DRF's strict positive-int parse of a query or path value; None when it is not one."""
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw.strip())
    return value if value > 0 else None


def _bool_param(raw: str | None) -> bool | None:
    lowered = (raw or "").strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return None


def _has_text(meta: Meta) -> bool:
    return isinstance(meta.get("value_text"), str) and meta["value_text"] != ""


def _has_file(meta: Meta) -> bool:
    return meta.get("value_file") is not None


def _sort_key(name: str) -> Callable[[Meta], tuple[bool, Any]]:
    """Nulls first (ascending), then the value."""

    def key(meta: Meta) -> tuple[bool, Any]:
        value = meta[name]
        return (value is not None, value if value is not None else "")

    return key


VALUE_FILTERS: tuple[tuple[str, Callable[[Meta], bool]], ...] = (
    ("has_value_text", _has_text),
    ("has_value_file", _has_file),
)


class HamgamEmulator:
    """Pages, their meta entries and a file table, served under ``/hamgam``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.app = FastAPI(title="hamgam sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        self.pages: dict[int, dict[int, Meta]] = {}
        self.next_id = 1
        self.last_moment = datetime.min.replace(tzinfo=timezone.utc)
        self.reset()
        self._add_routes()

    # ------------------------------------------------------------------ data
    def reset(self) -> None:
        self.pages = {page_id: {} for page_id in [*DEMO_PAGES, *BULK_PAGE_IDS]}
        self.next_id = 1
        for row in demo_rows():
            meta = {"id": self.next_id, **row}
            self.pages[row["page_id"]][self.next_id] = meta
            self.next_id += 1
            self.last_moment = row["created_at"]

    def fixtures(self) -> dict[str, Any]:
        return {
            "page_ids": sorted(DEMO_PAGES),
            "bulk_page_ids": list(BULK_PAGE_IDS),
            "file_ids": sorted(DEMO_FILES),
            "paged_page_id": PAGED_PAGE_ID,
            "empty_page_id": EMPTY_PAGE_ID,
            "default_limit": DEFAULT_LIMIT,
        }

    def _now(self) -> datetime:
        """Wall-clock time, nudged so that no two writes share a timestamp (ordering stays total)."""
        moment = max(datetime.now(timezone.utc), self.last_moment + timedelta(microseconds=1))
        self.last_moment = moment
        return moment

    # ------------------------------------------------------------------ rendering
    @staticmethod
    def _file(file_id: int | None, request: Request) -> dict[str, Any] | None:
        if file_id is None:
            return None
        kind, name, size, media_path = DEMO_FILES[file_id]
        return {"id": file_id, "type": kind, "name": name, "size": size,
                "human_readable_size": human_size(size), "f": f"{request.base_url}media/core_media/{media_path}"}

    def _render(self, meta: Meta, request: Request) -> dict[str, Any]:
        return {
            "id": meta["id"],
            "key": meta["key"],
            "value_text": meta["value_text"],
            "value_file_data": self._file(meta["value_file"], request),
            "created_at": iso(meta["created_at"]),
            "updated_at": iso(meta["updated_at"]),
        }

    # ------------------------------------------------------------------ access checks
    @staticmethod
    def _auth_error(request: Request) -> JSONResponse | None:
        """DRF TokenAuthentication, then the PageMetaPermission check."""
        creds = read_authorization(request)
        if creds is None or creds.scheme.lower() != "token":
            return _error(401, NO_CREDENTIALS)
        if creds.token.startswith("invalid"):
            return _error(401, INVALID_TOKEN)
        if creds.token.startswith("noperm"):
            return _error(403, NO_PERMISSION)
        return None

    def _page(self, raw_page_id: str) -> dict[int, Meta] | None:
        page_id = _positive_int(raw_page_id)
        return self.pages.get(page_id) if page_id is not None else None

    def _guard(self, request: Request, raw_page_id: str) -> tuple[dict[int, Meta] | None, JSONResponse | None]:
        denied = self._auth_error(request)
        if denied is not None:
            return None, denied
        page = self._page(raw_page_id)
        if page is None:
            return None, _error(404, NOT_FOUND)
        return page, None

    # ------------------------------------------------------------------ list
    def _filtered(self, page: dict[int, Meta], request: Request) -> list[Meta]:
        q = request.query_params
        rows = list(page.values())
        search = (q.get("search") or "").strip().lower()
        if search:
            rows = [m for m in rows if search in self._search_text(m)]
        for param, test in VALUE_FILTERS:
            wanted = _bool_param(q.get(param))
            if wanted is not None:
                rows = [m for m in rows if test(m) is wanted]
        id_min, id_max = _positive_int(q.get("id_min")), _positive_int(q.get("id_max"))
        if id_min is not None:
            rows = [m for m in rows if m["id"] >= id_min]
        if id_max is not None:
            rows = [m for m in rows if m["id"] <= id_max]
        return self._ordered(rows, q.get("ordering"))

    @staticmethod
    def _search_text(meta: Meta) -> str:
        name = DEMO_FILES[meta["value_file"]][1] if meta["value_file"] is not None else None
        return " ".join(part for part in (meta["key"], meta["value_text"], name) if part).lower()

    @staticmethod
    def _ordered(rows: list[Meta], ordering: str | None) -> list[Meta]:
        """DRF's OrderingFilter (unknown fields dropped), then ``id`` as the tie-breaker so that
        offset pages never overlap or skip a row."""
        terms = [t.strip() for t in (ordering or "").split(",") if t.strip().lstrip("-") in ORDERING_FIELDS]
        terms = terms or [DEFAULT_ORDERING]
        result = sorted(rows, key=lambda m: m["id"])
        for term in reversed(terms):
            result.sort(key=_sort_key(term.lstrip("-")), reverse=term.startswith("-"))
        return result

    @staticmethod
    def _page_url(request: Request, limit: int, offset: int | None) -> str:
        """DRF's ``replace_query_param`` on the absolute request URL (params sorted, as DRF does)."""
        params = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
        params["limit"] = str(limit)
        if offset is not None:
            params["offset"] = str(offset)
        return str(request.url.replace(query=urlencode(sorted(params.items()))))

    def _list_body(self, rows: list[Meta], request: Request) -> dict[str, Any]:
        q = request.query_params
        limit = _positive_int(q.get("limit")) or DEFAULT_LIMIT
        offset_raw = (q.get("offset") or "").strip()
        offset = int(offset_raw) if offset_raw.isdigit() else 0
        count = len(rows)
        next_url = self._page_url(request, limit, offset + limit) if offset + limit < count else None
        previous_url = None
        if offset > 0:
            previous_url = self._page_url(request, limit, offset - limit if offset - limit > 0 else None)
        results = [self._render(m, request) for m in rows[offset : offset + limit]]
        return {"count": count, "next": next_url, "previous": previous_url, "results": results}

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _key_errors(body: dict[str, Any]) -> list[str]:
        if "key" not in body:
            return ["This field is required."]
        key = body["key"]
        if key is None:
            return ["This field may not be null."]
        if not isinstance(key, str):
            return ["Not a valid string."]
        if not key.strip():
            return ["This field may not be blank."]
        if len(key) > KEY_MAX_LENGTH:
            return [f"Ensure this field has no more than {KEY_MAX_LENGTH} characters."]
        return []

    @staticmethod
    def _file_errors(body: dict[str, Any]) -> list[str]:
        raw = body.get("value_file")
        if raw is None:
            return []
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            return [f"Incorrect type. Expected pk value, received {type(raw).__name__}."]
        pk = int(raw) if isinstance(raw, int) or raw.strip().isdigit() else None
        if pk is None or pk not in DEMO_FILES:
            return [f'Invalid pk "{raw}" - object does not exist.']
        return []

    def _field_errors(self, body: dict[str, Any]) -> dict[str, list[str]]:
        errors = {"key": self._key_errors(body), "value_file": self._file_errors(body)}
        text = body.get("value_text")
        if text is not None and not isinstance(text, str):
            errors["value_text"] = ["Not a valid string."]
        return {name: messages for name, messages in errors.items() if messages}

    def _validate(self, body: Any, page: dict[int, Meta], current: Meta | None) -> tuple[Meta | None, dict]:
        """DRF order: field errors, then the unique key, then the value rule on the merged state.
        Returns the new values (key, value_text, value_file) or the error body."""
        if not isinstance(body, dict):
            kind = "list" if isinstance(body, list) else type(body).__name__
            return None, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
        errors = self._field_errors(body)
        if errors:
            return None, errors
        key = body["key"].strip()
        if any(m["key"] == key and (current is None or m["id"] != current["id"]) for m in page.values()):
            return None, {"key": [DUPLICATE_KEY]}
        default_text = current["value_text"] if current else ""  # the model's default for a new row
        merged = {
            "key": key,
            "value_text": body.get("value_text", default_text),
            "value_file": body.get("value_file", current["value_file"] if current else None),
        }
        if merged["value_file"] is not None:
            merged["value_file"] = int(merged["value_file"])
        has_file = merged["value_file"] is not None
        if _has_text(merged) and has_file:
            return None, {"non_field_errors": [BOTH_VALUES]}
        if not _has_text(merged) and not has_file:
            return None, {"non_field_errors": [NEITHER_VALUE]}
        return merged, {}

    async def _read_body(self, request: Request) -> tuple[Any, JSONResponse | None]:
        ok, body = await read_json(request)
        if not ok:
            return None, _error(400, {"detail": "JSON parse error - Expecting value"})
        return body, None

    # ------------------------------------------------------------------ handlers
    async def list_meta(self, request: Request, page_id: str) -> JSONResponse:
        page, denied = self._guard(request, page_id)
        if page is None:
            return denied  # type: ignore[return-value]
        return json_response(200, self._list_body(self._filtered(page, request), request))

    async def create_meta(self, request: Request, page_id: str) -> JSONResponse:
        page, denied = self._guard(request, page_id)
        if page is None:
            return denied  # type: ignore[return-value]
        body, bad = await self._read_body(request)
        if bad is not None:
            return bad
        values, errors = self._validate(body, page, None)
        if values is None:
            return _error(400, errors)
        moment = self._now()
        meta = {"id": self.next_id, "page_id": _positive_int(page_id), **values,
                "created_at": moment, "updated_at": moment}
        page[self.next_id] = meta
        self.next_id += 1
        return json_response(201, self._render(meta, request))

    def _meta(self, request: Request, page_id: str, meta_id: str) -> tuple[Meta | None, dict, JSONResponse | None]:
        page, denied = self._guard(request, page_id)
        if page is None:
            return None, {}, denied
        number = _positive_int(meta_id)
        meta = page.get(number) if number is not None else None
        if meta is None:
            return None, page, _error(404, NOT_FOUND)
        return meta, page, None

    async def retrieve_meta(self, request: Request, page_id: str, meta_id: str) -> JSONResponse:
        meta, _page, problem = self._meta(request, page_id, meta_id)
        if meta is None:
            return problem  # type: ignore[return-value]
        return json_response(200, self._render(meta, request))

    async def update_meta(self, request: Request, page_id: str, meta_id: str) -> JSONResponse:
        meta, page, problem = self._meta(request, page_id, meta_id)
        if meta is None:
            return problem  # type: ignore[return-value]
        body, bad = await self._read_body(request)
        if bad is not None:
            return bad
        values, errors = self._validate(body, page, meta)
        if values is None:
            return _error(400, errors)
        meta.update(values, updated_at=self._now())
        return json_response(200, self._render(meta, request))

    def _add_routes(self) -> None:
        routes: list[tuple[tuple[str, ...], str, Callable[..., Any]]] = [
            (LIST_PATHS, "GET", self.list_meta),
            (LIST_PATHS, "POST", self.create_meta),
            (DETAIL_PATHS, "GET", self.retrieve_meta),
            (DETAIL_PATHS, "PATCH", self.update_meta),
        ]
        for paths, method, handler in routes:
            for path in paths:
                self.app.add_api_route(path, handler, methods=[method], response_model=None)


def create(state: SandboxState) -> HamgamEmulator:
    return HamgamEmulator(state)
