"""BuildinBulkUpdatePagesOperator on the shared bulk engine, over real sockets against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.bulk.buildin import BuildinBulkAdapter
from airflow_provider_pagemeta.bulk.engine import BulkFailedError, BulkItem, BulkRunner, PlannedWrite
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.operators.buildin import BuildinBulkUpdatePagesOperator

HUMAN_TOKEN = "human-editor-session-token-7b1d3f5a"
MISSING = "44444444-4444-4444-8444-444444444444"
CONFLICT = {"object": "error", "status": 409, "code": "conflict", "message": "version mismatch",
            "request_id": "req_test"}


def rich(text: str) -> dict[str, Any]:
    return {"rich_text": [{"type": "text", "text": {"content": text}}]}


def text_of(page: dict[str, Any], name: str) -> str:
    prop = page["properties"][name]
    return "".join(item["plain_text"] for item in prop[prop["type"]])


def rows(page_ids: list[str], tag: str = "Fresh") -> list[dict[str, Any]]:
    return [{"page_id": pid, "properties": {"Meta description": rich(f"{tag} {n}"),
                                            "SEO status": {"select": {"name": "ok"}}}}
            for n, pid in enumerate(page_ids)]


def run(updates: Any, **kwargs: Any) -> dict[str, Any]:
    return dict(BuildinBulkUpdatePagesOperator(task_id="bulk_pages", updates=updates, **kwargs).execute(context={}))


def page_url(sandbox, page_id: str) -> str:
    return f"{sandbox.cms_url('buildin')}/v2/pages/{page_id}"


def human_patch(sandbox, page_id: str, body: dict[str, Any]) -> None:
    """A person editing the page in the Buildin app, with their own credentials."""
    done = requests.patch(page_url(sandbox, page_id), json=body, timeout=10,
                          headers={"Authorization": f"Bearer {HUMAN_TOKEN}"})
    assert done.status_code == 200, done.text


def read(sandbox, page_id: str) -> requests.Response:
    return requests.get(page_url(sandbox, page_id), headers={"Authorization": f"Bearer {HUMAN_TOKEN}"}, timeout=10)


def hook_calls(sandbox) -> list[tuple[str, str, str | None]]:
    """(method, page id, If-Match) of the provider's requests (the "human" uses python-requests)."""
    return [(r["method"], r["path"].rsplit("/", 1)[1], r["headers"].get("if-match"))
            for r in sandbox.requests("buildin") if r["headers"]["user-agent"].startswith("airflow-provider")]


class Recorder:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, Any], str | None]] = []

    def record(self, item: BulkItem, status: str, changes: dict[str, Any], error: str | None = None) -> None:
        self.entries.append((item.key, status, changes, error))


@pytest.fixture
def flagged(sandbox, pagemeta_connections) -> list[str]:
    return sandbox.fixtures()["buildin"]["needs_refresh_page_ids"][:4]


def test_one_read_and_one_if_match_write_per_page_then_a_no_op_rerun(sandbox, flagged):
    summary = run(rows(flagged))
    assert (summary["updated"], summary["unchanged"], summary["failed"]) == (4, 0, 0)
    assert hook_calls(sandbox) == [("GET", p, None) for p in flagged] + [("PATCH", p, '"1"') for p in flagged]
    assert summary["requests"] == 8 and summary["changed_pages"] == flagged
    patch = sandbox.writes("buildin")[0]
    assert patch["body"] == {"properties": rows(flagged)[0]["properties"]}
    after = read(sandbox, flagged[0]).json()
    assert text_of(after, "Meta description") == "Fresh 0"
    assert after["properties"]["SEO status"]["select"]["name"] == "ok"

    sandbox.clear_requests()
    again = run(rows(flagged))
    assert (again["updated"], again["unchanged"]) == (0, 4)
    assert sandbox.writes("buildin") == [] and again["requests"] == 4


def test_only_the_differing_keys_are_sent(sandbox, flagged):
    human_patch(sandbox, flagged[0], {"properties": {"SEO status": {"select": {"name": "ok"}}}})
    sandbox.clear_requests()
    run(rows(flagged[:1]))
    [patch] = sandbox.writes("buildin")
    assert patch["body"] == {"properties": {"Meta description": rich("Fresh 0")}}
    assert patch["headers"]["if-match"] == '"2"'  # the version the diff was made on


