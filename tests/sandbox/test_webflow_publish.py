"""The Webflow emulator's sites, custom domains and publish: staged vs live, the publish limit, and
the official SDK reading the answers over a real socket (no provider code involved)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from webflow import Webflow
from webflow.core.api_error import ApiError
from webflow.environment import WebflowEnvironment
from webflow.errors import BadRequestError, NotFoundError, TooManyRequestsError

from airflow_provider_pagemeta.sandbox.control import SandboxControl

TOKEN = "wf-publish-test-token-7d6c5b4a3f2e"
NO_RETRY: Any = {"max_retries": 0}


class Api:
    """Raw calls to the sandbox's /webflow."""

    def __init__(self, sandbox: SandboxControl, token: str = TOKEN) -> None:
        self.base = sandbox.cms_url("webflow")
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=5, **kwargs)

    def publish(self, site_id: str, **body: Any) -> requests.Response:
        return self("POST", f"/v2/sites/{site_id}/publish", json=body)


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["webflow"]


@pytest.fixture
def api(sandbox: SandboxControl) -> Api:
    return Api(sandbox)


@pytest.fixture
def sdk(sandbox: SandboxControl) -> Webflow:
    base = f"{sandbox.cms_url('webflow')}/v2"
    return Webflow(access_token=TOKEN, environment=WebflowEnvironment(base=base, data_api=base,
                                                                      content_delivery_api=base))


def error(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "externalReference": None, "details": details or []}


def domain_ids(fx: dict[str, Any]) -> list[str]:
    return [d["id"] for d in fx["custom_domains"]]


# ---------------------------------------------------------------------- the official SDK
def test_site_and_custom_domains_parse_in_the_sdk(sdk, fx):
    site = sdk.sites.get(fx["site_id"])
    assert not site.model_extra, site.model_extra
    assert site.id == fx["site_id"] and site.display_name == "Orbit Outfitters"
    assert site.short_name == "orbit-outfitters" and site.workspace_id
    assert site.last_published is not None and site.last_updated is not None and site.created_on is not None
    assert site.locales is not None and site.locales.primary is not None and site.locales.secondary is not None
    assert site.locales.primary.id == fx["locales"]["primary"]
    assert [loc.id for loc in site.locales.secondary] == [fx["locales"]["secondary"]]
    assert [(d.id, d.url) for d in site.custom_domains or []] == [(d["id"], d["url"]) for d in fx["custom_domains"]]
    domains = sdk.sites.get_custom_domain(fx["site_id"])
    assert not domains.model_extra
    assert [d.url for d in domains.custom_domains or []] == ["www.orbit-outfitters.com", "orbit-outfitters.com"]
    assert all(d.last_published == site.last_published for d in domains.custom_domains or [])
    # A site with only its webflow.io subdomain has no custom domains.
    assert sdk.sites.get_custom_domain(fx["large_site_id"]).custom_domains == []
    listed = sdk.sites.list()
    assert not listed.model_extra and all(not s.model_extra for s in listed.sites or [])
    assert [s.id for s in listed.sites or []] == [fx["site_id"], fx["large_site_id"], fx["paging_site_id"]]


def test_publish_parses_in_the_sdk_and_sends_the_documented_body(sdk, sandbox, fx):
    before = sdk.sites.get(fx["site_id"]).last_published
    answer = sdk.sites.publish(fx["site_id"], custom_domains=domain_ids(fx)[:1], publish_to_webflow_subdomain=True)
    assert answer.model_extra == {"publishScope": "site"}  # newer than the 2.0.0 models
    assert answer.publish_to_webflow_subdomain is True
    [published] = answer.custom_domains or []
    assert published.id == domain_ids(fx)[0] and published.url == "www.orbit-outfitters.com"
    assert before is not None and published.last_published is not None and published.last_published > before
    site = sdk.sites.get(fx["site_id"])
    assert site.last_published == published.last_published
    # Only the domain published to moves; the other keeps its last publish.
    assert [d.last_published for d in site.custom_domains or []] == [published.last_published, before]
    [entry] = [r for r in sandbox.requests("webflow") if r["method"] == "POST"]
    assert entry["path"] == f"/webflow/v2/sites/{fx['site_id']}/publish" and entry["status"] == 202
    assert entry["body"] == {"customDomains": domain_ids(fx)[:1], "publishToWebflowSubdomain": True}


