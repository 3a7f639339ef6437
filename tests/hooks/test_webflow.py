"""WebflowHook over a real socket against the sandbox: every method, every client-side check."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSNotFoundError, CMSValidationError
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.payloads.webflow import normalize_update, page_diff
from airflow_provider_pagemeta.sandbox.control import SandboxControl

pytestmark = pytest.mark.compat

NEW_SEO = {"title": "Pricing that scales | Orbit", "description": "Plans for every team size."}


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["webflow"]


@pytest.fixture
def hook(pagemeta_connections: dict[str, str], sleeps: Any) -> WebflowHook:
    return WebflowHook(sleep=sleeps, asleep=sleeps.asleep)


def test_get_page_sends_bearer_and_returns_the_page(hook, sandbox, fx):
    page = hook.get_page(fx["page_ids"][0])
    assert page["id"] == fx["page_ids"][0] and page["title"] == "About Us"
    assert page["localeId"] == fx["locales"]["primary"]
    [entry] = sandbox.requests("webflow")
    assert (entry["method"], entry["path"], entry["query"]) == ("GET", f"/webflow/v2/pages/{fx['page_ids'][0]}", {})
    assert entry["headers"]["authorization"] == "Bearer ***"


def test_get_page_in_a_secondary_locale(hook, sandbox, fx):
    page = hook.get_page(fx["page_ids"][0], locale_id=fx["locales"]["secondary"])
    assert page["title"] == "À propos" and page["publishedPath"] == "/fr/about"
    assert sandbox.requests("webflow")[0]["query"] == {"localeId": fx["locales"]["secondary"]}


def test_get_unknown_page_is_not_found(hook, fx):
    with pytest.raises(CMSNotFoundError) as info:
        hook.get_page("0" * 24)
    assert info.value.code == "resource_not_found" and info.value.status_code == 404


def test_list_pages_follows_pagination_over_250_pages(hook, sandbox, fx):
    pages = list(hook.list_pages(fx["paging_site_id"]))
    assert [p["id"] for p in pages] == fx["paging_page_ids"]
    log = sandbox.requests("webflow")
    assert [r["query"] for r in log] == [{"limit": "100", "offset": str(o)} for o in (0, 100, 200)]
    assert {r["path"] for r in log} == {f"/webflow/v2/sites/{fx['paging_site_id']}/pages"}


def test_list_pages_of_the_large_site_takes_ten_requests(hook, sandbox, fx):
    pages = list(hook.list_pages(fx["large_site_id"]))
    assert len(pages) == 1000 and [p["id"] for p in pages] == fx["large_page_ids"]
    assert [r["query"]["offset"] for r in sandbox.requests("webflow")] == [str(o) for o in range(0, 1000, 100)]


def test_list_pages_passes_the_locale(hook, sandbox, fx):
    pages = list(hook.list_pages(fx["site_id"], locale_id=fx["locales"]["secondary"]))
    assert len(pages) == 30 and pages[0]["title"] == "Accueil"
    assert sandbox.requests("webflow")[0]["query"]["localeId"] == fx["locales"]["secondary"]


def test_list_pages_checks_arguments_when_called_not_when_iterated(hook, sandbox):
    with pytest.raises(CMSValidationError) as info:
        hook.list_pages("not-a-site")
    assert info.value.argument == "site_id"
    assert sandbox.requests("webflow") == []


def test_update_sends_only_given_fields_camelcased(hook, sandbox, fx):
    page_id = fx["page_ids"][2]
    og = {"title": "OG pricing", "title_copied": False, "descriptionCopied": True}
    page = hook.update_page_settings(page_id, title="Plans", seo={"title": NEW_SEO["title"]}, open_graph=og)
    [entry] = sandbox.requests("webflow")
    assert (entry["method"], entry["path"], entry["query"]) == ("PUT", f"/webflow/v2/pages/{page_id}", {})
    assert entry["body"] == {"title": "Plans", "seo": {"title": NEW_SEO["title"]},
                             "openGraph": {"title": "OG pricing", "titleCopied": False, "descriptionCopied": True}}
    assert entry["headers"]["content-type"] == "application/json"
    assert page["title"] == "Plans" and page["seo"]["title"] == NEW_SEO["title"]
    # Untouched fields kept their values (partial update).
    assert page["seo"]["description"] == "Pricing at Orbit Outfitters, gear for every expedition."
    assert page["slug"] == "pricing"


def test_update_secondary_locale_changes_only_that_locale(hook, sandbox, fx):
    page_id, fr = fx["page_ids"][0], fx["locales"]["secondary"]
    hook.update_page_settings(page_id, locale_id=fr, seo={"title": "À propos de nous"})
    assert sandbox.requests("webflow")[0]["query"] == {"localeId": fr}
    assert hook.get_page(page_id, locale_id=fr)["seo"]["title"] == "À propos de nous"
    assert hook.get_page(page_id)["seo"]["title"] == "About Us | Orbit Outfitters"


def test_changed_slug_on_a_static_page_logs_no_warning(hook, fx, caplog):
    with caplog.at_level(logging.WARNING, logger="airflow_provider_pagemeta"):
        page = hook.update_page_settings(fx["page_ids"][1], slug="contact-us")
    assert page["slug"] == "contact-us"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("which", ["home", "template", "utility", "secondary"])
def test_ignored_slug_is_logged_as_a_warning(hook, fx, caplog, which):
    page_id = {"home": fx["home_page_id"], "template": fx["template_page_id"],
               "utility": fx["utility_page_ids"][0], "secondary": fx["page_ids"][0]}[which]
    locale = fx["locales"]["secondary"] if which == "secondary" else None
    before = hook.get_page(page_id, locale_id=locale)["slug"]
    with caplog.at_level(logging.WARNING, logger="airflow_provider_pagemeta"):
        page = hook.update_page_settings(page_id, locale_id=locale, slug="renamed", title="Renamed")
    assert page["slug"] == before and page["title"] == "Renamed"  # other fields still applied
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.name == "airflow_provider_pagemeta.hooks.webflow"
    assert "'renamed'" in record.getMessage() and repr(before) in record.getMessage()
    assert page_id in record.getMessage()


BAD_UPDATES = [
    ({"page_id": "63C720F9347C2139B248E552", "title": "x"}, "page_id"),  # uppercase
    ({"page_id": "63c720f9347c2139b248e55", "title": "x"}, "page_id"),  # 23 digits
    ({"page_id": "../63c720f9347c2139b248e5", "title": "x"}, "page_id"),
    ({"page_id": 12345, "title": "x"}, "page_id"),
    ({"locale_id": "fr", "title": "x"}, "locale_id"),
    ({}, "fields"),
    ({"title": 3}, "title"),
    ({"title": "  "}, "title"),
    ({"slug": ""}, "slug"),
    ({"seo": "SEO title"}, "seo"),
    ({"seo": {}}, "seo"),
    ({"seo": {"title": "x", "keywords": "a,b"}}, "seo"),
    ({"seo": {"description": None}}, "seo.description"),
    ({"open_graph": ["title"]}, "open_graph"),
    ({"open_graph": {"image": "x.png"}}, "open_graph"),
    ({"open_graph": {"titleCopied": "false"}}, "open_graph.titleCopied"),
    ({"open_graph": {"description_copied": 1}}, "open_graph.description_copied"),
    ({"open_graph": {"title": 7}}, "open_graph.title"),
    ({"open_graph": {"titleCopied": True, "title_copied": False}}, "open_graph"),
]


@pytest.mark.parametrize(("kwargs", "argument"), BAD_UPDATES)
def test_bad_update_input_is_refused_before_any_request(hook, sandbox, fx, kwargs, argument):
    kwargs = {"page_id": fx["page_ids"][0], **kwargs}
    with pytest.raises(CMSValidationError) as info:
        hook.update_page_settings(**kwargs)
    assert info.value.argument == argument
    assert argument.split(".")[0] in str(info.value)
    assert sandbox.requests("webflow") == []


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"page_id": "nope"}, "page_id"),
    ({"page_id": None}, "page_id"),
    ({"locale_id": "65427CF400E02B306EAA04A0"}, "locale_id"),
])
def test_bad_get_page_input_is_refused_before_any_request(hook, sandbox, fx, kwargs, argument):
    kwargs = {"page_id": fx["page_ids"][0], **kwargs}
    with pytest.raises(CMSValidationError) as info:
        hook.get_page(kwargs.pop("page_id"), **kwargs)
    assert info.value.argument == argument
    assert sandbox.requests("webflow") == []


# ---------------------------------------------------------------------- bulk
def test_bulk_update_is_one_patch_with_wire_entries(hook, sandbox, fx):
    ids = fx["large_page_ids"][:3]
    result = hook.update_pages_bulk([
        {"id": ids[0], "seo": {"title": "Bulk 0"}},
        {"page_id": ids[1], "title": "Bulk 1", "open_graph": {"description_copied": False}},
        {"id": ids[2], "slug": "bulk-2"},
    ])
    [entry] = sandbox.requests("webflow")
    assert (entry["method"], entry["path"]) == ("PATCH", "/webflow/beta/pages")
    assert entry["body"] == {"pages": [
        {"id": ids[0], "seo": {"title": "Bulk 0"}},
        {"id": ids[1], "title": "Bulk 1", "openGraph": {"descriptionCopied": False}},
        {"id": ids[2], "slug": "bulk-2"},
    ]}
    assert [p["id"] for p in result["pages"]] == ids
    assert hook.get_page(ids[1])["title"] == "Bulk 1"
    assert hook.get_page(ids[2])["slug"] == "bulk-2"


def test_bulk_same_page_in_primary_and_secondary_locale(hook, fx):
    page_id, fr = fx["page_ids"][0], fx["locales"]["secondary"]
    result = hook.update_pages_bulk([{"id": page_id, "title": "About"}, {"id": page_id, "localeId": fr,
                                                                         "title": "À propos (nouveau)"}])
    assert [(p["localeId"], p["title"]) for p in result["pages"]] == [
        (fx["locales"]["primary"], "About"), (fr, "À propos (nouveau)")]


def test_bulk_ignored_slug_is_logged(hook, fx, caplog):
    with caplog.at_level(logging.WARNING, logger="airflow_provider_pagemeta"):
        hook.update_pages_bulk([{"id": fx["home_page_id"], "slug": "home"}, {"id": fx["page_ids"][3], "slug": "f"}])
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert fx["home_page_id"] in record.getMessage() and "'home'" in record.getMessage()


@pytest.mark.parametrize(("pages", "argument"), [
    ([], "pages"),
    ("not a list", "pages"),
    ([{"id": f"{n:024x}", "title": "x"} for n in range(101)], "pages"),
    ([{"title": "no id"}], "pages[0].id"),
    ([{"id": "XYZ", "title": "x"}], "pages[0].id"),
    ([{"id": "a" * 24}], "pages[0].fields"),
    ([{"id": "a" * 24, "title": "x"}, {"id": "b" * 24, "seo": "y"}], "pages[1].seo"),
    ([{"id": "a" * 24, "title": "x", "status": "draft"}], "pages[0]"),
    ([{"id": "a" * 24, "page_id": "a" * 24, "title": "x"}], "pages[0]"),
    ([{"id": "a" * 24, "localeId": "fr", "title": "x"}], "pages[0].localeId"),
    ([{"id": "a" * 24, "title": "x"}, {"id": "a" * 24, "title": "y"}], "pages[1]"),
    (["a" * 24], "pages[0]"),
])
def test_bad_bulk_input_is_refused_before_any_request(hook, sandbox, pages, argument):
    with pytest.raises(CMSValidationError) as info:
        hook.update_pages_bulk(pages)
    assert info.value.argument == argument
    assert sandbox.requests("webflow") == []


def test_bulk_primary_locale_is_refused_by_webflow(hook, sandbox, fx):
    with pytest.raises(CMSValidationError) as info:
        hook.update_pages_bulk([{"id": fx["page_ids"][0], "localeId": fx["locales"]["primary"], "title": "x"}])
    assert info.value.code == "bad_request" and info.value.status_code == 400
    assert info.value.message == "Bad Request: Request is malformed: The provided locale must be a secondary locale."
    assert len(sandbox.requests("webflow")) == 1  # a 400 is never retried


def test_bulk_pages_of_two_sites_are_refused(hook, fx):
    with pytest.raises(CMSValidationError) as info:
        hook.update_pages_bulk([{"id": fx["page_ids"][0], "title": "x"}, {"id": fx["large_page_ids"][0], "title": "y"}])
    assert "same site" in info.value.message
    assert hook.get_page(fx["page_ids"][0])["title"] == "About Us"  # nothing applied


# ---------------------------------------------------------------------- connection test, pacing
def test_test_connection_uses_introspect(hook, sandbox):
    ok, message = hook.test_connection()
    assert ok is True
    assert message == ("Connected to Webflow: the token is valid for 3 site(s); "
                       "scopes: pages:read,pages:write,sites:read,sites:write; rate limit: 60 requests/min.")
    [entry] = sandbox.requests("webflow")
    assert (entry["method"], entry["path"]) == ("GET", "/webflow/v2/token/introspect")


def test_test_connection_with_a_bad_token_is_a_clean_failure(sandbox, monkeypatch):
    token = "invalid-token-3f9a8b7c6d5e4f3a2b1c"
    conn = {"conn_type": "webflow", "host": sandbox.cms_url("webflow"), "password": token}
    monkeypatch.setenv("AIRFLOW_CONN_WEBFLOW_BAD", json.dumps(conn))
    ok, message = WebflowHook("webflow_bad").test_connection()
    assert ok is False
    assert "401" in message and "invalid_credentials" in message and token not in message
    with pytest.raises(CMSAuthError):
        WebflowHook("webflow_bad").get_page("a" * 24)


def test_pacing_keeps_a_low_rate_limit_free_of_429s(sandbox, monkeypatch, fx):
    """With the real window in the connection, the hook waits for the window instead of hitting 429."""
    sandbox.config(webflow_rate_limit=3, webflow_rate_window=1)
    conn = {"conn_type": "webflow", "host": sandbox.cms_url("webflow"), "password": "paced-token-0a1b2c3d4e5f",
            "extra": {"rate_limit_window": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_WEBFLOW_PACED", json.dumps(conn))
    hook = WebflowHook("webflow_paced")
    started = time.monotonic()
    for _ in range(5):
        hook.get_page(fx["page_ids"][0])
    elapsed = time.monotonic() - started
    statuses = [r["status"] for r in sandbox.requests("webflow")]
    assert statuses.count(200) == 5
    assert elapsed >= 0.9  # it waited for the window instead of bursting into 429s
    # The pacer times the window from when it sent, the sandbox from when the request arrived, with no
    # margin between them: on a loaded machine one request may still land a hair early and be retried.
    assert statuses.count(429) <= 1 and len(statuses) <= 6


# ---------------------------------------------------------------------- pure helpers
def test_normalize_update_and_page_diff():
    body = normalize_update(seo={"title": "New"}, open_graph={"title_copied": True, "title": "OG"})
    assert body == {"seo": {"title": "New"}, "openGraph": {"titleCopied": True, "title": "OG"}}
    page = {"title": "T", "seo": {"title": "Old", "description": "D"}, "openGraph": {"title": "OG"}}
    # titleCopied missing on the page means true (schema default): no change for it.
    assert page_diff(page, body) == {"seo.title": {"old": "Old", "new": "New"}}
    assert page_diff(page, normalize_update(title="T", seo={"description": "D"})) == {}
    assert page_diff({}, {"title": "X"}) == {"title": {"old": None, "new": "X"}}
