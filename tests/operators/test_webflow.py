"""WebflowUpdatePageOperator against the sandbox, and the webflow_seo_refresh example DAG."""

from __future__ import annotations

import csv
import logging
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.operators.webflow import (
    WebflowBulkUpdatePagesOperator,
    WebflowPublishSiteOperator,
    WebflowUpdatePageOperator,
)
from airflow_provider_pagemeta.sandbox.control import SandboxControl
from tests.conftest import ROOT

pytestmark = pytest.mark.compat

CSV_PATH = ROOT / "dags_examples" / "data" / "seo_updates.csv"
SEO = {"title": "Careers at Orbit | Join the crew", "description": "Open roles across three continents."}


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["webflow"]


def methods(sandbox: SandboxControl) -> list[str]:
    return [r["method"] for r in sandbox.requests("webflow")]


def test_template_fields_cover_every_update_argument():
    assert set(WebflowUpdatePageOperator.template_fields) >= {
        "page_id", "locale_id", "title", "slug", "seo", "open_graph", "skip_unchanged", "dry_run"}


def test_update_then_rerun_is_skipped_as_unchanged(sandbox, pagemeta_connections, fx):
    page_id = fx["page_ids"][5]
    op = WebflowUpdatePageOperator(task_id="t", page_id=page_id, seo=SEO, open_graph={"title_copied": True})
    first = op.execute(context={})
    assert first["changed"] is True and first["seo"] == SEO and first["id"] == page_id
    assert methods(sandbox) == ["GET", "PUT"]
    assert sandbox.writes("webflow")[0]["body"] == {"seo": SEO, "openGraph": {"titleCopied": True}}
    sandbox.clear_requests()
    second = op.execute(context={})
    assert second["changed"] is False and second["seo"] == SEO
    assert methods(sandbox) == ["GET"]  # 0 PUTs on the rerun


def test_skip_unchanged_false_writes_without_reading(sandbox, pagemeta_connections, fx):
    op = WebflowUpdatePageOperator(task_id="t", page_id=fx["page_ids"][5], title="Careers", skip_unchanged=False,
                                   journal=False)
    assert op.execute(context={})["changed"] is True
    assert methods(sandbox) == ["PUT"]


def test_skip_unchanged_false_still_reads_first_for_the_journal(sandbox, pagemeta_connections, fx, tmp_path):
    """The journal's ``old`` must be the real value, so with a journal the page is read first."""
    op = WebflowUpdatePageOperator(task_id="t", page_id=fx["page_ids"][5], title="Careers at Orbit",
                                   skip_unchanged=False, journal=str(tmp_path))
    result = op.execute(context={})
    assert methods(sandbox) == ["GET", "PUT"]
    [entry] = read_journal(result["journal"])
    assert entry["changes"] == {"title": {"old": "Careers", "new": "Careers at Orbit"}}


def test_secondary_locale_update(sandbox, pagemeta_connections, fx):
    fr = fx["locales"]["secondary"]
    op = WebflowUpdatePageOperator(task_id="t", page_id=fx["page_ids"][5], locale_id=fr, title="Rejoignez-nous")
    assert op.execute(context={})["title"] == "Rejoignez-nous"
    assert [r["query"] for r in sandbox.requests("webflow")] == [{"localeId": fr}, {"localeId": fr}]
    assert WebflowHook().get_page(fx["page_ids"][5])["title"] == "Careers"


def test_dry_run_sends_no_write_and_returns_the_diff(sandbox, pagemeta_connections, fx, caplog, capsys):
    page_id = fx["page_ids"][5]
    op = WebflowUpdatePageOperator(task_id="t", page_id=page_id, title="Careers", seo={"title": "Work with us"},
                                   dry_run=True)
    with caplog.at_level(logging.INFO):
        result = op.execute(context={})
    assert [e["status"] for e in read_journal(result.pop("journal"))] == ["planned"]
    assert result == {
        "dry_run": True, "page_id": page_id, "locale_id": None, "changed": True,
        "changes": {"seo.title": {"old": "Careers | Orbit Outfitters", "new": "Work with us"}},
    }
    assert methods(sandbox) == ["GET"]
    logged = caplog.text + capsys.readouterr().out
    assert "seo.title: 'Careers | Orbit Outfitters' -> 'Work with us'" in logged


def test_dry_run_from_a_rendered_template_string(sandbox, pagemeta_connections, fx):
    op = WebflowUpdatePageOperator(task_id="t", page_id=fx["page_ids"][5], title="Careers", dry_run="True")
    assert op.execute(context={})["changes"] == {}
    assert sandbox.writes("webflow") == []


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({}, "fields"),
    ({"page_id": "home", "title": "x"}, "page_id"),
    ({"seo": "Careers | Orbit"}, "seo"),
    ({"seo": {"title": "ok"}, "open_graph": "nope"}, "open_graph"),
    ({"title": "x", "locale_id": "fr-FR"}, "locale_id"),
    ({"title": "x", "dry_run": "maybe"}, "dry_run"),
    ({"title": "x", "skip_unchanged": 1}, "skip_unchanged"),
])
def test_bad_operator_input_fails_naming_the_argument(sandbox, pagemeta_connections, fx, kwargs, argument):
    kwargs = {"page_id": fx["page_ids"][5], **kwargs}
    op = WebflowUpdatePageOperator(task_id="t", **kwargs)
    with pytest.raises(CMSValidationError) as info:
        op.execute(context={})
    assert info.value.argument == argument
    assert sandbox.requests("webflow") == []


