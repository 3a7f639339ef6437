"""The content_migration example DAG under `airflow dags test`, against the sandbox."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_pagemeta.journal import read_journal
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


def _butter_seo(sandbox, page_type: str, slug: str) -> dict:
    return requests.get(
        f"{sandbox.url}/buttercms/v2/pages/{page_type}/{slug}/", params={"preview": 1, "locale": "en"},
        headers={"Authorization": f"Token {SANDBOX_TOKENS['buttercms']}"}, timeout=10,
    ).json()["data"]["fields"]["seo"]


def test_restore_path_puts_back_what_a_migration_run_changed(run_dag, sandbox, tmp_path):
    sandbox.config(buttercms_apply_delay=0)
    journal = {"AIRFLOW__PAGEMETA__JOURNAL_DIR": str(tmp_path)}
    pages = [("landing-page", "home"), ("faq", "faq"), ("landing-page", "contact")]
    before = {slug: _butter_seo(sandbox, kind, slug) for kind, slug in pages}
    _ok(run_dag("content_migration", extra_env=journal))
    [run_dir] = list((tmp_path / "content_migration").iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "write_buttercms.jsonl", "write_hamgam.0.jsonl", "write_hamgam.1.jsonl", "write_hamgam.2.jsonl"]
    migrated = {slug: _butter_seo(sandbox, kind, slug) for kind, slug in pages}
    assert migrated != before

    # Someone edits the FAQ page's SEO title after the migration: the restore must leave it alone.
    requests.patch(f"{sandbox.url}/buttercms/v2/pages/faq/faq/", json={"status": "draft", "fields": {
        "seo": {"title": "FAQ, edited by hand"}}}, params={"locale": "en"},
        headers={"Authorization": f"Token {SANDBOX_TOKENS['buttercms']}"}, timeout=10).raise_for_status()

    sandbox.clear_requests()
    _ok(run_dag("content_migration", conf=json.dumps({"restore": run_dir.name, "dry_run": True}), extra_env=journal))
    assert sandbox.writes() == []  # a dry-run restore reads and reports only

    _ok(run_dag("content_migration", conf=json.dumps({"restore": run_dir.name}), extra_env=journal))
    assert sorted(w["path"] for w in sandbox.writes()) == [
        "/buttercms/v2/pages/landing-page/contact/", "/buttercms/v2/pages/landing-page/home/"]
    assert _butter_seo(sandbox, "landing-page", "home") == before["home"]
    assert _butter_seo(sandbox, "landing-page", "contact") == before["contact"]
    assert _butter_seo(sandbox, "faq", "faq")["title"] == "FAQ, edited by hand"  # the conflict, untouched
    meta = requests.get(f"{sandbox.url}/hamgam/api/pages/base/40/meta/", params={"limit": 100},
                        headers={"Authorization": f"Token {SANDBOX_TOKENS['hamgam']}"}, timeout=10).json()
    assert {m["key"] for m in meta["results"]} >= {"seo_title", "og_title"}  # created keys: not restorable
    restore_runs = [p for p in (tmp_path / "content_migration").iterdir() if p != run_dir]
    restored = [e for p in restore_runs for e in read_journal(str(p / "restore.jsonl"))]
    assert sorted((e["status"], e["page"]["page_slug"]) for e in restored) == [  # the dry run's, then the real one's
        ("applied", "contact"), ("applied", "home"), ("planned", "contact"), ("planned", "home")]
