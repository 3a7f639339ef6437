"""The Webflow emulator over raw HTTP: auth, error bodies, rate limiting, locales, bulk rules, SDK models."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.sandbox.control import SandboxControl

TOKEN = "wf-raw-test-token-1a2b3c4d5e6f"


class Api:
    """Raw calls to the sandbox's /webflow, no provider code involved."""

    def __init__(self, sandbox: SandboxControl, token: str = TOKEN) -> None:
        self.base = sandbox.cms_url("webflow")
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=5, **kwargs)


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["webflow"]


@pytest.fixture
def api(sandbox: SandboxControl) -> Api:
    return Api(sandbox)


def error(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "externalReference": None, "details": details or []}


def test_fixtures_describe_the_demo_sites(fx):
    assert len(fx["page_ids"]) == 25 and len(set(fx["page_ids"])) == 25
    assert len(fx["large_page_ids"]) == 1000 and len(set(fx["large_page_ids"])) == 1000
    assert len(fx["utility_page_ids"]) == 3
    assert fx["locales"]["primary"] != fx["locales"]["secondary"]
    every_id = [fx["site_id"], fx["large_site_id"], *fx["page_ids"], *fx["large_page_ids"], *fx["locales"].values()]
    assert all(len(i) == 24 and int(i, 16) >= 0 and i == i.lower() for i in every_id)


# ---------------------------------------------------------------------- auth
def test_missing_header_is_401_not_authorized(sandbox, fx):
    r = requests.get(f"{sandbox.cms_url('webflow')}/v2/pages/{fx['page_ids'][0]}", timeout=5)
    assert r.status_code == 401 and r.json() == error("not_authorized", "Request not authorized")
    assert "x-ratelimit-limit" not in r.headers


