"""WebflowPublishSiteOperator against the sandbox: publish only when something changed.

``changes`` gates the publish: a result that shows a change publishes, anything that shows none
(a no-op refresh, a dry run) skips the task without a single request, and a value that says
neither is a clear error. Every check runs before the gate and before any request.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import Asset, AssetAlias

from airflow_provider_pagemeta import NOTSET
from airflow_provider_pagemeta._compat import AirflowSkipException
from airflow_provider_pagemeta.assets import ALIAS_PREFIX
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.operators.webflow import (
    WebflowBulkUpdatePagesOperator,
    WebflowPublishSiteOperator,
    WebflowUpdatePageOperator,
)
from airflow_provider_pagemeta.payloads.webflow import publish_needed
from airflow_provider_pagemeta.sandbox.control import SandboxControl

pytestmark = pytest.mark.compat

PAGE = "1a899e75168b8b70a16df7fa"
SUMMARY = {"total": 4, "updated": 3, "unchanged": 1, "failed": 0, "skipped": 0, "failures": [], "requests": 4,
           "changed_pages": [PAGE, "99d3d7a60dc4cf435f8e31c6", "08b2b00e5290a0528c4be4fa"]}
NOOP = {**SUMMARY, "updated": 0, "unchanged": 4, "changed_pages": []}


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["webflow"]


def publish(fx: dict[str, Any], **kwargs: Any) -> WebflowPublishSiteOperator:
    return WebflowPublishSiteOperator(task_id="publish", site_id=kwargs.pop("site_id", fx["site_id"]), **kwargs)


def posts(sandbox: SandboxControl) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("webflow") if r["method"] == "POST"]


def test_template_fields_and_defaults():
    assert set(WebflowPublishSiteOperator.template_fields) == {
        "site_id", "custom_domains", "publish_to_webflow_subdomain", "page_id", "changes"}
    op = WebflowPublishSiteOperator(task_id="p", site_id="x")
    assert op.changes is NOTSET and op.webflow_conn_id == WebflowHook.default_conn_name == "webflow_default"
    assert op.custom_domains is None and op.publish_to_webflow_subdomain is None and op.page_id is None


def test_without_changes_it_always_publishes_everywhere_and_returns_the_answer(sandbox, pagemeta_connections, fx):
    answer = publish(fx).execute(context={})
    assert answer["publishScope"] == "site" and answer["publishToWebflowSubdomain"] is True
    assert [d["url"] for d in answer["customDomains"]] == ["www.orbit-outfitters.com", "orbit-outfitters.com"]
    [post] = posts(sandbox)
    assert post["body"] == {"customDomains": [d["id"] for d in fx["custom_domains"]], "publishToWebflowSubdomain": True}


def test_templated_targets_are_read_as_the_user_wrote_them(sandbox, pagemeta_connections, fx):
    op = publish(fx, custom_domains='["www.orbit-outfitters.com"]', publish_to_webflow_subdomain="False",
                 page_id=PAGE, changes="True")
    answer = op.execute(context={})
    assert answer["publishScope"] == "page"
    assert posts(sandbox)[0]["body"] == {"customDomains": [fx["custom_domains"][0]["id"]],
                                         "publishToWebflowSubdomain": False, "pageId": PAGE}


@pytest.mark.parametrize("changes", [
    True, SUMMARY, [PAGE], {"id": PAGE, "changed": True}, [NOOP, SUMMARY], 2, "true", '{"updated": 1}',
])
def test_a_change_upstream_publishes(sandbox, pagemeta_connections, fx, changes):
    publish(fx, changes=changes).execute(context={})
    assert len(posts(sandbox)) == 1


@pytest.mark.parametrize("changes", [
    False, None, 0, [], NOOP, [NOOP, NOOP], {"id": PAGE, "changed": False},
    {**SUMMARY, "dry_run": True},  # a dry run wrote nothing, whatever it planned
    {"dry_run": True, "page_id": PAGE, "locale_id": None, "changed": True, "changes": {}},
    "False", "", "None", "[]",
])
def test_no_change_upstream_skips_without_a_request(sandbox, pagemeta_connections, fx, changes):
    with pytest.raises(AirflowSkipException, match="nothing to publish"):
        publish(fx, changes=changes).execute(context={})
    assert sandbox.requests("webflow") == []


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"site_id": "orbit-outfitters", "changes": False}, "site_id"),  # named even when it would skip
    ({"site_id": "", "changes": True}, "site_id"),
    ({"page_id": "about"}, "page_id"),
    ({"custom_domains": ["not a host!"]}, "custom_domains"),
    ({"custom_domains": '["www.orbit-outfitters.com"'}, "custom_domains"),
    ({"publish_to_webflow_subdomain": "maybe"}, "publish_to_webflow_subdomain"),
    ({"changes": {"status": "pending"}}, "changes"),  # says nothing about a change
    ({"changes": "{'updated': 3}"}, "changes"),  # a Python repr: render with | tojson
    ({"changes": {"updated": "3"}}, "changes"),
    ({"changes": [SUMMARY, {"changed": "yes"}]}, "changes[1]"),
    ({"changes": object()}, "changes"),
])
def test_bad_input_fails_naming_the_argument_before_any_request(sandbox, pagemeta_connections, fx, kwargs, argument):
    with pytest.raises(CMSValidationError) as info:
        publish(fx, **kwargs).execute(context={})
    assert info.value.argument == argument
    assert sandbox.requests("webflow") == []


def test_changed_pages_asset_needs_changes():
    with pytest.raises(CMSValidationError) as info:
        WebflowPublishSiteOperator(task_id="p", site_id="x", changed_pages_asset="pages")
    assert info.value.argument == "changed_pages_asset"
    op = WebflowPublishSiteOperator(task_id="p", site_id="x", changes=True, changed_pages_asset=Asset("pages"))
    assert op.outlets == [AssetAlias(ALIAS_PREFIX + "pages")]


def test_single_page_update_then_publish_then_a_noop_rerun(sandbox, pagemeta_connections, fx):
    """The single-page pattern: the update's result gates the publish; the rerun finds nothing to do."""
    about = fx["page_ids"][0]
    update = WebflowUpdatePageOperator(task_id="u", page_id=about, seo={"title": "About Orbit | Since 2009"})
    result = update.execute(context={})
    assert result["changed"] is True
    assert sandbox.webflow_live(about)["seo"]["title"] != "About Orbit | Since 2009"  # staged only
    publish(fx, changes=result).execute(context={})
    assert sandbox.webflow_live(about)["seo"]["title"] == "About Orbit | Since 2009"
    sandbox.clear_requests()
    rerun = update.execute(context={})
    with pytest.raises(AirflowSkipException):
        publish(fx, changes=rerun).execute(context={})
    assert [r["method"] for r in sandbox.requests("webflow")] == ["GET"]  # the update's read, nothing else


