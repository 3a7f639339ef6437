"""BuildinHook.query_database over a real socket against the sandbox's demo database."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSInvalidResponseError,
    CMSNotFoundError,
    CMSValidationError,
)
from airflow_provider_pagemeta.hooks.buildin import BuildinHook

NEEDS_REFRESH = {"property": "SEO status", "select": {"equals": "needs refresh"}}


@pytest.fixture
def hook(pagemeta_connections, sleeps) -> BuildinHook:
    return BuildinHook(sleep=sleeps)


@pytest.fixture
def db(sandbox) -> dict[str, Any]:
    buildin = sandbox.fixtures()["buildin"]
    [database_id] = buildin["database_ids"]
    return {"id": database_id, "page_ids": buildin["database_page_ids"][database_id],
            "needs_refresh": buildin["needs_refresh_page_ids"]}


def queries(sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("buildin") if r["method"] == "POST"]


def name_of(page: dict[str, Any]) -> str:
    return "".join(item["plain_text"] for item in page["properties"]["Name"]["title"])


def test_follows_next_cursor_to_the_end(hook, sandbox, db):
    pages = list(hook.query_database(db["id"]))
    assert [p["id"] for p in pages] == db["page_ids"]  # all 500, oldest first, each once
    sent = queries(sandbox)
    assert [r["path"] for r in sent] == [f"/buildin/v2/databases/{db['id']}/query"] * 5
    assert sent[0]["body"] == {"page_size": 100}  # no cursor on the first request
    cursors = [r["body"]["start_cursor"] for r in sent[1:]]
    assert len(set(cursors)) == 4 and all(isinstance(c, str) and c for c in cursors)
    assert all(r["body"]["page_size"] == 100 and r["status"] == 200 for r in sent)
    assert all(r["headers"]["authorization"] == "Bearer ***" for r in sent)


def test_is_lazy_and_checks_arguments_when_called(hook, sandbox, db):
    pages = hook.query_database(db["id"], page_size=10)
    assert queries(sandbox) == []
    first = [next(pages) for _ in range(12)]
    assert len(first) == 12 and len(queries(sandbox)) == 2


def test_select_filter_picks_exactly_the_flagged_pages(hook, sandbox, db):
    pages = list(hook.query_database(db["id"], filter=NEEDS_REFRESH, page_size=50))
    assert [p["id"] for p in pages] == db["needs_refresh"]
    assert len(pages) == 167 and len(queries(sandbox)) == 4  # 50 + 50 + 50 + 17
    assert {p["properties"]["SEO status"]["select"]["name"] for p in pages} == {"needs refresh"}
    assert all(r["body"]["filter"] == NEEDS_REFRESH for r in queries(sandbox))


def test_compound_filter_and_sorts_are_sent_as_given(hook, sandbox, db):
    flt = {"and": [NEEDS_REFRESH, {"property": "Published", "checkbox": {"equals": False}}]}
    sorts = [{"property": "Name", "direction": "descending"}]
    pages = list(hook.query_database(db["id"], filter=flt, sorts=sorts))
    names = [name_of(p) for p in pages]
    assert names and names == sorted(names, reverse=True)
    assert all(p["properties"]["Published"]["checkbox"] is False for p in pages)
    assert queries(sandbox)[0]["body"] == {"page_size": 100, "filter": flt, "sorts": sorts}


def test_title_equals_and_timestamp_sort(hook, sandbox, db):
    first = next(hook.query_database(db["id"], page_size=1))
    [match] = hook.query_database(db["id"], filter={"property": "Name", "title": {"equals": name_of(first)}})
    assert match["id"] == first["id"]
    newest = next(hook.query_database(db["id"], sorts=[{"timestamp": "created_time", "direction": "descending"}]))
    assert newest["id"] == db["page_ids"][-1]


def test_an_unsupported_filter_is_a_validation_error_with_buildins_code(hook, sandbox, db):
    flt = {"property": "SEO status", "select": {"does_not_equal": "ok"}}
    with pytest.raises(CMSValidationError) as info:
        list(hook.query_database(db["id"], filter=flt))
    err = info.value
    assert (err.status_code, err.code, err.cms, err.method) == (400, "unsupported_filter", "buildin", "POST")
    assert "does_not_equal" in err.message and "query_database" in str(err)
    assert len(queries(sandbox)) == 1  # a 400 is never retried


def test_a_filter_on_an_unknown_property_is_a_validation_error(hook, sandbox, db):
    with pytest.raises(CMSValidationError) as info:
        list(hook.query_database(db["id"], filter={"property": "Colour", "select": {"equals": "red"}}))
    assert info.value.code == "validation_error"


def test_unknown_database_and_bad_token(hook, sandbox, db, monkeypatch, sleeps):
    with pytest.raises(CMSNotFoundError):
        list(hook.query_database("44444444-4444-4444-8444-444444444444"))
    monkeypatch.setenv("AIRFLOW_CONN_BUILDIN_DEFAULT",
                       f'{{"conn_type": "buildin", "host": "{sandbox.url}/buildin", "password": "invalid-token-x"}}')
    with pytest.raises(CMSAuthError) as info:
        list(BuildinHook(sleep=sleeps).query_database(db["id"]))
    assert "invalid-token-x" not in str(info.value)


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"database_id": "not-a-uuid"}, "database_id"),
    ({"database_id": "../pages"}, "database_id"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 101}, "page_size"),
    ({"page_size": "many"}, "page_size"),
    ({"filter": "SEO status = needs refresh"}, "filter"),
    ({"filter": {}}, "filter"),
    ({"filter": {"property": "Name", "title": {"equals": {1, 2}}}}, "filter"),
    ({"sorts": {"property": "Name", "direction": "ascending"}}, "sorts"),
    ({"sorts": [{"property": "Name"}]}, "sorts[0]"),
    ({"sorts": [{"property": "Name", "direction": "up"}]}, "sorts[0].direction"),
    ({"sorts": [{"timestamp": "published_time", "direction": "ascending"}]}, "sorts[0].timestamp"),
])
def test_bad_arguments_fail_before_any_request(hook, sandbox, db, kwargs, argument):
    args = {"database_id": db["id"], **kwargs}
    with pytest.raises(CMSValidationError) as info:
        hook.query_database(args.pop("database_id"), **args)  # raised by the call, not by iterating
    assert info.value.argument == argument
    assert sandbox.requests() == []


def test_a_repeated_cursor_ends_the_query_with_an_error(hook, sandbox, db):
    path = f"/buildin/v2/databases/{db['id']}/query"
    pages = list(hook.query_database(db["id"], page_size=2))[:2]
    sandbox.clear_requests()
    for page in pages:  # two answers that both point at the same next cursor
        sandbox.fault(method="POST", path=path, status=200, count=1,
                      body={"object": "list", "results": [page], "next_cursor": "c-1", "has_more": True})
    with pytest.raises(CMSInvalidResponseError, match="paging does not advance") as info:
        list(hook.query_database(db["id"]))
    assert info.value.method == "POST" and info.value.call == "query_database"
    assert len(queries(sandbox)) == 2  # the third request, with the same cursor again, was never sent


def test_has_more_without_a_cursor_ends_the_query_with_an_error(hook, sandbox, db):
    path = f"/buildin/v2/databases/{db['id']}/query"
    page = next(hook.query_database(db["id"], page_size=1))
    sandbox.clear_requests()
    sandbox.fault(method="POST", path=path, status=200, count=1,
                  body={"object": "list", "results": [page], "next_cursor": None, "has_more": True})
    with pytest.raises(CMSInvalidResponseError, match="next_cursor is missing"):
        list(hook.query_database(db["id"]))
    assert len(queries(sandbox)) == 1
