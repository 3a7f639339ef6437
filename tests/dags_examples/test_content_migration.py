"""The content_migration example DAG under `airflow dags test`, against the sandbox."""

from __future__ import annotations

import pytest
import requests

from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

pytestmark = pytest.mark.dags


def _ok(done) -> None:
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_dry_run_then_migrate_then_rerun_changes_nothing(run_dag, sandbox):
    _ok(run_dag("content_migration", conf='{"dry_run": true}'))
    assert sandbox.writes() == []

    sandbox.clear_requests()
    sandbox.config(buttercms_apply_delay=0)
    _ok(run_dag("content_migration"))
    butter = sandbox.writes("buttercms")
    assert sorted(w["path"] for w in butter) == [
        "/buttercms/v2/pages/faq/faq/", "/buttercms/v2/pages/landing-page/contact/",
        "/buttercms/v2/pages/landing-page/home/"]
    hamgam_pages = {w["path"].split("/")[5] for w in sandbox.writes("hamgam")}
    assert hamgam_pages == {"38", "39", "40"}

    # What landed: the Webflow home page's SEO is now ButterCMS's home seo and Hamgam page 38's keys.
    [home] = [p for p in sandbox.requests("webflow") if p["method"] == "GET"][:1]
    webflow_home = requests.get(
        f"{sandbox.url}/webflow{home['path'][len('/webflow'):]}", timeout=10,
        headers={"Authorization": f"Bearer {SANDBOX_TOKENS['webflow']}"},
    ).json()
    seo = next(p["seo"] for p in webflow_home["pages"] if p["slug"] == "index")
    page = requests.get(
        f"{sandbox.url}/buttercms/v2/pages/landing-page/home/", params={"preview": 1, "locale": "en"},
        headers={"Authorization": f"Token {SANDBOX_TOKENS['buttercms']}"}, timeout=10,
    ).json()["data"]
    assert page["fields"]["seo"] == {"title": seo["title"], "description": seo["description"]}
    meta = requests.get(
        f"{sandbox.url}/hamgam/api/pages/base/38/meta/", params={"limit": 100},
        headers={"Authorization": f"Token {SANDBOX_TOKENS['hamgam']}"}, timeout=10,
    ).json()["results"]
    assert {m["key"]: m["value_text"] for m in meta}["seo_title"] == seo["title"]

    sandbox.clear_requests()
    _ok(run_dag("content_migration"))
    assert sandbox.writes() == []
