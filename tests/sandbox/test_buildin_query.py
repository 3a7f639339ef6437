"""The Buildin emulator's demo database: Get Database and Query Database over plain HTTP (no provider
code), and its records behaving as ordinary pages."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.sandbox.control import SandboxControl

TOKEN = "sandbox-query-token-3d4e5f6a7b8c"
NEEDS_REFRESH = {"property": "SEO status", "select": {"equals": "needs refresh"}}


class Buildin:
    def __init__(self, sandbox: SandboxControl) -> None:
        self.base = sandbox.cms_url("buildin")
        self.session = requests.Session()

    def __call__(self, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

    def query(self, database_id: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self("POST", f"/v2/databases/{database_id}/query", json=body, **kwargs)

    def query_all(self, database_id: str, **body: Any) -> tuple[list[dict[str, Any]], int]:
        """Every record the query selects, following next_cursor; and the number of calls."""
        results: list[dict[str, Any]] = []
        cursor, calls = None, 0
        while True:
            response = self.query(database_id, {**body, "start_cursor": cursor, "page_size": 100})
            assert response.status_code == 200, response.text
            page = response.json()
            calls += 1
            results += page["results"]
            if not page["has_more"]:
                assert page["next_cursor"] is None
                return results, calls
            cursor = page["next_cursor"]


@pytest.fixture
def api(sandbox: SandboxControl) -> Buildin:
    return Buildin(sandbox)


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["buildin"]  # type: ignore[no-any-return]


@pytest.fixture
def db(fx: dict[str, Any]) -> str:
    [database_id] = fx["database_ids"]
    return database_id  # type: ignore[no-any-return]


def title(page: dict[str, Any]) -> str:
    return "".join(t["plain_text"] for t in page["properties"]["Name"]["title"])


def seo(page: dict[str, Any]) -> str | None:
    option = page["properties"]["SEO status"]["select"]
    return option["name"] if option else None


def assert_error(response: requests.Response, status: int, code: str, path: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert {k: body[k] for k in ("object", "status", "code")} == {"object": "error", "status": status, "code": code}
    assert body["message"] and body["request_id"].startswith("req_")
    if path is not None:
        assert body["details"][0]["path"] == path, body


# ---------------------------------------------------------------------- get database
def test_get_database_returns_the_schema_without_records(api, db, sandbox):
    body = api("GET", f"/v2/databases/{db}").json()
    assert body["object"] == "database" and body["id"] == db and "results" not in body
    props = body["properties"]
    assert {name: p["type"] for name, p in props.items()} == {
        "Name": "title", "SEO status": "select", "Published": "checkbox", "Summary": "rich_text",
        "Meta description": "rich_text"}
    assert [o["name"] for o in props["SEO status"]["select"]["options"]] == ["needs refresh", "ok"]
    assert sandbox.buildin_database_ids() == [db]


def test_database_errors(api, db, fx):
    assert_error(api("GET", f"/v2/databases/{db}", token=None), 401, "unauthorized")
    assert_error(api.query(db, {}, token="invalid-token"), 401, "unauthorized")
    unknown = "12345678-1234-4234-8234-123456789abc"
    assert_error(api("GET", f"/v2/databases/{unknown}"), 404, "not_found")
    assert_error(api.query(unknown, {}), 404, "not_found")
    assert_error(api.query(fx["plan_page_id"], {}), 404, "not_found")  # a page is not a database
    assert_error(api.query("not-a-uuid", {}), 400, "validation_error", "database_id")


# ---------------------------------------------------------------------- pagination
def test_query_pages_through_every_record_with_opaque_cursors(api, db, fx):
    first = api.query(db).json()  # no body at all: the defaults
    assert first["object"] == "list" and len(first["results"]) == 20 and first["has_more"] is True
    records, calls = api.query_all(db)
    assert calls == 5 and [r["id"] for r in records] == fx["database_page_ids"][db]
    assert len(records) == 500
    cursor = api.query(db, {"page_size": 100}).json()["next_cursor"]
    assert isinstance(cursor, str) and not cursor.isdigit() and "100" not in cursor
    # The records are exactly what GET /v2/pages/{id} returns.
    for record in (records[0], records[257], records[-1]):
        assert api("GET", f"/v2/pages/{record['id']}").json() == record
        assert record["parent"] == {"type": "database_id", "database_id": db}
    # page_size may change between calls of one query.
    second = api.query(db, {"page_size": 100, "start_cursor": cursor}).json()
    smaller = api.query(db, {"page_size": 7, "start_cursor": cursor}).json()
    assert [r["id"] for r in smaller["results"]] == [r["id"] for r in second["results"][:7]]


def test_filter_select_equals_picks_the_pages_to_refresh(api, db, fx):
    picked, calls = api.query_all(db, filter=NEEDS_REFRESH)
    assert calls == 2 and len(picked) == 167
    assert [p["id"] for p in picked] == fx["needs_refresh_page_ids"]
    assert {seo(p) for p in picked} == {"needs refresh"}


def test_filters_match_what_the_records_hold(api, db):
    every, _ = api.query_all(db)

    def ids(pages: list[dict[str, Any]]) -> list[str]:
        return [p["id"] for p in pages]

    def run(flt: dict[str, Any]) -> list[str]:
        return ids(api.query_all(db, filter=flt)[0])

    assert run({"property": "Name", "title": {"equals": title(every[42])}}) == [every[42]["id"]]
    unpublished = [p for p in every if p["properties"]["Published"]["checkbox"] is False]
    assert 0 < len(unpublished) < 500
    assert run({"property": "Published", "checkbox": {"equals": False}}) == ids(unpublished)
    no_meta = [p for p in every if not p["properties"]["Meta description"]["rich_text"]]
    assert run({"property": "Meta description", "rich_text": {"equals": ""}}) == ids(no_meta)
    summary = "".join(t["plain_text"] for t in every[3]["properties"]["Summary"]["rich_text"])
    assert run({"property": "Summary", "rich_text": {"equals": summary}}) == [every[3]["id"]]
    both = {"and": [NEEDS_REFRESH, {"property": "Published", "checkbox": {"equals": True}}]}
    published = {p["id"] for p in every if p["properties"]["Published"]["checkbox"]}
    assert run(both) == ids([p for p in every if seo(p) == "needs refresh" and p["id"] in published])
    either = {"or": [{"property": "SEO status", "select": {"equals": "ok"}},
                     {"and": [NEEDS_REFRESH, {"property": "Published", "checkbox": {"equals": False}}]}]}
    assert run(either) == ids([p for p in every if seo(p) == "ok" or (
        seo(p) == "needs refresh" and not p["properties"]["Published"]["checkbox"])])
    assert run({"property": "SEO status", "select": {"equals": "no such option"}}) == []


def test_sorts_by_property_and_timestamp(api, db):
    every, _ = api.query_all(db)
    by_name, _ = api.query_all(db, sorts=[{"property": "Name", "direction": "ascending"}])
    assert [title(p) for p in by_name] == sorted(title(p) for p in every)
    newest_edit, _ = api.query_all(db, sorts=[{"timestamp": "last_edited_time", "direction": "descending"}])
    stamps = [p["last_edited_time"] for p in newest_edit]
    assert stamps == sorted(stamps, reverse=True)
    for direction in ("ascending", "descending"):
        two_keys, _ = api.query_all(db, sorts=[{"property": "SEO status", "direction": direction},
                                               {"timestamp": "created_time", "direction": "descending"}])
        statuses = [seo(p) for p in two_keys]
        groups = ["needs refresh", "ok"] if direction == "ascending" else ["ok", "needs refresh"]
        # Grouped by status in the asked direction, empty selects last either way, newest first inside.
        assert statuses == sorted(statuses, key=lambda s: (s is None, groups.index(s) if s else 0))
        created = [p["created_time"] for p in two_keys if seo(p) == "ok"]
        assert created == sorted(created, reverse=True)
        assert statuses[-1] is None
    sorted_filtered, _ = api.query_all(db, filter=NEEDS_REFRESH,
                                       sorts=[{"timestamp": "created_time", "direction": "descending"}])
    assert [p["created_time"] for p in sorted_filtered] == sorted((p["created_time"] for p in sorted_filtered),
                                                                  reverse=True)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(("body", "code", "path"), [
    ({"filter": NEEDS_REFRESH, "view_id": "x"}, "validation_error", "view_id"),
    ({"page_size": 0}, "validation_error", "page_size"),
    ({"page_size": 101}, "validation_error", "page_size"),
    ({"page_size": "10"}, "validation_error", "page_size"),
    ({"page_size": True}, "validation_error", "page_size"),
    ({"start_cursor": 100}, "validation_error", "start_cursor"),
    ({"start_cursor": "MTAw"}, "validation_error", "start_cursor"),  # base64 of "100": not ours
    ({"start_cursor": "%%%"}, "validation_error", "start_cursor"),
    ([NEEDS_REFRESH], "validation_error", "body"),
    ({"filter": "SEO status"}, "validation_error", "filter"),
    ({"filter": {"property": "Colour", "select": {"equals": "red"}}}, "validation_error", "filter.property"),
    ({"filter": {"property": "Name", "select": {"equals": "x"}}}, "validation_error", "filter.select"),
    ({"filter": {"property": "Published", "checkbox": {"equals": "yes"}}}, "validation_error",
     "filter.checkbox.equals"),
    ({"filter": {"property": "Name", "title": {"equals": "x"}, "select": {"equals": "y"}}}, "validation_error",
     "filter"),
    ({"filter": {"property": "Name", "title": {"contains": "Hiking"}}}, "unsupported_filter",
     "filter.title.contains"),
    ({"filter": {"property": "SEO status", "select": {"does_not_equal": "ok"}}}, "unsupported_filter",
     "filter.select.does_not_equal"),
    ({"filter": {"property": "Published", "number": {"equals": 1}}}, "unsupported_filter", "filter.number"),
    ({"filter": {"timestamp": "created_time", "created_time": {"after": "2026-01-01"}}}, "unsupported_filter",
     "filter"),
    ({"filter": {}}, "unsupported_filter", "filter"),
    ({"filter": {"and": [{"or": [{"and": [NEEDS_REFRESH]}]}]}}, "unsupported_filter", "filter.and[0].or[0].and"),
    ({"filter": {"and": NEEDS_REFRESH}}, "validation_error", "filter.and"),
    ({"sorts": {"property": "Name", "direction": "ascending"}}, "validation_error", "sorts"),
    ({"sorts": [{"property": "Name", "direction": "up"}]}, "unsupported_sort", "sorts[0].direction"),
    ({"sorts": [{"property": "Name"}]}, "unsupported_sort", "sorts[0]"),
    ({"sorts": [{"timestamp": "edited", "direction": "ascending"}]}, "unsupported_sort", "sorts[0].timestamp"),
    ({"sorts": [{"property": "Name", "timestamp": "created_time", "direction": "ascending"}]}, "unsupported_sort",
     "sorts[0]"),
    ({"sorts": [{"property": "Colour", "direction": "ascending"}]}, "validation_error", "sorts[0].property"),
])
def test_bad_queries_are_400_with_buildins_codes(api, db, body, code, path):
    assert_error(api.query(db, body), 400, code, path)


def test_a_cursor_only_works_for_its_own_query(api, db):
    cursor = api.query(db, {"filter": NEEDS_REFRESH, "page_size": 100}).json()["next_cursor"]
    assert api.query(db, {"filter": NEEDS_REFRESH, "start_cursor": cursor}).status_code == 200
    other = api.query(db, {"start_cursor": cursor})
    assert_error(other, 400, "validation_error", "start_cursor")
    sorted_ = api.query(db, {"filter": NEEDS_REFRESH, "start_cursor": cursor,
                             "sorts": [{"property": "Name", "direction": "ascending"}]})
    assert_error(sorted_, 400, "validation_error", "start_cursor")
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    forged = base64.urlsafe_b64encode(("-5" + raw[raw.index(":"):]).encode()).decode()
    assert_error(api.query(db, {"filter": NEEDS_REFRESH, "start_cursor": forged}), 400, "validation_error")
    bad_json = api("POST", f"/v2/databases/{db}/query", data="{", headers={"Content-Type": "application/json"})
    assert_error(bad_json, 400, "validation_error", "body")


# ---------------------------------------------------------------------- records are pages
def test_records_are_ordinary_pages_with_etags(api, db, fx, sandbox):
    [first, second, *_] = fx["needs_refresh_page_ids"]
    read = api("GET", f"/v2/pages/{first}")
    etag = read.headers["etag"]
    update = {"properties": {
        "SEO status": {"select": {"name": "ok"}},
        "Meta description": {"rich_text": [{"type": "text", "text": {"content": "Fresh words."}}]},
        "Published": {"checkbox": True},
    }}
    written = api("PATCH", f"/v2/pages/{first}", json=update, headers={"If-Match": etag})
    assert written.status_code == 200 and written.headers["etag"] != etag
    assert seo(written.json()) == "ok"
    assert written.json()["properties"]["Published"]["checkbox"] is True
    stale = api("PATCH", f"/v2/pages/{first}", json=update, headers={"If-Match": etag})
    assert_error(stale, 409, "conflict")
    assert_error(api("PATCH", f"/v2/pages/{first}", json={"properties": {"Published": {"checkbox": "no"}}}),
                 400, "validation_error", "properties.Published.checkbox")
    picked, _ = api.query_all(db, filter=NEEDS_REFRESH)
    assert len(picked) == 166 and picked[0]["id"] == second  # the refreshed page left the selection
    trashed = api("PATCH", f"/v2/pages/{second}", json={"in_trash": True})
    assert trashed.status_code == 200
    assert len(api.query_all(db, filter=NEEDS_REFRESH)[0]) == 165  # trashed records are not queried
    sandbox.reset()
    picked, _ = api.query_all(db, filter=NEEDS_REFRESH)
    assert len(picked) == 167 and picked[0]["id"] == first
    assert api("GET", f"/v2/pages/{first}").headers["etag"] == '"1"'


def test_a_read_only_token_queries_but_cannot_write(api, db, fx):
    assert api.query(db, {"filter": NEEDS_REFRESH}, token="readonly-token-1234").status_code == 200
    page = fx["needs_refresh_page_ids"][0]
    denied = api("PATCH", f"/v2/pages/{page}", token="readonly-token-1234", json={"in_trash": True})
    assert_error(denied, 403, "forbidden")