def test_seo_updates_csv_targets_the_large_site_with_new_values(sandbox, pagemeta_connections, fx):
    with CSV_PATH.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 200
    assert list(rows[0]) == ["page_id", "seo_title", "seo_description", "og_title", "og_description"]
    large = {p["id"]: p for p in WebflowHook().list_pages(fx["large_site_id"])}
    assert {r["page_id"] for r in rows} <= set(large) and len({r["page_id"] for r in rows}) == len(rows)
    for row in rows:
        page = large[row["page_id"]]
        assert row["seo_title"] != page["seo"]["title"] and row["og_title"] != page["openGraph"]["title"]
        assert row["seo_description"] != page["seo"]["description"]


@pytest.mark.dags
def test_example_dag_updates_every_row_then_reports_unchanged(run_dag, sandbox, fx):
    rows = list(csv.DictReader(CSV_PATH.open(newline="", encoding="utf-8")))
    sandbox.config(webflow_rate_limit=100_000)  # the default 60/min would pace 240 writes over 4 minutes
    first_row = rows[0]
    live_before = sandbox.webflow_live(first_row["page_id"])
    first = run_dag("webflow_seo_refresh")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    *puts, publish = sandbox.writes("webflow")
    # The refresh ends with one publish of the whole site (no custom domains: its webflow.io subdomain).
    site_path = f"/webflow/v2/sites/{fx['large_site_id']}"
    assert (publish["method"], publish["path"], publish["status"]) == ("POST", f"{site_path}/publish", 202)
    assert publish["body"] == {"publishToWebflowSubdomain": True}
    assert sandbox.webflow_live(first_row["page_id"]) == {
        **live_before, "seo": {"title": first_row["seo_title"], "description": first_row["seo_description"]},
        "openGraph": {"title": first_row["og_title"], "titleCopied": False,
                      "description": first_row["og_description"], "descriptionCopied": False}}
    assert {p["path"] for p in puts} == {f"/webflow/v2/pages/{r['page_id']}" for r in rows}
    assert len(puts) == len(rows)
    by_path = {p["path"]: p["body"] for p in puts}
    assert by_path[f"/webflow/v2/pages/{rows[0]['page_id']}"]["seo"] == {
        "title": rows[0]["seo_title"], "description": rows[0]["seo_description"]}
    lists = [r for r in sandbox.requests("webflow") if r["method"] == "GET" and r["path"].endswith("/pages")]
    # Each of the two chunks lists the 1000-page site, 100 pages per request, until it has seen
    # every page of its rows (the listing stops there).
    position = {pid: n for n, pid in enumerate(fx["large_page_ids"])}
    chunks = [rows[:120], rows[120:]]
    expected = sum(max(position[r["page_id"]] for r in chunk) // 100 + 1 for chunk in chunks)
    assert len(lists) == expected <= 2 * 10
    assert {r["path"] for r in lists} == {f"{site_path}/pages"}  # the DAG's default
    # The publish's read (where to publish), then the site (its webflow.io name, for the task's link).
    assert [r["path"] for r in sandbox.requests("webflow") if r["method"] == "GET" and r not in lists] == [
        f"{site_path}/custom_domains", site_path]
    assert "SEO refresh: total=240, updated=240, unchanged=0, failed=0" in first.stdout + first.stderr
    sandbox.clear_requests()
    second = run_dag("webflow_seo_refresh")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert sandbox.writes("webflow") == []  # no PUT, and no publish: nothing changed
    assert "SEO refresh: total=240, updated=0, unchanged=240, failed=0" in second.stdout + second.stderr
    assert "Nothing changed upstream (0 page(s) updated; 0 page(s) updated): not publishing" in (
        second.stdout + second.stderr)


def test_example_dag_structure_and_row_checks():
    import importlib.util

    path = ROOT / "dags_examples" / "webflow_seo_refresh.py"
    spec = importlib.util.spec_from_file_location("webflow_seo_refresh_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.webflow_seo_refresh()
    assert dag.dag_id == "webflow_seo_refresh"
    assert dag.schedule is None and dag.catchup is False
    assert dag.params["dry_run"] is False
    assert {t.task_id for t in dag.tasks} == {"build_updates", "apply_updates", "report", "publish_site"}
    op = dag.get_task("apply_updates")
    assert op.operator_class is WebflowBulkUpdatePagesOperator
    assert op.partial_kwargs["dry_run"] == "{{ params.dry_run }}"
    publish = dag.get_task("publish_site")
    assert isinstance(publish, WebflowPublishSiteOperator) and publish.upstream_task_ids == {"apply_updates"}
    assert publish.site_id == "{{ params.site_id }}" and publish.changes.operator is op
    row = {"page_id": "a" * 24, "seo_title": "T", "seo_description": "D", "og_title": "O", "og_description": "E"}
    assert module.row_to_update(row, 2)["open_graph"] == {
        "title": "O", "titleCopied": False, "description": "E", "descriptionCopied": False}
    with pytest.raises(CMSValidationError) as info:
        module.row_to_update({**row, "page_id": "nope"}, 7)
    assert info.value.argument == "line 7 page_id"
    with pytest.raises(ValueError, match="line 9: empty column"):
        module.row_to_update({**row, "og_title": " "}, 9)