def test_sdk_sees_the_publish_errors_as_its_own_exceptions(sdk, sandbox, fx):
    with pytest.raises(BadRequestError) as bad:
        sdk.sites.publish(fx["site_id"], custom_domains=[], request_options=NO_RETRY)
    assert bad.value.body == error("no_domains", "No domain IDs provided")
    with pytest.raises(NotFoundError):
        sdk.sites.publish("0" * 24, publish_to_webflow_subdomain=True, request_options=NO_RETRY)
    sdk.sites.publish(fx["site_id"], publish_to_webflow_subdomain=True)
    with pytest.raises(TooManyRequestsError) as limited:
        sdk.sites.publish(fx["site_id"], publish_to_webflow_subdomain=True, request_options=NO_RETRY)
    assert isinstance(limited.value, ApiError) and limited.value.headers is not None
    assert 1 <= int(limited.value.headers["retry-after"]) <= 60


# ---------------------------------------------------------------------- staged and live
def staged(api: Api, page_id: str, locale_id: str | None = None) -> dict[str, Any]:
    params = {"localeId": locale_id} if locale_id else None
    page = api("GET", f"/v2/pages/{page_id}", params=params).json()
    return {k: page[k] for k in ("title", "slug", "seo", "openGraph")}


def test_demo_data_starts_fully_published(sandbox, api, fx):
    site = api("GET", f"/v2/sites/{fx['site_id']}").json()
    listed = api("GET", f"/v2/sites/{fx['site_id']}/pages").json()["pages"]
    assert len(listed) == 30 and site["lastPublished"] is not None
    assert all(page["lastUpdated"] < site["lastPublished"] for page in listed)
    for locale_id in fx["locales"].values():
        for page_id in [*fx["page_ids"][:5], fx["home_page_id"]]:
            assert sandbox.webflow_live(page_id, locale_id) == staged(api, page_id, locale_id)
    large = fx["large_page_ids"][-1]
    assert sandbox.webflow_live(large) == staged(api, large)


def test_writes_are_staged_until_the_site_is_published(sandbox, api, fx):
    about, contact = fx["page_ids"][:2]
    live_before = sandbox.webflow_live(about)
    put = api("PUT", f"/v2/pages/{about}", json={"title": "About Orbit", "seo": {"description": "New words."}})
    assert put.status_code == 200 and put.json()["title"] == "About Orbit"
    assert staged(api, about)["seo"]["description"] == "New words."
    assert sandbox.webflow_live(about) == live_before  # visitors still see the old page
    bulk = api("PATCH", "/beta/pages", json={"pages": [{"id": contact, "title": "Reach us"}]})
    assert bulk.status_code == 200 and sandbox.webflow_live(contact)["title"] == "Contact"
    site = api("GET", f"/v2/sites/{fx['site_id']}").json()
    assert site["lastUpdated"] > site["lastPublished"]  # the documented "unpublished changes" heuristic

    answer = api.publish(fx["site_id"], customDomains=domain_ids(fx), publishToWebflowSubdomain=True)
    assert answer.status_code == 202
    body = answer.json()
    assert body["publishScope"] == "site" and body["publishToWebflowSubdomain"] is True
    assert [d["id"] for d in body["customDomains"]] == domain_ids(fx)
    assert sandbox.webflow_live(about) == staged(api, about)
    assert sandbox.webflow_live(about)["title"] == "About Orbit"
    assert sandbox.webflow_live(contact)["title"] == "Reach us"
    site = api("GET", f"/v2/sites/{fx['site_id']}").json()
    assert site["lastPublished"] >= site["lastUpdated"]
    assert {d["lastPublished"] for d in site["customDomains"]} == {site["lastPublished"]}