def test_bulk_then_publish_goes_live_and_a_dry_run_never_publishes(sandbox, pagemeta_connections, fx):
    rows = [{"page_id": pid, "seo": {"description": f"Fresh copy {n}"}} for n, pid in enumerate(fx["page_ids"][:3])]
    dry = WebflowBulkUpdatePagesOperator(task_id="b", updates=rows, site_id=fx["site_id"], dry_run=True)
    with pytest.raises(AirflowSkipException):
        publish(fx, changes=dry.execute(context={})).execute(context={})
    assert posts(sandbox) == []
    summary = WebflowBulkUpdatePagesOperator(task_id="b", updates=rows, site_id=fx["site_id"]).execute(context={})
    publish(fx, changes=summary).execute(context={})
    assert [sandbox.webflow_live(pid)["seo"]["description"] for pid in fx["page_ids"][:3]] == [
        "Fresh copy 0", "Fresh copy 1", "Fresh copy 2"]


def test_publish_needed_explains_its_answer():
    assert publish_needed([SUMMARY, NOOP]) == (True, "3 page(s) updated")
    assert publish_needed([NOOP, NOOP]) == (False, "0 page(s) updated; 0 page(s) updated")
    assert publish_needed([PAGE, "99d3d7a60dc4cf435f8e31c6"]) == (True, "2 page(s) listed")
    assert publish_needed({"changed": False}) == (False, "the page was already up to date")


