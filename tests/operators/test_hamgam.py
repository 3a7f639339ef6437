"""HamgamUpdatePageMetaOperator against the sandbox, the pure planner, and the example DAG."""

from __future__ import annotations

import json

import pytest

from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator
from airflow_provider_pagemeta.payloads.hamgam import plan_page_meta
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

pytestmark = pytest.mark.compat

BASE = "/hamgam/api/pages/base"
DESCRIPTION = "Logitech accessories, delivered tomorrow."  # demo page 38's meta_description


def operator(**kwargs) -> HamgamUpdatePageMetaOperator:
    return HamgamUpdatePageMetaOperator(task_id="hamgam_meta", **kwargs)


def test_templated_fields_and_nothing_connects_at_init(sandbox):
    op = operator(page_id="{{ params.page_id }}", text={"a": "{{ ds }}"}, hamgam_conn_id="no_such_conn")
    assert tuple(op.template_fields) == ("page_id", "text", "files", "dry_run", "journal")
    assert sandbox.requests() == []


def test_dry_run_from_a_rendered_template_string(sandbox, pagemeta_connections):
    result = operator(page_id="38", text={"og_title": "Logitech"}, dry_run="True").execute({})
    assert result["dry_run"] is True
    assert sandbox.writes("hamgam") == []


def test_dry_run_reports_old_and_new_and_writes_nothing(sandbox, pagemeta_connections, capsys):
    op = operator(page_id="38", text={"meta_description": DESCRIPTION, "contact_us_title": "Write to us",
                                      "og_title": "Logitech"},
                  files={"image_top": "2"}, dry_run=True)
    result = op.execute({})  # the task logger (structlog) writes to stdout here
    [planned] = read_journal(result.pop("journal"))
    assert (planned["status"], planned["page"]) == ("planned", {"page_id": 38})
    assert planned["changes"]["meta.og_title"] == {"new": {"text": "Logitech"}}  # created: no "old"
    assert result == {
        "created": ["og_title"], "updated": ["contact_us_title", "image_top"], "unchanged": ["meta_description"],
        "dry_run": True,
        "changes": {
            "contact_us_title": {"old": {"text": "contact us here"}, "new": {"text": "Write to us"}},
            "og_title": {"old": None, "new": {"text": "Logitech"}},
            "image_top": {"old": {"file": 1}, "new": {"file": 2}},
        },
    }
    json.dumps(result)
    assert sandbox.writes("hamgam") == [] and len(sandbox.requests("hamgam")) == 1
    out = capsys.readouterr().out
    assert "would update 'image_top': file 1 -> file 2" in out
    assert "would create 'og_title': (missing) -> 'Logitech'" in out
    assert SANDBOX_TOKENS["hamgam"] not in out


def test_execute_writes_the_plan_then_a_rerun_writes_nothing(sandbox, pagemeta_connections, capsys):
    op = operator(page_id=38, text={"contact_us_title": "Write to us", "og_title": "Logitech"},
                  files={"image_top": 2})
    result = op.execute({})
    journal = result.pop("journal")
    assert result == {"created": ["og_title"], "updated": ["contact_us_title", "image_top"], "unchanged": []}
    [applied] = read_journal(journal)
    assert applied["status"] == "applied" and applied["changes"] == {
        "meta.contact_us_title": {"old": {"text": "contact us here"}, "new": {"text": "Write to us"}},
        "meta.og_title": {"new": {"text": "Logitech"}},
        "meta.image_top": {"old": {"file": 1}, "new": {"file": 2}},
    }
    assert [(w["method"], w["path"]) for w in sandbox.writes("hamgam")] == [
        ("PATCH", f"{BASE}/38/meta/2"), ("POST", f"{BASE}/38/meta/"), ("PATCH", f"{BASE}/38/meta/1")]
    assert "created 1, updated 2, unchanged 0 (4 HTTP request(s))" in capsys.readouterr().out
    sandbox.clear_requests()
    assert op.execute({})["unchanged"] == ["contact_us_title", "og_title", "image_top"]
    assert sandbox.writes("hamgam") == []


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"page_id": 0, "text": {"a": "b"}}, "page_id"),
    ({"page_id": "{{ bad }}", "text": {"a": "b"}}, "page_id"),
    ({"page_id": 38}, "text"),
    ({"page_id": 38, "files": {"og": "two"}}, "files['og']"),
    ({"page_id": 38, "text": {"a": "b"}, "dry_run": "yes"}, "dry_run"),
])
def test_bad_arguments_fail_before_any_request(sandbox, pagemeta_connections, kwargs, argument):
    with pytest.raises(CMSValidationError) as info:
        operator(**kwargs).execute({})
    assert info.value.argument == argument
    assert sandbox.requests("hamgam") == []


# ---------------------------------------------------------------------- the pure planner
LISTING = [
    {"id": 1, "key": "logo", "value_text": "", "value_file_data": {"id": 7}},
    {"id": 2, "key": "title", "value_text": "Hi", "value_file_data": None},
    {"id": 3, "key": "hero", "value_text": None, "value_file_data": {"id": 8}},
    {"id": 4, "key": "blank", "value_text": None, "value_file_data": None},
]


def test_plan_compares_kinds_and_keeps_input_order():
    plan = plan_page_meta(LISTING, text={"title": "Hi", "logo": "text now", "new": "n"},
                          files={"hero": 8, "title2": 9})
    assert plan.summary() == {"created": ["new", "title2"], "updated": ["logo"], "unchanged": ["title", "hero"]}
    assert [r.as_dict() for r in plan.requests] == [
        {"method": "PATCH", "key": "logo", "meta_id": 1, "body": {"key": "logo", "value_text": "text now",
                                                                  "value_file": None},
         "old": {"file": 7}, "new": {"text": "text now"}},
        {"method": "POST", "key": "new", "meta_id": None, "body": {"key": "new", "value_text": "n"},
         "old": None, "new": {"text": "n"}},
        {"method": "POST", "key": "title2", "meta_id": None, "body": {"key": "title2", "value_file": 9},
         "old": None, "new": {"file": 9}},
    ]


def test_plan_text_equal_only_when_no_file():
    assert plan_page_meta(LISTING, text={"logo": ""}).updated == ["logo"]  # a file meta is not text ""
    assert plan_page_meta(LISTING, text={"blank": ""}).updated == ["blank"]  # null is not ""
    assert plan_page_meta(LISTING, files={"logo": 7}).unchanged == ["logo"]


# ---------------------------------------------------------------------- the example DAG
def test_example_dag_syncs_then_a_rerun_sends_no_write(sandbox, run_dag):
    first = run_dag("hamgam_meta_sync")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    writes = sandbox.writes("hamgam")
    assert sorted((w["method"], w["body"]["key"]) for w in writes) == [
        ("PATCH", "contact_us_url"), ("PATCH", "meta_description"),
        ("POST", "contact_us_email"), ("POST", "og_image"), ("POST", "og_title"),
    ]
    assert all(w["status"] in (200, 201) for w in writes)
    sandbox.clear_requests()
    second = run_dag("hamgam_meta_sync")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert sandbox.writes("hamgam") == []
    assert [r["method"] for r in sandbox.requests("hamgam")] == ["GET", "GET"]  # dry run + sync, one list each