def test_a_page_publish_moves_only_that_page_in_every_locale(sandbox, api, fx):
    about, contact = fx["page_ids"][:2]
    fr = fx["locales"]["secondary"]
    api("PUT", f"/v2/pages/{about}", json={"title": "About (new)"})
    api("PUT", f"/v2/pages/{about}", params={"localeId": fr}, json={"title": "À propos (nouveau)"})
    api("PUT", f"/v2/pages/{contact}", json={"title": "Contact (new)"})
    domains_before = api("GET", f"/v2/sites/{fx['site_id']}/custom_domains").json()["customDomains"]

    answer = api.publish(fx["site_id"], publishToWebflowSubdomain=True, pageId=about)
    assert answer.status_code == 202
    assert answer.json() == {"customDomains": [], "publishToWebflowSubdomain": True, "publishScope": "page"}
    assert sandbox.webflow_live(about)["title"] == "About (new)"
    assert sandbox.webflow_live(about, fr)["title"] == "À propos (nouveau)"
    assert sandbox.webflow_live(contact)["title"] == "Contact"  # not published
    # Subdomain only: the custom domains were not published to.
    assert api("GET", f"/v2/sites/{fx['site_id']}/custom_domains").json()["customDomains"] == domains_before


def test_beta_publish_and_reset_restore_the_published_demo(sandbox, api, fx):
    about = fx["page_ids"][0]
    api("PUT", f"/v2/pages/{about}", json={"title": "Changed"})
    beta = api("POST", f"/beta/sites/{fx['site_id']}/publish", json={"publishToWebflowSubdomain": True})
    assert beta.status_code == 202
    assert sandbox.webflow_live(about)["title"] == "Changed"
    sandbox.reset()
    assert sandbox.webflow_live(about)["title"] == "About Us" == staged(api, about)["title"]
    assert api.publish(fx["site_id"], publishToWebflowSubdomain=True).status_code == 202  # no interval left over


def test_live_control_errors(sandbox, fx):
    missing = requests.get(f"{sandbox.url}/_sandbox/webflow/live/{'0' * 24}", timeout=5)
    assert missing.status_code == 404 and "error" in missing.json()
    bad_locale = requests.get(f"{sandbox.url}/_sandbox/webflow/live/{fx['page_ids'][0]}",
                              params={"localeId": fx["large_site_id"]}, timeout=5)
    assert bad_locale.status_code == 400 and "error" in bad_locale.json()
    assert sandbox.requests() == []  # controls are not logged


# ---------------------------------------------------------------------- errors and the publish limit
@pytest.mark.parametrize("body", [{}, {"customDomains": []}, {"customDomains": [], "publishToWebflowSubdomain": False},
                                  {"publishToWebflowSubdomain": False}, {"pageId": None}])
def test_no_target_is_no_domains(api, fx, body):
    r = api.publish(fx["site_id"], **body)
    assert r.status_code == 400 and r.json() == error("no_domains", "No domain IDs provided")
    assert "X-RateLimit-Remaining" in r.headers


def test_publish_errors(api, fx):
    site = fx["site_id"]
    r = api.publish(site, customDomains=[domain_ids(fx)[0], "f" * 24])
    assert r.status_code == 400 and r.json() == error("invalid_domain", "Please send a valid custom domain ID")
    r = api.publish(fx["large_site_id"], customDomains=domain_ids(fx)[:1])  # another site's domain
    assert r.json()["code"] == "invalid_domain"
    r = api.publish("0" * 24, publishToWebflowSubdomain=True)
    assert r.status_code == 404
    assert r.json() == error("resource_not_found", "Requested resource not found: The site cannot be found")
    for page_id in ("1" * 24, fx["large_page_ids"][0]):  # unknown, and a page of another site
        r = api.publish(site, publishToWebflowSubdomain=True, pageId=page_id)
        assert r.status_code == 404 and r.json()["message"].endswith("The page cannot be found")
    r = api.publish(site, customDomains="www", publishToWebflowSubdomain="yes", pageId="nope", force=True)
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    assert sorted(d["param"] for d in r.json()["details"]) == [
        "customDomains", "force", "pageId", "publishToWebflowSubdomain"]
    r = api("POST", f"/v2/sites/{site}/publish", data="{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "bad_request"


def test_second_successful_publish_within_the_interval_is_429_with_retry_after(sandbox, api, fx):
    sandbox.config(webflow_publish_interval=3)
    site = fx["site_id"]
    # Refused publishes do not count toward the interval.
    assert api.publish(site).status_code == 400
    assert api.publish(site, customDomains=["f" * 24]).status_code == 400
    first = api.publish(site, publishToWebflowSubdomain=True)
    assert first.status_code == 202
    limited = api.publish(site, customDomains=domain_ids(fx), pageId=fx["page_ids"][0])
    assert limited.status_code == 429
    assert limited.json() == error("too_many_requests", "Too Many Requests")
    retry_after = int(limited.headers["Retry-After"])
    received = time.monotonic()
    assert 1 <= retry_after <= 3
    assert limited.headers["X-RateLimit-Limit"] == "60"  # the general limit's headers too
    # Bad requests are still answered as such within the interval (checked before the limit).
    assert api.publish(site).json()["code"] == "no_domains"
    # Another site has its own interval.
    assert api.publish(fx["large_site_id"], publishToWebflowSubdomain=True).status_code == 202
    # Retry-After is enough: once it has passed, the publish goes through.
    deadline = received + retry_after
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.25))
    again = api.publish(site, customDomains=domain_ids(fx), pageId=fx["page_ids"][0])
    assert again.status_code == 202, again.text
    assert again.json()["publishScope"] == "page"
    # ... and it starts a new interval.
    assert api.publish(site, publishToWebflowSubdomain=True).status_code == 429


