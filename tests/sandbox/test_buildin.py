"""The Buildin emulator over plain HTTP: versions, If-Match, partial updates, errors, tokens."""

from __future__ import annotations

from typing import Any

import pytest
import requests

PLAN = "11111111-1111-4111-8111-111111111111"
TRASHED = "33333333-3333-4333-8333-333333333333"
TOKEN = "sandbox-test-token-5c2e8a1f"


def call(sandbox, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, f"{sandbox.cms_url('buildin')}{path}", headers=headers, timeout=10, **kwargs)


def text_item(content: str) -> dict[str, Any]:
    return {"type": "text", "text": {"content": content}}


def test_fixtures_list_demo_pages(sandbox):
    fixtures = sandbox.fixtures()["buildin"]
    assert PLAN in fixtures["page_ids"] and TRASHED in fixtures["page_ids"]
    page = call(sandbox, "GET", f"/v2/pages/{TRASHED}").json()
    assert page["in_trash"] is True and page["url"] == f"https://buildin.ai/docs/{TRASHED}"


def test_every_change_bumps_etag_and_last_edited_time(sandbox):
    first = call(sandbox, "GET", f"/v2/pages/{PLAN}")
    assert first.headers["etag"] == '"1"'
    times = [first.json()["last_edited_time"]]
    for n in range(2, 5):
        response = call(sandbox, "PATCH", f"/v2/pages/{PLAN}", json={"icon": {"type": "emoji", "emoji": str(n)}})
        assert response.status_code == 200 and response.headers["etag"] == f'"{n}"'
        times.append(response.json()["last_edited_time"])
    assert times == sorted(set(times))  # strictly increasing
    assert all(len(t) == len("2026-04-09T09:30:00.000Z") and t.endswith("Z") for t in times)
    same = call(sandbox, "PATCH", f"/v2/pages/{PLAN}", json={"icon": {"type": "emoji", "emoji": "4"}})
    assert same.headers["etag"] == '"4"' and same.json()["last_edited_time"] == times[-1]  # no change, no bump


def test_if_match_accepts_etag_star_and_last_edited_time_but_not_weak_tags(sandbox):
    path = f"/v2/pages/{PLAN}"
    edited = call(sandbox, "GET", path).json()["last_edited_time"]
    assert call(sandbox, "PATCH", path, json={"in_trash": False}, headers={"If-Match": "*"}).status_code == 200
    assert call(sandbox, "PATCH", path, json={"cover": None}, headers={"If-Match": edited}).status_code == 200
    weak = call(sandbox, "PATCH", path, json={"in_trash": True}, headers={"If-Match": 'W/"1"'})
    assert weak.status_code == 409
    body = weak.json()
    assert {k: body[k] for k in ("object", "status", "code")} == {"object": "error", "status": 409, "code": "conflict"}
    assert body["request_id"] and "If-Match" in body["message"]
    assert call(sandbox, "GET", path).json()["in_trash"] is False


def test_partial_property_update_and_read_back(sandbox):
    path = f"/v2/pages/{PLAN}"
    response = call(sandbox, "PATCH", path, json={"properties": {
        "Summary": {"type": "rich_text", "rich_text": [
            {"type": "text", "text": {"content": "See ", "link": None}},
            {"type": "text", "text": {"content": "docs", "link": {"url": "https://example.com/d"}},
             "annotations": {"bold": True}}]},
        "Status": {"select": {"name": "Done"}}}})
    assert response.status_code == 200
    props = response.json()["properties"]
    assert props["title"]["title"][0]["plain_text"] == "Quarterly Plan"  # not submitted: unchanged
    assert props["Summary"]["rich_text"][1] == {
        "type": "text", "text": {"content": "docs", "link": {"url": "https://example.com/d"}},
        "annotations": {"bold": True}, "plain_text": "docs", "href": "https://example.com/d"}
    assert props["Status"]["select"] == {"id": "opt-done", "name": "Done", "color": "green"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"archived": True}, "in_trash instead of archived"),
        ({"properties": {"Owner": {"rich_text": []}}}, "not a property that exists"),
        ({"properties": {"title": {"rich_text": [text_item("x")]}}}, "unknown field"),
        ({"properties": {"title": {"title": [{"type": "mention", "mention": {}}]}}}, "properties.title.title[0]"),
        ({"properties": {"title": {"title": [{"type": "text", "text": {"content": 1}}]}}}, "content"),
        ({"icon": "x"}, "icon"),
        ({"cover": {"type": "emoji", "emoji": "x"}}, "cover.type"),
        ({"in_trash": "true"}, "in_trash"),
        ([1, 2], "JSON object"),
    ],
)
def test_malformed_bodies_are_400_validation_error(sandbox, body, fragment):
    response = call(sandbox, "PATCH", f"/v2/pages/{PLAN}", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "validation_error" and error["status"] == 400 and fragment in error["message"]
    assert call(sandbox, "GET", f"/v2/pages/{PLAN}").headers["etag"] == '"1"'


def test_auth_not_found_and_scopes(sandbox):
    assert call(sandbox, "GET", f"/v2/pages/{PLAN}", token=None).json()["code"] == "unauthorized"
    assert call(sandbox, "GET", f"/v2/pages/{PLAN}", token="invalid-xyz").status_code == 401
    basic = call(sandbox, "GET", f"/v2/pages/{PLAN}", token=None, headers={"Authorization": f"Token {TOKEN}"})
    assert basic.status_code == 401
    missing = call(sandbox, "GET", "/v2/pages/44444444-4444-4444-8444-444444444444")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    readonly = call(sandbox, "PATCH", f"/v2/pages/{PLAN}", token="readonly-abc", json={"in_trash": True})
    assert readonly.status_code == 403 and readonly.json()["code"] == "forbidden"
    me = call(sandbox, "GET", "/v2/users/me", token="readonly-abc").json()
    assert me["object"] == "bot_user" and me["capabilities"]["pages.write"] is False


def test_edits_record_the_editor_and_reset_restores_demo_data(sandbox):
    before = call(sandbox, "GET", f"/v2/pages/{PLAN}").json()
    after = call(sandbox, "PATCH", f"/v2/pages/{PLAN}", token="someone-else-123", json={"in_trash": True}).json()
    assert after["last_edited_by"]["id"] != before["last_edited_by"]["id"]
    assert after["created_by"] == before["created_by"]
    sandbox.reset()
    assert call(sandbox, "GET", f"/v2/pages/{PLAN}").json() == before
