"""Apply, read the journal, restore, over real sockets (the sandbox), for each CMS.

Each CMS: a change is applied through the provider's operator, the journal lines carry the exact
old and new values, a restore puts the old values back, a page edited in between is a conflict
left alone (the sandbox receives no write for it), and ``force=True`` restores it anyway.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator
from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator
from airflow_provider_pagemeta.operators.restore import PageMetaRestoreOperator
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator, WebflowUpdatePageOperator

PLAN = "11111111-1111-4111-8111-111111111111"
NOTES = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def conns(sandbox, pagemeta_connections, tmp_path) -> str:
    """Connections to the sandbox, fast pacing, instant ButterCMS writes; returns the journal dir."""
    sandbox.config(webflow_rate_limit=100_000, buttercms_apply_delay=0)
    return str(tmp_path / "journal")


def restore(journal: Any, out: str, task_id: str = "restore", **kwargs: Any) -> dict[str, Any]:
    return PageMetaRestoreOperator(task_id=task_id, journal=journal, output_journal=out, **kwargs).execute({})


def writes(sandbox, cms: str) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sandbox.writes(cms)]


# ------------------------------------------------------------------------------------- Webflow
def seo_title(page_id: str, locale_id: str | None = None) -> str:
    return WebflowHook().get_page(page_id, locale_id=locale_id)["seo"]["title"]


def test_webflow_apply_restore_conflict_force(sandbox, conns):
    fx = sandbox.fixtures()["webflow"]
    about, contact = fx["page_ids"][0], fx["page_ids"][1]
    applied = WebflowBulkUpdatePagesOperator(
        task_id="apply", site_id=fx["site_id"], journal=conns,
        updates=[{"page_id": about, "seo": {"title": "About, new"}}, {"page_id": contact, "title": "Contact us"}],
    ).execute({})
    assert [(e["page"], e["changes"], e["status"], e["cms_options"]) for e in read_journal(applied["journal"])] == [
        ({"page_id": about, "locale_id": None}, {"seo.title": {"old": "About Us | Orbit Outfitters",
                                                               "new": "About, new"}}, "applied",
         {"site_id": fx["site_id"]}),
        ({"page_id": contact, "locale_id": None}, {"title": {"old": "Contact", "new": "Contact us"}}, "applied",
         {"site_id": fx["site_id"]}),
    ]
    WebflowHook().update_page_settings(about, seo={"title": "Edited by a person"})  # an edit in between
    sandbox.clear_requests()

    result = restore(applied, conns)
    assert (result["restored"], result["conflicts"], result["not_restorable"]) == (1, 1, 0)
    assert result["conflict_pages"] == [{"page": f"webflow:{about}", "fields": ["seo.title"]}]
    assert writes(sandbox, "webflow") == [("PUT", f"/webflow/v2/pages/{contact}")]  # about: no write at all
    assert seo_title(about) == "Edited by a person"
    assert WebflowHook().get_page(contact)["title"] == "Contact"
    # the restore's own journal: old = the value before the restore, so it can be restored in turn
    assert [e["changes"] for e in read_journal(result["journal"])] == [
        {"title": {"old": "Contact us", "new": "Contact"}}]

    sandbox.clear_requests()
    forced = restore(applied, conns, task_id="forced", force=True)
    assert (forced["restored"], forced["conflicts"]) == (1, 1)
    assert seo_title(about) == "About Us | Orbit Outfitters"
    assert writes(sandbox, "webflow") == [("PUT", f"/webflow/v2/pages/{about}")]  # contact already restored


def test_webflow_secondary_locale_and_restore_of_a_restore(sandbox, conns):
    fx = sandbox.fixtures()["webflow"]
    page, fr = fx["page_ids"][2], fx["locales"]["secondary"]
    before = seo_title(page, fr)
    applied = WebflowUpdatePageOperator(task_id="one", page_id=page, locale_id=fr, seo={"title": "Tarifs 2027"},
                                        journal=conns).execute({})
    [line] = read_journal(applied["journal"])
    assert line["page"] == {"page_id": page, "locale_id": fr}
    assert line["changes"] == {"seo.title": {"old": before, "new": "Tarifs 2027"}}
    undone = restore(applied, conns)
    assert seo_title(page, fr) == before and seo_title(page) != before  # the primary locale was never touched
    redone = restore(undone, conns, task_id="redo")  # a restore's journal restores like any other
    assert redone["restored"] == 1 and seo_title(page, fr) == "Tarifs 2027"


# ------------------------------------------------------------------------------------- ButterCMS
def butter_fields(slug: str, page_type: str = "landing-page", locale: str | None = None, preview: bool = True):
    return ButterCMSHook().get_page(page_type, slug, locale=locale, preview=preview)["fields"]


def test_buttercms_apply_restore_conflict_force(sandbox, conns):
    rows = [
        {"page_type": "landing-page", "page_slug": "home", "locale": "en", "status": "published",
         "fields": {"headline": "Hello", "seo": {"title": "Home, new"}}},
        {"page_type": "landing-page", "page_slug": "spring-sale",
         "fields_by_locale": {"en": {"headline": "Summer Sale"}, "es": {"headline": "Rebajas de verano"}}},
    ]
    applied = ButterCMSBulkUpdatePagesOperator(task_id="apply", updates=rows, journal=conns).execute({})
    home, sale = read_journal(applied["journal"])
    assert (home["page"], home["changes"], home["cms_options"]) == (
        {"page_type": "landing-page", "page_slug": "home", "locale": "en"},
        {"fields.headline": {"old": "Welcome to Acme", "new": "Hello"},
         "fields.seo.title": {"old": "Home | Acme", "new": "Home, new"}},
        {"status": "published", "by_locale": False})
    assert (sale["changes"], sale["cms_options"]) == (
        {"fields.en.headline": {"old": "Spring Sale", "new": "Summer Sale"},
         "fields.es.headline": {"old": "Rebajas de primavera", "new": "Rebajas de verano"}},
        {"status": "draft", "by_locale": True})
    ButterCMSHook().update_page("landing-page", "spring-sale", locale="es", fields={"headline": "¡Rebajas!"})
    sandbox.clear_requests()

    result = restore(applied, conns)
    assert (result["restored"], result["conflicts"]) == (1, 1)
    assert [(m, p) for m, p in writes(sandbox, "buttercms")] == [("PATCH", "/buttercms/v2/pages/landing-page/home/")]
    [patch] = sandbox.writes("buttercms")
    assert patch["body"] == {"status": "published", "fields": {"headline": "Welcome to Acme",
                                                               "seo": {"title": "Home | Acme"}}}
    assert butter_fields("home", locale="en", preview=False)["seo"] == {"title": "Home | Acme",
                                                                        "description": "Acme makes things."}
    assert butter_fields("spring-sale", locale="es")["headline"] == "¡Rebajas!"  # left alone

    forced = restore(applied, conns, task_id="forced", force=True)
    assert forced["restored"] == 1
    assert [butter_fields("spring-sale", locale=loc)["headline"] for loc in ("en", "es")] == [
        "Spring Sale", "Rebajas de primavera"]


# ------------------------------------------------------------------------------------- Hamgam
def meta(page_id: int) -> dict[str, Any]:
    return {m["key"]: m for m in HamgamHook().list_page_meta(page_id)}


def test_hamgam_apply_restore_conflict_and_created_keys_not_restorable(sandbox, conns):
    applied = HamgamUpdatePageMetaOperator(
        task_id="apply", page_id=38, text={"contact_us_title": "Write to us", "og_title": "Logitech"},
        files={"image_top": 2}, journal=conns,
    ).execute({})
    [line] = read_journal(applied["journal"])
    assert line["changes"] == {
        "meta.contact_us_title": {"old": {"text": "contact us here"}, "new": {"text": "Write to us"}},
        "meta.og_title": {"new": {"text": "Logitech"}},  # created: no "old" key at all
        "meta.image_top": {"old": {"file": 1}, "new": {"file": 2}},
    }
    sandbox.clear_requests()
    result = restore(applied, conns, dry_run=True)
    assert (result["restored"], result["not_restorable"], result["dry_run"]) == (1, 1, True)
    assert sandbox.writes() == []
    assert [e["status"] for e in read_journal(result["journal"])] == ["planned"]

    result = restore(applied, conns, task_id="real")
    assert (result["restored"], result["conflicts"], result["not_restorable"]) == (1, 0, 1)
    now = meta(38)
    assert now["contact_us_title"]["value_text"] == "contact us here"
    assert now["image_top"]["value_file_data"]["id"] == 1
    assert now["og_title"]["value_text"] == "Logitech"  # created by the change: reported, never guessed away

    again = HamgamUpdatePageMetaOperator(task_id="again", page_id=38, text={"contact_us_title": "Write to us"},
                                         journal=conns).execute({})
    hook = HamgamHook()
    hook.update_page_meta(38, now["contact_us_title"]["id"], key="contact_us_title", value_text="By hand")
    sandbox.clear_requests()
    conflict = restore(again, conns, task_id="conflict")
    assert (conflict["conflicts"], sandbox.writes()) == (1, [])
    assert restore(again, conns, task_id="forced", force=True)["restored"] == 1
    assert meta(38)["contact_us_title"]["value_text"] == "contact us here"


# ------------------------------------------------------------------------------------- Buildin
def buildin_title(page_id: str) -> str:
    return BuildinHook().get_page(page_id)["properties"]["title"]["title"][0]["text"]["content"]


def title(text: str) -> dict[str, Any]:
    return {"title": {"title": [{"type": "text", "text": {"content": text}}]}}


def test_buildin_apply_restore_conflict_force(sandbox, conns):
    applied = BuildinUpdatePageOperator(task_id="apply", page_id=PLAN, properties=title("Q3 Plan"),
                                        icon={"type": "emoji", "emoji": "🚀"}, optimistic=True,
                                        journal=conns).execute({})
    [line] = read_journal(applied["journal"])
    assert line["changes"]["icon"] == {"old": {"type": "emoji", "emoji": "📈"}, "new": {"type": "emoji", "emoji": "🚀"}}
    assert line["changes"]["properties.title"]["old"]["title"][0]["plain_text"] == "Quarterly Plan"
    assert line["changes"]["properties.title"]["new"] == title("Q3 Plan")["title"]

    result = restore(applied, conns)
    assert result["restored"] == 1 and buildin_title(PLAN) == "Quarterly Plan"
    page = BuildinHook().get_page(PLAN)
    assert page["icon"] == {"type": "emoji", "emoji": "📈"}
    [patch] = sandbox.writes("buildin")[-1:]
    assert patch["headers"]["if-match"]  # written only if nobody edited the page since the restore read it

    original_icon = BuildinHook().get_page(NOTES)["icon"]
    compass = {"type": "emoji", "emoji": "🧭"}
    second = BuildinUpdatePageOperator(task_id="second", page_id=NOTES, icon=compass, in_trash=True,
                                       journal=conns).execute({})
    BuildinHook().update_page(NOTES, properties=title("Renamed by hand"))  # a field the journal does not name
    BuildinHook().update_page(NOTES, icon={"type": "emoji", "emoji": "✅"})  # one it names: a conflict
    sandbox.clear_requests()
    conflict = restore(second, conns, task_id="conflict")
    assert conflict["conflict_pages"] == [{"page": f"buildin:{NOTES}", "fields": ["icon"]}]
    assert sandbox.writes() == [] and BuildinHook().get_page(NOTES)["in_trash"] is True  # the whole page left alone
    forced = restore(second, conns, task_id="forced", force=True)
    assert (forced["restored"], forced["conflicts"]) == (1, 1)
    page = BuildinHook().get_page(NOTES)
    assert (page["icon"], page["in_trash"], buildin_title(NOTES)) == (original_icon, False, "Renamed by hand")


# ------------------------------------------------------------------------------------- across CMSs
def test_one_restore_over_the_four_cms_newest_change_first(sandbox, conns):
    fx = sandbox.fixtures()["webflow"]
    page = fx["page_ids"][3]
    first = WebflowUpdatePageOperator(task_id="first", page_id=page, title="One", journal=conns).execute({})
    second = WebflowUpdatePageOperator(task_id="second", page_id=page, title="Two", journal=conns).execute({})
    others = [
        HamgamUpdatePageMetaOperator(task_id="h", page_id=40, text={"k": "v"}, journal=conns).execute({}),
        BuildinUpdatePageOperator(task_id="b", page_id=PLAN, in_trash=True, journal=conns).execute({}),
        ButterCMSBulkUpdatePagesOperator(task_id="c", journal=conns, updates=[
            {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "FAQ 2"}}]).execute({}),
    ]
    sandbox.clear_requests()
    result = restore([first, second, *others], conns)
    assert (result["restored"], result["not_restorable"], result["failed"]) == (3, 1, 0)  # hamgam k was created
    assert WebflowHook().get_page(page)["title"] == "Features"  # Two -> One -> Features: one read, one write
    assert writes(sandbox, "webflow") == [("PUT", f"/webflow/v2/pages/{page}")]
    assert BuildinHook().get_page(PLAN)["in_trash"] is False
    assert butter_fields("faq", page_type="faq")["headline"] == "FAQ (draft)"
    assert json.loads(json.dumps(result)) == result  # a plain JSON XCom


def test_auth_failure_stops_that_cms_only(sandbox, conns, monkeypatch):
    applied = [
        HamgamUpdatePageMetaOperator(task_id="h", page_id=38, text={"contact_us_title": "x"},
                                     journal=conns).execute({}),
        BuildinUpdatePageOperator(task_id="b", page_id=PLAN, in_trash=True, journal=conns).execute({}),
    ]
    monkeypatch.setenv("AIRFLOW_CONN_HAMGAM_BROKEN", json.dumps({
        "conn_type": "hamgam", "host": f"{sandbox.url}/hamgam", "password": "invalid-token-123456789"}))
    result = restore(applied, conns, conn_ids={"hamgam": "hamgam_broken"}, max_failures=1)
    assert (result["failed"], result["restored"]) == (1, 1)
    assert result["failures"][0]["status_code"] == 401 and "invalid-token" not in json.dumps(result)
    assert BuildinHook().get_page(PLAN)["in_trash"] is False


# ------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("line", "message"), [
    ('{"cms": "webflow"', "line 2 is not JSON"),
    (json.dumps({"cms": "drupal", "page": {}, "changes": {}, "status": "applied"}), "line 2 names an unknown cms"),
    (json.dumps({"cms": "webflow", "page": {"page_id": "nope"}, "changes": {"title": {"old": "a", "new": "b"}},
                 "status": "applied"}), "line 2: page_id must be a Webflow id"),
    (json.dumps({"cms": "buildin", "page": {"page_id": PLAN}, "changes": {"colour": {"new": "red"}},
                 "status": "applied"}), "line 2: unknown Buildin field"),
])
def test_bad_journal_fails_before_any_request(sandbox, conns, tmp_path, line, message):
    good = HamgamUpdatePageMetaOperator(task_id="h", page_id=38, text={"contact_us_title": "x"},
                                        journal=conns).execute({})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(read_journal(good["journal"])[0]) + "\n" + line + "\n")
    sandbox.clear_requests()
    with pytest.raises(CMSValidationError, match=message) as info:
        restore([good, str(bad)], conns)
    assert f"{bad}" in str(info.value)
    assert sandbox.requests() == []  # not one read, let alone a write


def test_bad_arguments(sandbox, conns):
    with pytest.raises(CMSValidationError, match="conn_ids names unknown CMS"):
        restore("/j.jsonl", conns, conn_ids={"wordpress": "x"})
    with pytest.raises(CMSValidationError, match="does not exist"):
        restore(f"{conns}/missing.jsonl", conns)
    assert sandbox.requests() == []


def test_object_store_journals_apply_and_restore_like_local_ones(sandbox, conns):
    """``memory://`` (fsspec's in-process store, opened by ``ObjectStoragePath``) is not local: the
    operators spool and upload, the restore reads the uploaded objects."""
    import uuid

    store = f"memory://pagemeta-{uuid.uuid4().hex}/journal"
    applied = HamgamUpdatePageMetaOperator(task_id="h", page_id=38, text={"contact_us_title": "Via a bucket"},
                                           journal=store).execute({})
    assert applied["journal"].startswith(store + "/")
    [line] = read_journal(applied["journal"])
    assert line["changes"] == {"meta.contact_us_title": {"old": {"text": "contact us here"},
                                                          "new": {"text": "Via a bucket"}}}
    result = restore(applied, store)
    assert result["restored"] == 1 and result["journal"].startswith(store + "/")
    assert meta(38)["contact_us_title"]["value_text"] == "contact us here"
    assert [e["status"] for e in read_journal(result["journal"])] == ["applied"]