def test_retry_after_counts_down_and_the_limit_follows_config(sandbox, api, fx):
    sandbox.config(webflow_publish_interval=600)
    site = fx["site_id"]
    assert api.publish(site, publishToWebflowSubdomain=True).status_code == 202
    limited = api.publish(site, publishToWebflowSubdomain=True)
    assert limited.status_code == 429 and 590 <= int(limited.headers["Retry-After"]) <= 600
    sandbox.config(webflow_publish_interval=0)  # read on every request
    assert api.publish(site, publishToWebflowSubdomain=True).status_code == 202


def test_a_publish_counts_toward_the_general_rate_limit(sandbox, api, fx):
    sandbox.config(webflow_rate_limit=2, webflow_rate_window=60)
    r = api.publish(fx["site_id"], publishToWebflowSubdomain=True)
    assert r.status_code == 202 and r.headers["X-RateLimit-Remaining"] == "1"
    api("GET", f"/v2/sites/{fx['site_id']}")
    r = api.publish(fx["site_id"], publishToWebflowSubdomain=True)
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"


# ---------------------------------------------------------------------- the generated large site
def test_large_site_size_follows_config_and_lists_100_per_request(sandbox, api):
    sandbox.config(webflow_large_site_pages=10_000, webflow_rate_limit=1000)
    fx = sandbox.fixtures()["webflow"]
    ids = fx["large_page_ids"]
    assert len(ids) == len(set(ids)) == 10_000
    listed: list[str] = []
    for offset in range(0, 10_000, 100):
        body = api("GET", f"/v2/sites/{fx['large_site_id']}/pages", params={"offset": offset}).json()
        assert body["pagination"] == {"limit": 100, "offset": offset, "total": 10_000}
        listed += [p["id"] for p in body["pages"]]
    assert listed == ids
    # A page keeps its content whatever the size: the first 1000 are the default site's pages.
    tenth = staged(api, ids[999])
    sandbox.config(webflow_large_site_pages=1000)
    small = sandbox.fixtures()["webflow"]["large_page_ids"]
    assert small == ids[:1000] and staged(api, ids[999]) == tenth
    assert api("GET", f"/v2/pages/{ids[1000]}").status_code == 404
    sandbox.config(webflow_large_site_pages=12)
    sandbox.reset()  # back to the default size
    assert len(sandbox.fixtures()["webflow"]["large_page_ids"]) == 1000


def test_large_site_writes_are_undone_by_reset(sandbox, api):
    sandbox.config(webflow_large_site_pages=300)
    page = sandbox.fixtures()["webflow"]["large_page_ids"][299]
    original = staged(api, page)["title"]
    assert api("PUT", f"/v2/pages/{page}", json={"title": "Changed"}).json()["title"] == "Changed"
    assert sandbox.webflow_live(page)["title"] == original
    sandbox.reset()
    sandbox.config(webflow_large_site_pages=300)
    assert staged(api, page)["title"] == original == sandbox.webflow_live(page)["title"]