def test_dry_run_returns_the_diff_and_writes_nothing(sandbox, flagged):
    icon_row = {"page_id": flagged[2], "icon": {"type": "emoji", "emoji": "🔥"}, "cover": None, "in_trash": "false"}
    summary = run([*rows(flagged[:2]), icon_row], dry_run=True)
    assert sandbox.writes("buildin") == [] and summary["dry_run"] is True
    diff = summary["changes"][flagged[0]]
    assert diff["properties.Meta description"] == {
        "old": {"id": "meta-description", "type": "rich_text", "rich_text": []}, "new": rich("Fresh 0")}
    assert diff["properties.SEO status"]["old"]["select"]["name"] == "needs refresh"
    # icon was null: changes; cover null and in_trash false already match
    assert summary["changes"][flagged[2]] == {"icon": {"old": None, "new": {"type": "emoji", "emoji": "🔥"}}}
    json.dumps(summary)


def test_a_concurrent_edit_is_reread_rediffed_and_never_overwritten(sandbox, flagged):
    """Between the plan's read and the write, an editor changes the page: the write meets a real
    409, the page is read again, and only what still differs is written, with the new version."""
    adapter = BuildinBulkAdapter(BuildinHook())
    [item] = adapter.prepare(rows(flagged[:1]))
    current = adapter.read(item)
    planned = PlannedWrite(item, current, adapter.diff(item, current))
    assert sorted(planned.changes) == ["properties.Meta description", "properties.SEO status"]
    human_patch(sandbox, flagged[0], {"properties": {"SEO status": {"select": {"name": "ok"}},
                                                     "Summary": rich("Edited by a person")}})
    [result] = adapter.write([planned])
    assert result.error is None
    assert list(result.changes or {}) == ["properties.Meta description"]  # the final diff
    assert hook_calls(sandbox) == [("GET", flagged[0], None), ("PATCH", flagged[0], '"1"'),
                                   ("GET", flagged[0], None), ("PATCH", flagged[0], '"2"')]
    assert [r["status"] for r in sandbox.writes("buildin")][-2:] == [409, 200]
    assert sandbox.writes("buildin")[-1]["body"] == {"properties": {"Meta description": rich("Fresh 0")}}
    page = read(sandbox, flagged[0]).json()
    assert text_of(page, "Summary") == "Edited by a person"  # the person's edit survived
    assert text_of(page, "Meta description") == "Fresh 0"


def test_a_page_someone_fixed_meanwhile_counts_as_unchanged_and_is_not_recorded(sandbox, flagged):
    """The editor makes the very change the run planned, after the run read the page: the write
    meets a 409, the re-read shows nothing left to do, and the engine counts the page unchanged."""
    wanted = rows(flagged[:2])

    def log(message: str, *args: Any) -> None:  # the engine's own log says when the reads are done
        if args[:1] == ("buildin reads",) and args[1] == args[2]:
            human_patch(sandbox, flagged[0], {"properties": wanted[0]["properties"]})

    recorder = Recorder()
    summary = BulkRunner(BuildinBulkAdapter(BuildinHook()), recorder=recorder, log=log).run(wanted)
    assert (summary["updated"], summary["unchanged"], summary["changed_pages"]) == (1, 1, [flagged[1]])
    assert [(key, status) for key, status, _, _ in recorder.entries] == [(flagged[1], "applied")]
    assert [c[0] for c in hook_calls(sandbox) if c[1] == flagged[0]] == ["GET", "PATCH", "GET"]


def test_409s_are_retried_at_most_three_times_then_the_page_fails(sandbox, flagged):
    sandbox.fault(method="PATCH", path=f"/buildin/v2/pages/{flagged[0]}", status=409, body=CONFLICT, count=10)
    with pytest.raises(BulkFailedError) as info:
        run(rows(flagged[:2]))
    summary = info.value.summary
    assert (summary["updated"], summary["failed"]) == (1, 1)
    failure = summary["failures"][0]
    assert failure["page"] == flagged[0] and failure["status_code"] == 409
    assert "4 writes were rejected" in failure["error"] and "max_conflicts=3" in failure["error"]
    first = [c[0] for c in hook_calls(sandbox) if c[1] == flagged[0]]
    assert first == ["GET", "PATCH", "GET", "PATCH", "GET", "PATCH", "GET", "PATCH"]  # 1 + 1, then + 2 per 409
    assert summary["requests"] == 8 + 2


