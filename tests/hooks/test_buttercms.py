"""ButterCMSHook over a real socket against the sandbox: request shapes, tokens, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSNotFoundError, CMSValidationError
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.payloads.buttercms import differing_fields, page_differences, page_spec

pytestmark = pytest.mark.compat

WRITE_TOKEN = "bc-test-write-token-0123456789abcdef"


def set_conn(monkeypatch: pytest.MonkeyPatch, sandbox: Any, conn_id: str, password: str, **extra: Any) -> None:
    conn = {"conn_type": "buttercms", "host": sandbox.cms_url("buttercms"), "password": password,
            "extra": {"max_retries": 0, **extra}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def hook(pagemeta_connections: dict[str, str]) -> ButterCMSHook:
    return ButterCMSHook()


# ---------------------------------------------------------------------- request shapes
def test_single_locale_update_sends_patch_with_trailing_slash_and_locale_query(sandbox, hook):
    result = hook.update_page("landing-page", "home", fields={"seo": {"title": "New"}}, locale="es")
    assert result == {"status": "pending"}
    [entry] = sandbox.requests("buttercms")
    assert entry["method"] == "PATCH"
    assert entry["path"] == "/buttercms/v2/pages/landing-page/home/"
    assert entry["query"] == {"locale": "es"}
    assert entry["body"] == {"status": "draft", "fields": {"seo": {"title": "New"}}}
    assert entry["headers"]["authorization"] == "Token ***"
    assert entry["headers"]["content-type"] == "application/json"
    assert entry["status"] == 202


def test_single_locale_without_locale_sends_no_query(sandbox, hook):
    hook.update_page("landing-page", "home", fields={"headline": "Hi"}, status="published")
    [entry] = sandbox.requests("buttercms")
    assert entry["query"] == {}
    assert entry["body"] == {"status": "published", "fields": {"headline": "Hi"}}


def test_multi_locale_update_nests_fields_by_locale_and_never_sends_locale(sandbox, hook):
    by_locale = {"en": {"seo": {"title": "EN"}}, "es": {"seo": {"title": "ES"}}}
    assert hook.update_page("*", "home", fields_by_locale=by_locale) == {"status": "pending"}
    [entry] = sandbox.requests("buttercms")
    assert entry["path"] == "/buttercms/v2/pages/*/home/"  # "*" is sent as is, not %2A
    assert entry["query"] == {}
    assert entry["body"] == {"status": "draft", "fields": by_locale}


def test_get_page_reads_with_preview_and_locale_and_returns_data(sandbox, hook):
    page = hook.get_page("faq", "faq", locale="es")
    assert page["slug"] == "faq" and page["page_type"] == "faq"
    assert page["fields"]["headline"] == "Preguntas (borrador)"  # preview=1 shows the draft
    [entry] = sandbox.requests("buttercms")
    assert entry["method"] == "GET" and entry["path"] == "/buttercms/v2/pages/faq/faq/"
    assert entry["query"] == {"preview": "1", "locale": "es"}
    assert entry["headers"]["authorization"] == "Token ***"  # the token travels in the header only
    assert "auth_token" not in entry["query"]


def test_get_page_without_preview_shows_published_version(sandbox, hook):
    assert hook.get_page("faq", "faq", preview=False)["fields"]["headline"] == "Frequently Asked Questions"
    with pytest.raises(CMSNotFoundError) as err:
        hook.get_page("landing-page", "spring-sale", preview=False)  # draft only
    assert err.value.status_code == 404 and err.value.message == "Page not found."
    assert sandbox.requests("buttercms")[0]["query"] == {}


async def test_aget_page_matches_get_page(sandbox, hook):
    try:
        page = await hook.aget_page("landing-page", "home", locale="en")
    finally:
        await hook.aclose()
    assert page == hook.get_page("landing-page", "home", locale="en")
    first, second = sandbox.requests("buttercms")
    assert first["path"] == second["path"] == "/buttercms/v2/pages/landing-page/home/"
    assert first["query"] == second["query"] == {"preview": "1", "locale": "en"}


def test_slug_with_traversal_stays_inside_the_page_path(sandbox, hook):
    with pytest.raises(CMSNotFoundError):
        hook.update_page("landing-page", "../../v2/sites", fields={"headline": "x"})
    [entry] = sandbox.requests("buttercms")
    assert entry["path"] == "/buttercms/v2/pages/landing-page/..%2F..%2Fv2%2Fsites/"


# ---------------------------------------------------------------------- which token
def test_reads_use_read_token_and_writes_use_password(sandbox, monkeypatch):
    # The read token is bad and the password good: reads fail, writes pass -> each uses its own.
    set_conn(monkeypatch, sandbox, "bc_split", WRITE_TOKEN, read_token="invalid-read-token-abcdef")
    hook = ButterCMSHook(buttercms_conn_id="bc_split")
    assert hook.update_page("landing-page", "home", fields={"headline": "x"}) == {"status": "pending"}
    with pytest.raises(CMSAuthError) as err:
        hook.get_page("landing-page", "home")
    assert err.value.status_code == 401 and err.value.message == "Invalid token."
    assert "invalid-read-token" not in str(err.value)


def test_read_only_password_can_read_but_not_write(sandbox, monkeypatch):
    set_conn(monkeypatch, sandbox, "bc_ro", "read-only-token-0123456789abcdef")
    hook = ButterCMSHook(buttercms_conn_id="bc_ro")
    assert hook.get_page("landing-page", "home")["slug"] == "home"  # no read_token: password reads
    with pytest.raises(CMSAuthError) as err:
        hook.update_page("landing-page", "home", fields={"headline": "x"})
    assert err.value.status_code == 401
    assert err.value.message == "Authentication credentials were not provided"
    assert [r["status"] for r in sandbox.requests("buttercms")] == [200, 401]


def test_test_connection_lists_single_pages_with_one_item(sandbox, hook):
    ok, message = hook.test_connection()
    assert ok is True and "read token was accepted" in message and "1 single page" in message
    [entry] = sandbox.requests("buttercms")
    assert entry["method"] == "GET" and entry["path"] == "/buttercms/v2/pages/*/"
    assert entry["query"] == {"page_size": "1"}


def test_test_connection_reports_bad_token_without_leaking_it(sandbox, monkeypatch):
    set_conn(monkeypatch, sandbox, "bc_bad", "invalid-token-0123456789abcdef")
    ok, message = ButterCMSHook(buttercms_conn_id="bc_bad").test_connection()
    assert ok is False and "Invalid token." in message and "invalid-token-0123" not in message


# ---------------------------------------------------------------------- validation before any request
@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({}, "fields"),
        ({"fields": {"a": 1}, "fields_by_locale": {"en": {"a": 1}}}, "fields"),
        ({"fields": {}}, "fields"),
        ({"fields": ["headline"]}, "fields"),
        ({"fields_by_locale": {}}, "fields_by_locale"),
        ({"fields_by_locale": {"en": {}}}, "fields_by_locale"),
        ({"fields_by_locale": {"en": {"a": 1}}, "locale": "en"}, "locale"),
        ({"fields": {"a": 1}, "status": "live"}, "status"),
        ({"fields": {"a": object()}}, "fields"),
        ({"fields": {"a": float("nan")}}, "fields"),
        ({"fields_by_locale": {"en": {"a": {1, 2}}}}, "fields_by_locale"),
        ({"fields": {"a": 1}, "locale": ""}, "locale"),
    ],
)
def test_bad_update_arguments_fail_before_any_request(sandbox, hook, kwargs, argument):
    with pytest.raises(CMSValidationError) as err:
        hook.update_page("landing-page", "home", **kwargs)
    assert err.value.argument == argument
    assert sandbox.requests("buttercms") == []


@pytest.mark.parametrize(("page_type", "slug", "argument"), [
    ("landing-page", "..", "page_slug"), ("", "home", "page_type"), ("landing-page", " ", "page_slug"),
    (".", "home", "page_type"), ("landing-page", None, "page_slug"),
])
def test_bad_path_segments_fail_before_any_request(sandbox, hook, page_type, slug, argument):
    with pytest.raises(CMSValidationError) as err:
        hook.update_page(page_type, slug, fields={"headline": "x"})
    assert err.value.argument == argument
    with pytest.raises(CMSValidationError):
        hook.get_page(page_type, slug)
    assert sandbox.requests("buttercms") == []


# ---------------------------------------------------------------------- the completion rule
def test_differing_fields_compares_objects_by_key_and_lists_whole():
    current = {"seo": {"title": "T", "description": "D"}, "tags": [1, 2], "n": 1, "flag": True}
    assert differing_fields({"seo": {"title": "T"}, "tags": [1, 2], "n": 1.0}, current) == []
    assert differing_fields({"seo": {"title": "X", "og": "o"}, "tags": [1], "flag": 1, "gone": None}, current) == [
        "seo.title", "seo.og", "tags", "flag", "gone",
    ]
    assert differing_fields({"seo": {"title": "T"}}, {"seo": "flat"}) == ["seo"]


def test_page_differences_prefixes_locale_for_the_multi_locale_form():
    spec = page_spec("faq", "faq", expected_fields_by_locale={"en": {"seo": {"title": "A"}}, "es": {"headline": "B"}})
    pages = {"en": {"fields": {"seo": {"title": "A"}}}, "es": {"fields": {"headline": "old"}}}
    assert page_differences(spec, pages) == ["es:headline"]
    single = page_spec("faq", "faq", expected_fields={"headline": "B"}, locale="es")
    assert page_differences(single, {"es": {"fields": {"headline": "B"}}}) == []
