"""BuildinHook over a real socket against the sandbox: bodies, If-Match, optimistic retries, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSConflictError,
    CMSNotFoundError,
    CMSValidationError,
)
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.payloads.buildin import changes_to_apply
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

pytestmark = pytest.mark.compat

PLAN = "11111111-1111-4111-8111-111111111111"
NOTES = "22222222-2222-4222-8222-222222222222"
MISSING = "44444444-4444-4444-8444-444444444444"
PLAN_PATH = f"/buildin/v2/pages/{PLAN}"
HUMAN_TOKEN = "human-editor-session-token-3f9a1c7e"
COVER = {"type": "external", "external": {"url": "https://example.com/cover.png"}}


def title(text: str) -> dict[str, Any]:
    return {"title": {"type": "title", "title": [{"type": "text", "text": {"content": text}}]}}


def title_of(page: dict[str, Any]) -> str:
    return "".join(item["plain_text"] for item in page["properties"]["title"]["title"])


@pytest.fixture
def hook(pagemeta_connections, sleeps) -> BuildinHook:
    return BuildinHook(buildin_conn_id="buildin_default", sleep=sleeps)


def human_patch(sandbox, page_id: str, body: dict[str, Any]) -> requests.Response:
    """A person editing the page in the Buildin app, with their own credentials."""
    return requests.patch(
        f"{sandbox.cms_url('buildin')}/v2/pages/{page_id}",
        headers={"Authorization": f"Bearer {HUMAN_TOKEN}"}, json=body, timeout=10,
    )


def hook_requests(sandbox) -> list[dict[str, Any]]:
    """The hook's requests only (the "human" uses python-requests' own User-Agent)."""
    return [r for r in sandbox.requests("buildin") if r["headers"]["user-agent"].startswith("airflow-provider")]


def test_update_sends_only_given_keys_and_null_for_none(hook, sandbox):
    page = hook.update_page(PLAN, properties=title("Quarterly Plan Updated"))
    assert title_of(page) == "Quarterly Plan Updated"
    assert page["icon"] == {"type": "emoji", "emoji": "📈"}  # left alone
    first = sandbox.requests("buildin")[0]
    assert first["method"] == "PATCH" and first["path"] == PLAN_PATH and first["status"] == 200
    assert first["body"] == {"properties": title("Quarterly Plan Updated")}
    assert "icon" not in first["body"] and "cover" not in first["body"]
    assert "if-match" not in first["headers"]
    assert first["headers"]["authorization"] == "Bearer ***"

    page = hook.update_page(NOTES, icon=None, cover=None)
    second = sandbox.requests("buildin")[1]
    assert second["body"] == {"icon": None, "cover": None}
    assert json.dumps(second["body"]) == '{"icon": null, "cover": null}'
    assert page["icon"] is None and page["cover"] is None
    assert title_of(page) == "Release Notes"  # partial: untouched properties stay


def test_if_match_header_is_sent_and_a_stale_version_is_a_conflict(hook, sandbox):
    page, version = hook.get_page_with_version(PLAN)
    assert version == '"1"' and page["id"] == PLAN
    updated = hook.update_page(PLAN, cover=COVER, if_match=version)
    assert updated["cover"] == COVER
    with pytest.raises(CMSConflictError) as info:
        hook.update_page(PLAN, properties=title("stale write"), if_match=version)
    err = info.value
    assert (err.status_code, err.code, err.cms, err.method) == (409, "conflict", "buildin", "PATCH")
    log = sandbox.requests("buildin")
    assert [(r["method"], r["headers"].get("if-match"), r["status"]) for r in log] == [
        ("GET", None, 200), ("PATCH", '"1"', 200), ("PATCH", '"1"', 409)]
    assert title_of(hook.get_page(PLAN)) == "Quarterly Plan"  # the stale write changed nothing


def test_modify_page_rereads_after_a_concurrent_human_edit(hook, sandbox):
    seen: list[dict[str, Any]] = []

    def rename(page: dict[str, Any]) -> dict[str, Any]:
        seen.append(page)
        if len(seen) == 1:  # a person edits the page between our read and our write
            response = human_patch(sandbox, PLAN, {"properties": {
                "Summary": {"rich_text": [{"type": "text", "text": {"content": "Edited by a human"}}]}}})
            assert response.status_code == 200
        return {"properties": title("Q3 Plan"), "cover": COVER}

    page = hook.modify_page(PLAN, rename)

    assert len(seen) == 2
    assert seen[1]["properties"]["Summary"]["rich_text"][0]["plain_text"] == "Edited by a human"
    assert title_of(page) == "Q3 Plan" and page["cover"] == COVER
    assert page["properties"]["Summary"]["rich_text"][0]["plain_text"] == "Edited by a human"  # kept
    log = sandbox.requests("buildin")
    assert [(r["method"], r["headers"].get("if-match"), r["status"]) for r in log] == [
        ("GET", None, 200),
        ("PATCH", None, 200),  # the human
        ("PATCH", '"1"', 409),  # our write, based on the stale read
        ("GET", None, 200),
        ("PATCH", '"2"', 200),
    ]
    assert log[4]["body"] == {"properties": title("Q3 Plan"), "cover": COVER}


def test_modify_page_gives_up_after_max_conflicts(hook, sandbox):
    calls = []

    def always_raced(page: dict[str, Any]) -> dict[str, Any]:
        calls.append(page["last_edited_time"])
        human_patch(sandbox, PLAN, {"icon": {"type": "emoji", "emoji": str(len(calls))}})
        return {"properties": title("never written")}

    with pytest.raises(CMSConflictError) as info:
        hook.modify_page(PLAN, always_raced, max_conflicts=2)
    assert "max_conflicts=2" in str(info.value) and "3 writes were rejected" in str(info.value)
    assert info.value.code == "conflict" and info.value.status_code == 409
    ours = [r for r in hook_requests(sandbox) if r["method"] == "PATCH"]
    assert len(ours) == 3 and all(r["status"] == 409 for r in ours)
    assert len(calls) == 3 and len(set(calls)) == 3  # fn saw a fresh page each time
    assert title_of(hook.get_page(PLAN)) == "Quarterly Plan"


def test_modify_page_with_nothing_to_change_sends_no_write(hook, sandbox):
    page = hook.modify_page(PLAN, lambda p: changes_to_apply(p, properties=title("Quarterly Plan")))
    assert title_of(page) == "Quarterly Plan"
    assert [r["method"] for r in sandbox.requests("buildin")] == ["GET"]


def test_modify_page_falls_back_to_last_edited_time_without_etag(hook, sandbox):
    current = requests.get(f"{sandbox.cms_url('buildin')}/v2/pages/{PLAN}",
                           headers={"Authorization": f"Bearer {HUMAN_TOKEN}"}, timeout=10).json()
    sandbox.clear_requests()
    # A GET answered without an ETag header (the docs do not promise one).
    sandbox.fault(method="GET", path=PLAN_PATH, status=200, body=current)
    page = hook.modify_page(PLAN, lambda p: {"in_trash": True})
    assert page["in_trash"] is True
    patch = sandbox.requests("buildin")[-1]
    assert patch["headers"]["if-match"] == "2026-04-09T09:30:00.000Z" and patch["status"] == 200


@pytest.mark.parametrize(
    ("page_id", "exc_type", "code", "status"),
    [(MISSING, CMSNotFoundError, "not_found", 404), (PLAN, CMSAuthError, "unauthorized", 401)],
)
def test_errors_map_to_contract_exceptions(sandbox, monkeypatch, sleeps, page_id, exc_type, code, status):
    token = "invalid-token-0123456789abcdef" if exc_type is CMSAuthError else SANDBOX_TOKENS["buildin"]
    conn = {"conn_type": "buildin", "host": sandbox.cms_url("buildin"), "password": token}
    monkeypatch.setenv("AIRFLOW_CONN_BUILDIN_TEST", json.dumps(conn))
    hook = BuildinHook(buildin_conn_id="buildin_test", sleep=sleeps)
    with pytest.raises(exc_type) as info:
        hook.update_page(page_id, in_trash=False, if_match='"1"')
    assert (info.value.code, info.value.status_code, info.value.cms) == (code, status, "buildin")
    assert token not in str(info.value)
    assert [r["status"] for r in sandbox.requests("buildin")] == [status]  # never retried
    assert sleeps.calls == []


def test_server_side_validation_error_maps_to_validation_error(hook, sandbox):
    with pytest.raises(CMSValidationError) as info:
        hook.update_page(PLAN, properties={"Owner": {"rich_text": []}})
    assert info.value.code == "validation_error" and info.value.status_code == 400
    assert "Owner" in info.value.message and info.value.argument is None


BAD_INPUT = [
    ("not-a-uuid", {"properties": title("x")}, "page_id"),
    ("../" + PLAN, {"properties": title("x")}, "page_id"),
    (PLAN, {"properties": {"title": {"title": "Plain string"}}}, "properties.title.title"),
    (PLAN, {"properties": {"title": {"title": [{"type": "text", "text": {"content": 5}}]}}},
     "properties.title.title[0].text.content"),
    (PLAN, {"properties": {"title": {"type": "rich_text", "title": []}}}, "properties.title"),
    (PLAN, {"properties": {"title": {"title": [{"type": "mention", "text": {"content": "x"}}]}}},
     "properties.title.title[0]"),
    (PLAN, {"properties": {"title": {"title": [{"text": {"content": "x"}, "bogus": 1}]}}},
     "properties.title.title[0]"),
    (PLAN, {"properties": {}}, "properties"),
    (PLAN, {"icon": "📈"}, "icon"),
    (PLAN, {"icon": {"type": "external", "external": {"url": "ftp://x"}}}, "icon.external.url"),
    (PLAN, {"cover": {"type": "emoji", "emoji": "x"}}, "cover"),
    (PLAN, {"in_trash": "yes"}, "in_trash"),
    (PLAN, {"properties": title("x"), "if_match": "1\r\nX-Evil: 1"}, "if_match"),
    (PLAN, {}, "properties"),
]


@pytest.mark.parametrize(("page_id", "kwargs", "argument"), BAD_INPUT)
def test_bad_input_fails_before_any_request(hook, sandbox, page_id, kwargs, argument):
    with pytest.raises(CMSValidationError) as info:
        hook.update_page(page_id, **kwargs)
    assert info.value.argument == argument
    assert argument.split(".")[0].split("[")[0] in str(info.value)
    assert sandbox.requests("buildin") == []


def test_modify_page_checks_its_arguments_and_fn_result(hook, sandbox):
    with pytest.raises(CMSValidationError) as info:
        hook.modify_page("nope", lambda p: {})
    assert info.value.argument == "page_id"
    with pytest.raises(CMSValidationError) as info:
        hook.modify_page(PLAN, lambda p: {}, max_conflicts=-1)
    assert info.value.argument == "max_conflicts"
    assert sandbox.requests("buildin") == []

    with pytest.raises(CMSValidationError) as info:
        hook.modify_page(PLAN, lambda p: {"title": "Q3", "archived": True})
    assert info.value.argument == "fn" and "archived" in str(info.value) and "title" in str(info.value)
    with pytest.raises(CMSValidationError) as info:
        hook.modify_page(PLAN, lambda p: {"icon": "📈"})
    assert info.value.argument == "fn" and "icon" in str(info.value)
    assert [r["method"] for r in sandbox.requests("buildin")] == ["GET", "GET"]  # no PATCH


def test_read_back_items_can_be_sent_back(hook, sandbox):
    page = hook.get_page(NOTES)
    item = page["properties"]["title"]["title"][0]
    assert item == {"type": "text", "text": {"content": "Release Notes", "link": None},
                    "plain_text": "Release Notes", "href": None}
    hook.update_page(NOTES, properties={"title": page["properties"]["title"]})
    sent = sandbox.requests("buildin")[-1]["body"]["properties"]["title"]
    assert sent == {"id": "title", "type": "title",
                    "title": [{"type": "text", "text": {"content": "Release Notes", "link": None}}]}


def test_changes_to_apply_keeps_only_differences():
    page = {"properties": {"title": {"id": "title", "type": "title", "title": [
        {"type": "text", "text": {"content": "A", "link": None}, "plain_text": "A", "href": None}]}},
        "icon": None, "cover": COVER, "in_trash": False}
    assert changes_to_apply(page, properties=title("A"), cover=COVER, icon=None, in_trash=False) == {}
    assert changes_to_apply(page, properties=title("B"), cover=None) == {
        "properties": {"title": {"type": "title", "title": [{"type": "text", "text": {"content": "B"}}]}},
        "cover": None}


def test_test_connection(hook, sandbox, monkeypatch):
    ok, message = hook.test_connection()
    assert ok is True and "Pagemeta sandbox integration" in message
    assert sandbox.requests("buildin")[0]["path"] == "/buildin/v2/users/me"
    bad = {"conn_type": "buildin", "host": sandbox.cms_url("buildin"), "password": "invalid-abcdef-0123456789"}
    monkeypatch.setenv("AIRFLOW_CONN_BUILDIN_BAD", json.dumps(bad))
    ok, message = BuildinHook(buildin_conn_id="buildin_bad").test_connection()
    assert ok is False and "unauthorized" in message and "invalid-abcdef" not in message
