"""The ButterCMS emulator, spoken to with plain HTTP (no provider code), as the docs describe it."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.sandbox.control import SandboxControl

TOKEN = {"Authorization": "Token bc-sandbox-write-token-test-1234"}


class Butter:
    def __init__(self, sandbox: SandboxControl) -> None:
        self.base = sandbox.cms_url("buttercms")
        self.session = requests.Session()

    def get(self, path: str, headers: dict[str, str] | None = TOKEN, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, headers=headers, params=params, allow_redirects=False, timeout=5)

    def write(self, path: str, body: Any, method: str = "PATCH", headers: dict[str, str] | None = TOKEN,
              **params: Any) -> requests.Response:
        return self.session.request(method, self.base + path, headers=headers, json=body, params=params,
                                    allow_redirects=False, timeout=5)

    def fields(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()["data"]["fields"]  # type: ignore[no-any-return]


@pytest.fixture
def api(sandbox: SandboxControl) -> Butter:
    sandbox.config(buttercms_apply_delay=0)  # writes land on the next request
    return Butter(sandbox)


def test_fixtures_list_demo_pages_and_locales(sandbox):
    fixtures = sandbox.fixtures()["buttercms"]
    assert list(fixtures)[:2] == ["pages", "locales"]
    assert fixtures["locales"] == ["en", "es"]
    assert fixtures["pages"][0] == {"page_type": "landing-page", "slug": "home"}
    assert fixtures["draft_only"] == {"page_type": "landing-page", "slug": "spring-sale"}


def test_read_response_shape_and_publishing_states(api):
    body = api.get("/v2/pages/landing-page/home/", locale="es").json()
    assert set(body["data"]) == {"slug", "name", "published", "updated", "page_type", "fields"}
    assert body["data"]["fields"]["headline"] == "Bienvenido a Acme"
    assert api.get("/v2/pages/landing-page/spring-sale/").status_code == 404
    assert api.get("/v2/pages/landing-page/spring-sale/", preview=1).status_code == 200
    assert api.fields("/v2/pages/faq/faq/")["headline"] == "Frequently Asked Questions"
    assert api.fields("/v2/pages/faq/faq/", preview=1)["headline"] == "FAQ (draft)"


def test_read_errors(api):
    assert api.get("/v2/pages/landing-page/home/", locale="fr").json() == {"detail": "Invalid locale parameter"}
    shared = api.get("/v2/pages/*/contact/")
    assert shared.status_code == 403 and "Multiple pages" in shared.json()["detail"]
    assert api.get("/v2/pages/*/about/").json()["data"]["page_type"] is None
    missing = api.get("/v2/pages/faq/nope/")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Page not found."})
    assert api.get("/v2/pages/faq/faq/", levels=9).status_code == 400


def test_tokens(api):
    assert api.get("/v2/pages/faq/faq/", headers=None).json() == {
        "detail": "Authentication credentials were not provided"}
    assert api.get("/v2/pages/faq/faq/", headers=None, auth_token="read-abc123456").status_code == 200
    bad = api.get("/v2/pages/faq/faq/", headers={"Authorization": "Token invalid-123456"})
    assert (bad.status_code, bad.json(), bad.headers["WWW-Authenticate"]) == (401, {"detail": "Invalid token."},
                                                                              "Token")
    assert api.get("/v2/pages/faq/faq/", headers={"Authorization": "Bearer abc123456"}).status_code == 401
    read_write = api.write("/v2/pages/faq/faq/", {"fields": {"headline": "x"}},
                           headers={"Authorization": "Token read-abc123456"})
    assert (read_write.status_code, read_write.json()) == (401, {
        "detail": "Authentication credentials were not provided"})
    assert api.write("/v2/pages/faq/faq/", {"fields": {"headline": "x"}}, headers=None,
                     auth_token="abc123456").status_code == 401  # writes: header only


def test_missing_trailing_slash_redirects(api, sandbox):
    response = api.get("/v2/pages/faq/faq", locale="es")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/buttercms/v2/pages/faq/faq/?locale=es")


def test_write_is_pending_until_the_apply_delay_passes(api, sandbox):
    sandbox.config(buttercms_apply_delay=0.3)
    accepted = api.write("/v2/pages/landing-page/home/", {"status": "draft", "fields": {"headline": "Later"}})
    assert (accepted.status_code, accepted.json()) == (202, {"status": "pending"})
    assert api.fields("/v2/pages/landing-page/home/", preview=1)["headline"] == "Welcome to Acme"
    deadline = time.monotonic() + 5
    while api.fields("/v2/pages/landing-page/home/", preview=1)["headline"] != "Later":
        assert time.monotonic() < deadline, "the write never landed"
        time.sleep(0.05)
    # a draft: the published version is unchanged
    assert api.fields("/v2/pages/landing-page/home/")["headline"] == "Welcome to Acme"


def test_partial_semantics_components_by_key_repeaters_whole(api):
    body = {"status": "published", "fields": {"seo": {"title": "T2"}, "features": [{"title": "Only", "body": "B"}]}}
    assert api.write("/v2/pages/landing-page/home/", body, method="PUT").status_code == 202
    fields = api.fields("/v2/pages/landing-page/home/")
    assert fields["seo"] == {"title": "T2", "description": "Acme makes things."}
    assert fields["features"] == [{"title": "Only", "body": "B"}]
    assert fields["headline"] == "Welcome to Acme"
    assert api.fields("/v2/pages/landing-page/home/", locale="es")["seo"]["title"] == "Inicio | Acme"


def test_multi_locale_body_and_data_wrapper_and_warnings(api):
    body = {"data": {"status": "published", "title": "ignored", "slug": "x",
                     "fields": {"en": {"headline": "EN"}, "es": {"headline": "ES"}}}}
    response = api.write("/v2/pages/*/home/", body)
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert [w.split("'")[1] for w in response.json()["warnings"]] == ["title", "slug"]
    assert api.fields("/v2/pages/landing-page/home/")["headline"] == "EN"
    assert api.fields("/v2/pages/landing-page/home/", locale="es")["headline"] == "ES"


def test_publishing_draft_only_page_makes_it_public(api):
    assert api.write("/v2/pages/landing-page/spring-sale/", {"status": "published", "fields": {"headline": "Go"}},
                     locale="es").status_code == 202
    assert api.fields("/v2/pages/landing-page/spring-sale/", locale="es")["headline"] == "Go"
    assert api.fields("/v2/pages/landing-page/spring-sale/")["headline"] == "Spring Sale"


@pytest.mark.parametrize(("body", "params", "expected"), [
    ({"fields": {"bogus": 1}}, {}, "fields"),
    ({"fields": {"features": {"title": "x"}}}, {}, "fields"),
    ({"fields": {"seo": {"nope": "x"}}}, {}, "fields"),
    ({"status": "live", "fields": {"headline": "x"}}, {}, "status"),
    ({"fields": {"headline": "x"}}, {"locale": "fr"}, "detail"),
    ({"fields": {"en": {"headline": "x"}}}, {"locale": "en"}, "locale"),
])
def test_write_validation_errors(api, body, params, expected):
    response = api.write("/v2/pages/landing-page/home/", body, **params)
    assert response.status_code == 400
    assert list(response.json()) == [expected]


def test_write_to_unknown_page_is_404_and_other_methods_405(api):
    assert api.write("/v2/pages/faq/nope/", {"fields": {"headline": "x"}}).json() == {"detail": "Page not found."}
    assert api.write("/v2/pages/faq/faq/", {}, method="DELETE").status_code == 405


def test_reset_restores_demo_data(api, sandbox):
    api.write("/v2/pages/faq/faq/", {"status": "published", "fields": {"headline": "Changed"}})
    assert api.fields("/v2/pages/faq/faq/")["headline"] == "Changed"
    sandbox.reset()
    assert api.fields("/v2/pages/faq/faq/")["headline"] == "Frequently Asked Questions"