def test_wrong_scheme_and_invalid_token_are_401(api, fx):
    path = f"/v2/pages/{fx['page_ids'][0]}"
    assert api("GET", path, headers={"Authorization": f"Token {TOKEN}"}).json()["code"] == "not_authorized"
    r = api("GET", path, headers={"Authorization": "Bearer invalid-abc"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"


# ---------------------------------------------------------------------- rate limit
def test_rate_limit_headers_and_429_past_a_low_limit(sandbox, api, fx):
    sandbox.config(webflow_rate_limit=3, webflow_rate_window=2)
    path = f"/v2/pages/{fx['page_ids'][0]}"
    answers = [api("GET", path) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"3"}
    over = answers[3]
    assert over.json() == {"message": "Too Many Requests", "code": "too_many_requests",
                           "externalReference": None, "details": []}
    assert 1 <= int(over.headers["Retry-After"]) <= 2
    # Per token: another token has its own budget.
    assert Api(sandbox, "another-token-9f8e7d6c5b4a")("GET", path).status_code == 200
    # Sliding window: a slot frees once the oldest request is a window old.
    deadline = time.monotonic() + 5
    while (r := api("GET", path)).status_code == 429:
        assert time.monotonic() < deadline, "no slot freed within the window"
        time.sleep(0.1)
    assert r.status_code == 200


def test_config_change_takes_effect_on_the_next_request(sandbox, api, fx):
    sandbox.config(webflow_rate_limit=1, webflow_rate_window=60)
    path = f"/v2/pages/{fx['page_ids'][0]}"
    assert [api("GET", path).status_code for _ in range(2)] == [200, 429]
    sandbox.config(webflow_rate_limit=5)
    r = api("GET", path)
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "3"


def test_error_responses_carry_rate_limit_headers(api):
    r = api("GET", "/v2/pages/" + "0" * 24)
    assert r.status_code == 404
    assert r.json() == error("resource_not_found", "Requested resource not found: The page cannot be found")
    assert r.headers["X-RateLimit-Limit"] == "60" and r.headers["X-RateLimit-Remaining"] == "59"


def test_a_bulk_call_counts_as_one_request(sandbox, api, fx):
    sandbox.config(webflow_rate_limit=3, webflow_rate_window=60)
    r = api("PATCH", "/beta/pages", json={"pages": [{"id": i, "title": f"T{i}"} for i in fx["large_page_ids"][:100]]})
    assert r.status_code == 200 and len(r.json()["pages"]) == 100
    assert r.headers["X-RateLimit-Remaining"] == "2"


# ---------------------------------------------------------------------- list / get / put
@pytest.mark.parametrize(("query", "param"), [
    ({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": -1}, "offset"),
])
def test_list_rejects_bad_paging(api, fx, query, param):
    r = api("GET", f"/v2/sites/{fx['site_id']}/pages", params=query)
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    assert [d["param"] for d in r.json()["details"]] == [param]


def test_list_paging_and_unknown_site(api, fx):
    body = api("GET", f"/v2/sites/{fx['large_site_id']}/pages", params={"limit": 100, "offset": 950}).json()
    assert body["pagination"] == {"limit": 100, "offset": 950, "total": 1000}
    assert [p["id"] for p in body["pages"]] == fx["large_page_ids"][950:]
    r = api("GET", "/v2/sites/" + "f" * 24 + "/pages")
    assert r.status_code == 404 and r.json()["message"] == "Requested resource not found: The site cannot be found"


def test_put_validation_errors(api, fx):
    r = api("PUT", f"/v2/pages/{fx['page_ids'][0]}",
            json={"title": 5, "seo": {"title": "ok", "keywords": "x"}, "openGraph": {"titleCopied": "no"}, "x": 1})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation_error" and body["externalReference"] is None
    assert sorted(d["param"] for d in body["details"]) == ["openGraph.titleCopied", "seo.keywords", "title", "x"]
    assert body["message"].startswith('Validation Error: ["')
    assert api("PUT", f"/v2/pages/{fx['page_ids'][0]}", data="{not json",
               headers={"Content-Type": "application/json"}).json()["code"] == "bad_request"
    assert api("GET", f"/v2/pages/{fx['page_ids'][0]}").json()["title"] == "About Us"  # nothing applied


def test_put_unknown_page_and_bad_locale(api, fx):
    assert api("PUT", "/v2/pages/" + "1" * 24, json={"title": "x"}).status_code == 404
    r = api("PUT", f"/v2/pages/{fx['page_ids'][0]}", params={"localeId": fx["large_site_id"]}, json={"title": "x"})
    assert r.status_code == 400 and r.json()["details"][0]["param"] == "localeId"


@pytest.mark.parametrize("which", ["home", "template", "utility", "secondary"])
def test_slug_is_silently_ignored_where_webflow_ignores_it(api, fx, which):
    page_id = {"home": fx["home_page_id"], "template": fx["template_page_id"],
               "utility": fx["utility_page_ids"][1], "secondary": fx["page_ids"][4]}[which]
    params = {"localeId": fx["locales"]["secondary"]} if which == "secondary" else {}
    before = api("GET", f"/v2/pages/{page_id}", params=params).json()
    r = api("PUT", f"/v2/pages/{page_id}", params=params, json={"slug": "moved", "seo": {"title": "New SEO"}})
    assert r.status_code == 200
    assert r.json()["slug"] == before["slug"] != "moved"
    assert r.json()["seo"] == {"title": "New SEO", "description": before["seo"]["description"]}


def test_static_slug_change_and_secondary_locale_copy(api, fx):
    page_id, fr = fx["page_ids"][3], fx["locales"]["secondary"]
    assert api("PUT", f"/v2/pages/{page_id}", json={"slug": "all-features"}).json()["publishedPath"] == "/all-features"
    api("PUT", f"/v2/pages/{page_id}", params={"localeId": fr}, json={"title": "Toutes les fonctionnalités"})
    fr_page = api("GET", f"/v2/pages/{page_id}", params={"localeId": fr}).json()
    assert fr_page["title"] == "Toutes les fonctionnalités" and fr_page["publishedPath"] == "/fr/features"
    assert api("GET", f"/v2/pages/{page_id}").json()["title"] == "Features"


def test_unknown_route_is_a_webflow_404(api):
    r = api("GET", "/v2/nothing/here")
    assert r.status_code == 404 and r.json()["code"] == "resource_not_found"


def test_reset_restores_demo_data(sandbox, api, fx):
    api("PUT", f"/v2/pages/{fx['page_ids'][0]}", json={"title": "Changed"})
    sandbox.reset()
    assert api("GET", f"/v2/pages/{fx['page_ids'][0]}").json()["title"] == "About Us"


# ---------------------------------------------------------------------- bulk rules
def bulk(api: Api, pages: Any) -> requests.Response:
    return api("PATCH", "/beta/pages", json={"pages": pages})


@pytest.mark.parametrize("count", [0, 101])
def test_bulk_needs_1_to_100_entries(api, fx, count):
    r = bulk(api, [{"id": i, "title": "x"} for i in fx["large_page_ids"][:count]])
    assert r.status_code == 400 and r.json()["code"] == "validation_error"


def test_bulk_rules(api, fx):
    p0, p1, fr, en = fx["page_ids"][0], fx["page_ids"][1], fx["locales"]["secondary"], fx["locales"]["primary"]
    dup = bulk(api, [{"id": p0, "localeId": fr, "title": "a"}, {"id": p0, "localeId": fr, "title": "b"}])
    assert dup.status_code == 400 and dup.json()["code"] == "bad_request" and "Duplicate" in dup.json()["message"]
    primary = bulk(api, [{"id": p1, "title": "ok"}, {"id": p0, "localeId": en, "title": "x"}])
    assert primary.status_code == 400 and primary.json() == error(
        "bad_request", "Bad Request: Request is malformed: The provided locale must be a secondary locale.")
    sites = bulk(api, [{"id": p0, "title": "x"}, {"id": fx["large_page_ids"][0], "title": "y"}])
    assert sites.status_code == 400 and "same site" in sites.json()["message"]
    missing = bulk(api, [{"id": p0, "title": "x"}, {"id": "2" * 24, "title": "y"}])
    assert missing.status_code == 404
    typed = bulk(api, [{"id": p0, "seo": {"title": 1}}, {"title": "no id"}])
    assert sorted(d["param"] for d in typed.json()["details"]) == ["pages[0].seo.title", "pages[1].id"]
    # All-or-nothing: none of the refused calls changed a page.
    assert api("GET", f"/v2/pages/{p1}").json()["title"] == "Contact"
    ok = bulk(api, [{"id": p0, "title": "About"}, {"id": p0, "localeId": fr, "title": "Qui sommes-nous"}])
    assert ok.status_code == 200 and [p["title"] for p in ok.json()["pages"]] == ["About", "Qui sommes-nous"]


# ---------------------------------------------------------------------- official SDK models
def _no_unknown_fields(model: Any) -> None:
    assert not model.model_extra, f"fields the SDK does not know: {model.model_extra}"


def test_responses_parse_in_the_official_sdk_models(api, fx):
    # The SDK is a dev-extra test tool: imported here so this module also loads where it is absent.
    sdk = pytest.importorskip("webflow.types", reason="the webflow SDK (dev extra) is not installed")
    Authorization, Page, PageList = sdk.Authorization, sdk.Page, sdk.PageList
    page_id = fx["page_ids"][0]
    got = Page.model_validate(api("GET", f"/v2/pages/{page_id}").json())
    _no_unknown_fields(got)
    assert got.id == page_id and got.site_id == fx["site_id"] and got.created_on is not None
    assert got.open_graph is not None and got.open_graph.title_copied is True
    put = Page.model_validate(api("PUT", f"/v2/pages/{page_id}", json={"seo": {"title": "SDK"}}).json())
    _no_unknown_fields(put)
    assert put.seo is not None and put.seo.title == "SDK" and put.last_updated is not None
    listed = PageList.model_validate(api("GET", f"/v2/sites/{fx['site_id']}/pages", params={"limit": 5}).json())
    _no_unknown_fields(listed)
    assert listed.pagination is not None and listed.pagination.total == 30
    assert listed.pages is not None and len(listed.pages) == 5
    for page in listed.pages:
        _no_unknown_fields(page)
    template = Page.model_validate(api("GET", f"/v2/pages/{fx['template_page_id']}").json())
    assert template.collection_id is not None
    auth = Authorization.model_validate(api("GET", "/v2/token/introspect").json())
    assert auth.authorization is not None and auth.authorization.rate_limit == 60
    assert auth.authorization.authorized_to is not None
    assert fx["site_id"] in (auth.authorization.authorized_to.site_ids or [])
