"""BuildinUpdatePageOperator against the sandbox, and the example DAG under `airflow dags test`."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.exceptions import CMSConflictError, CMSValidationError
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

pytestmark = pytest.mark.compat

PLAN = "11111111-1111-4111-8111-111111111111"
COVER = {"type": "external", "external": {"url": "https://example.com/cover.png"}}


def title(text: str) -> dict[str, Any]:
    return {"title": {"title": [{"type": "text", "text": {"content": text}}]}}


def title_of(page: dict[str, Any]) -> str:
    return "".join(item["plain_text"] for item in page["properties"]["title"]["title"])


def read_page(sandbox, page_id: str) -> dict[str, Any]:
    response = requests.get(f"{sandbox.cms_url('buildin')}/v2/pages/{page_id}",
                            headers={"Authorization": f"Bearer {SANDBOX_TOKENS['buildin']}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def test_templated_fields_and_no_hook_at_init():
    op = BuildinUpdatePageOperator(task_id="t", page_id="{{ params.page_id }}", properties=title("x"))
    assert set(op.template_fields) == {"page_id", "properties", "icon", "cover", "in_trash", "if_match", "journal"}
    assert not any(type(v).__name__ == "BuildinHook" for v in vars(op).values())


def test_plain_update_returns_the_page(pagemeta_connections, sandbox):
    op = BuildinUpdatePageOperator(task_id="t", page_id=PLAN, properties=title("Q3"), icon=None, in_trash="false")
    page = op.execute({})
    assert title_of(page) == "Q3" and page["icon"] is None and page["in_trash"] is False
    json.dumps(page)  # a valid XCom
    read, entry = sandbox.requests("buildin")  # read first: the journal's "old" is the real value
    assert read["method"] == "GET"
    assert entry["method"] == "PATCH" and "if-match" not in entry["headers"]
    assert entry["body"] == {"properties": title("Q3"), "icon": None, "in_trash": False}
    [line] = read_journal(page["journal"])
    assert set(line["changes"]) == {"properties.title", "icon"}  # in_trash was already false
    assert line["changes"]["icon"] == {"old": {"type": "emoji", "emoji": "📈"}, "new": None}


def test_plain_update_without_a_journal_sends_one_request(pagemeta_connections, sandbox):
    page = BuildinUpdatePageOperator(task_id="t", page_id=PLAN, in_trash=False, journal=False).execute({})
    assert page["journal"] is None
    assert [r["method"] for r in sandbox.requests("buildin")] == ["PATCH"]


def test_if_match_update_fails_on_a_stale_version(pagemeta_connections, sandbox):
    BuildinUpdatePageOperator(task_id="a", page_id=PLAN, cover=COVER, if_match='"1"').execute({})
    with pytest.raises(CMSConflictError):
        BuildinUpdatePageOperator(task_id="b", page_id=PLAN, cover=None, if_match='"1"').execute({})
    assert [(r["headers"]["if-match"], r["status"]) for r in sandbox.requests("buildin")
            if r["method"] == "PATCH"] == [('"1"', 200), ('"1"', 409)]
    assert read_page(sandbox, PLAN)["cover"] == COVER


def test_optimistic_update_writes_only_differences_and_reruns_write_nothing(pagemeta_connections, sandbox):
    op = BuildinUpdatePageOperator(task_id="t", page_id=PLAN, properties=title("Q3"), cover=COVER,
                                   icon={"type": "emoji", "emoji": "📈"}, optimistic=True)
    page = op.execute({})
    assert title_of(page) == "Q3" and page["cover"] == COVER
    patch = sandbox.requests("buildin")[1]
    assert patch["headers"]["if-match"] == '"1"'
    assert patch["body"] == {"properties": title("Q3"), "cover": COVER}  # the icon already matched
    again = op.execute({})
    assert again["last_edited_time"] == page["last_edited_time"]
    assert [r["method"] for r in sandbox.requests("buildin")] == ["GET", "PATCH", "GET"]


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"page_id": "nope", "properties": title("x")}, "page_id"),
        ({"page_id": PLAN}, "properties"),
        ({"page_id": PLAN, "icon": ["x"]}, "icon"),
        ({"page_id": PLAN, "in_trash": "maybe"}, "in_trash"),
        ({"page_id": PLAN, "properties": title("x"), "if_match": '"1"', "optimistic": True}, "if_match"),
        ({"page_id": PLAN, "properties": title("x"), "optimistic": True, "max_conflicts": -1}, "max_conflicts"),
    ],
)
def test_bad_arguments_fail_before_any_request(pagemeta_connections, sandbox, kwargs, argument):
    with pytest.raises(CMSValidationError) as info:
        BuildinUpdatePageOperator(task_id="t", **kwargs).execute({})
    assert info.value.argument == argument
    assert sandbox.requests("buildin") == []


def test_example_dag_renames_and_sets_cover_and_reruns(run_dag, sandbox):
    first = run_dag("buildin_safe_update")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    page = read_page(sandbox, PLAN)
    assert title_of(page) == "Quarterly Plan (Q3)"
    assert page["cover"] == {"type": "external", "external": {"url": "https://example.com/covers/q3-plan.png"}}
    assert page["properties"]["Summary"]["rich_text"][0]["plain_text"] == "Goals and owners for the quarter."
    [write] = sandbox.writes("buildin")
    assert write["headers"]["if-match"] == '"1"' and write["status"] == 200

    second = run_dag("buildin_safe_update")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert len(sandbox.writes("buildin")) == 1  # the rerun found nothing to change
    assert read_page(sandbox, PLAN)["last_edited_time"] == page["last_edited_time"]