TWO_PUBLISHES_DAG = '''
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.webflow import WebflowPublishSiteOperator, WebflowUpdatePageOperator

with DAG(dag_id="pagemeta_two_publishes", schedule=None, catchup=False, start_date=datetime(2026, 1, 1)):
    about = WebflowUpdatePageOperator(task_id="about", page_id="1a899e75168b8b70a16df7fa", title="About Orbit")
    pricing = WebflowUpdatePageOperator(task_id="pricing", page_id="99d3d7a60dc4cf435f8e31c6", title="Plans")
    about >> WebflowPublishSiteOperator(task_id="publish_about", site_id="fdd818cce66350fd1bd9cac3",
                                        changes=about.output)
    pricing >> WebflowPublishSiteOperator(task_id="publish_pricing", site_id="fdd818cce66350fd1bd9cac3",
                                          changes=pricing.output)
'''


@pytest.mark.dags
def test_two_publishes_of_one_site_in_one_dag_run_both_go_live(run_dag, sandbox, fx, tmp_path):
    """Two independent update-then-publish branches of one run: the second publish meets Webflow's
    one-per-interval limit (lowered from 60 s to 10 s here: long enough that the second publish
    task always starts inside it, even on a loaded machine), waits its Retry-After and goes through."""
    (tmp_path / "pagemeta_two_publishes.py").write_text(TWO_PUBLISHES_DAG)
    sandbox.config(webflow_publish_interval=10)
    result = run_dag("pagemeta_two_publishes", extra_env={"AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert [r["status"] for r in posts(sandbox)] == [202, 429, 202]
    assert "webflow: retrying in " in output and "Too Many Requests" in output  # the wait, logged
    assert output.count("Webflow published site fdd818cce66350fd1bd9cac3 (scope site)") == 2
    about, pricing = "1a899e75168b8b70a16df7fa", "99d3d7a60dc4cf435f8e31c6"
    assert sandbox.webflow_live(about)["title"] == "About Orbit"
    assert sandbox.webflow_live(pricing)["title"] == "Plans"


def test_the_asset_event_lists_every_chunks_changed_pages_after_the_publish(sandbox, pagemeta_connections, fx):
    """A mapped bulk task's summaries (here as a rendered JSON list) give one event after the publish."""
    import json

    from airflow.sdk.execution_time.context import OutletEventAccessors

    asset = Asset("webflow_live_pages")
    other = {**NOOP, "total": 2, "unchanged": 1, "updated": 1, "changed_pages": ["99d3d7a60dc4cf435f8e31c6"]}
    op = publish(fx, changes=json.dumps([{**SUMMARY, "changed_pages": [PAGE]}, other]), changed_pages_asset=asset)
    events = OutletEventAccessors()
    op.execute({"outlet_events": events})  # type: ignore[arg-type]
    assert len(posts(sandbox)) == 1
    added = events[AssetAlias(ALIAS_PREFIX + asset.name)].asset_alias_events
    assert [(e.dest_asset_key.name, e.extra) for e in added] == [("webflow_live_pages", {
        "cms": "webflow", "changed_pages": [PAGE, "99d3d7a60dc4cf435f8e31c6"], "site_id": fx["site_id"],
        "counts": {"total": 6, "updated": 4, "unchanged": 2, "failed": 0, "skipped": 0},
    })]
    skipped_events = OutletEventAccessors()
    with pytest.raises(AirflowSkipException):
        publish(fx, changes=[NOOP], changed_pages_asset=asset).execute({"outlet_events": skipped_events})
    assert skipped_events[AssetAlias(ALIAS_PREFIX + asset.name)].asset_alias_events == []