def test_one_409_costs_two_requests_and_the_page_is_written(sandbox, flagged):
    sandbox.fault(method="PATCH", path=f"/buildin/v2/pages/{flagged[0]}", status=409, body=CONFLICT, count=1)
    summary = run(rows(flagged[:1]))
    assert (summary["updated"], summary["requests"]) == (1, 4)


def test_optimistic_false_writes_without_if_match(sandbox, flagged):
    summary = run(rows(flagged[:2]), optimistic="false")
    assert summary["updated"] == 2
    assert all(w["headers"].get("if-match") is None for w in sandbox.writes("buildin"))


def test_a_missing_page_fails_alone(sandbox, flagged):
    summary = run(rows([flagged[0], MISSING, flagged[1]]), max_failures=1)
    assert (summary["updated"], summary["failed"]) == (2, 1)
    assert summary["failures"][0] == {**summary["failures"][0], "page": MISSING, "status_code": 404}


def test_a_read_only_token_stops_the_run_at_the_first_write(sandbox, flagged, monkeypatch):
    conn = {"conn_type": "buildin", "host": sandbox.cms_url("buildin"), "password": "readonly-token-0a1b2c3d4e5f"}
    monkeypatch.setenv("AIRFLOW_CONN_BUILDIN_DEFAULT", json.dumps(conn))
    with pytest.raises(BulkFailedError) as info:
        run(rows(flagged))
    summary = info.value.summary
    assert (summary["failed"], summary["skipped"], summary["updated"]) == (1, 3, 0)
    assert [r["status"] for r in sandbox.writes("buildin")] == [403]


def test_an_interrupted_run_resumes_without_writing_a_page_twice(sandbox, flagged):
    sandbox.fault(method="PATCH", path="/buildin/v2/pages/*", status=401, skip=2, count=1,
                  body={"object": "error", "status": 401, "code": "unauthorized", "message": "token revoked"})
    with pytest.raises(BulkFailedError) as info:
        run(rows(flagged))
    assert (info.value.summary["updated"], info.value.summary["skipped"]) == (2, 1)
    summary = run(rows(flagged))
    assert (summary["updated"], summary["unchanged"]) == (2, 2)
    landed = [w["path"] for w in sandbox.writes("buildin") if w["status"] == 200]
    assert len(landed) == 4 == len(set(landed))


@pytest.mark.parametrize(("updates", "argument"), [
    ("not json", "updates"),
    ([{"page_id": "not-a-uuid", "in_trash": True}], "updates[0].page_id"),
    ([{"page_id": MISSING}], "updates[0].properties"),
    ([{"page_id": MISSING, "properties": {"Name": {"title": "x"}}}], "updates[0].properties.Name.title"),
    ([{"page_id": MISSING, "cover": {"type": "emoji", "emoji": "x"}}], "updates[0].cover"),
    ([{"page_id": MISSING, "in_trash": "maybe"}], "updates[0].in_trash"),
    ([{"page_id": MISSING, "in_trash": True, "archived": True}], "updates[0]"),
    ([{"page_id": MISSING, "in_trash": True}, {"page_id": MISSING.upper(), "in_trash": False}], "updates[1]"),
])
def test_bad_rows_fail_before_any_request_naming_the_row(sandbox, pagemeta_connections, updates, argument):
    with pytest.raises(CMSValidationError) as info:
        run(updates)
    assert info.value.argument == argument
    assert sandbox.requests() == []


def test_bad_operator_arguments_fail_before_any_request(sandbox, flagged):
    with pytest.raises(CMSValidationError) as info:
        run(rows(flagged), max_conflicts=-1)
    assert info.value.argument == "max_conflicts" and sandbox.requests() == []
