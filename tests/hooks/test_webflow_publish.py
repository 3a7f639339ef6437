"""WebflowHook's sites, custom domains and publish over a real socket against the sandbox.

What a publish sends (body keys, the default target, host names resolved to ids), what it refuses
before sending anything, what visitors see before and after it (the sandbox's live view), and how
the one-publish-per-minute limit is met: a 429 waits its ``Retry-After`` (else 60 s) within the
hook's retries, so two publishes of one site both end published, paced.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from webflow.resources.sites.types.sites_publish_response import SitesPublishResponse
from webflow.types.domain import Domain
from webflow.types.site import Site

from airflow_provider_pagemeta.exceptions import CMSRateLimitError, CMSValidationError
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.payloads.webflow import PUBLISH_RATE_LIMIT_WAIT
from airflow_provider_pagemeta.sandbox.control import SandboxControl
from tests.conftest import SleepRecorder

NEW_SEO = {"title": "About Orbit | Since 2009", "description": "The outfitters behind every expedition."}


class RealSleeps(SleepRecorder):
    """Records each wait and spends it: the sandbox's publish interval is real time."""

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        time.sleep(seconds)


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["webflow"]


@pytest.fixture
def hook(pagemeta_connections: dict[str, str], sleeps: SleepRecorder) -> WebflowHook:
    return WebflowHook(sleep=sleeps, asleep=sleeps.asleep)


def domain_ids(fx: dict[str, Any]) -> list[str]:
    return [d["id"] for d in fx["custom_domains"]]


def calls(sandbox: SandboxControl) -> list[tuple[str, str, int | None]]:
    return [(r["method"], r["path"], r["status"]) for r in sandbox.requests("webflow")]


def publishes(sandbox: SandboxControl) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("webflow") if r["method"] == "POST"]


# ---------------------------------------------------------------------- reads
def test_get_site_and_list_custom_domains(hook, sandbox, fx):
    site = hook.get_site(fx["site_id"])
    assert site["id"] == fx["site_id"] and site["lastPublished"] is not None
    domains = hook.list_custom_domains(fx["site_id"])
    assert [(d["id"], d["url"]) for d in domains] == [(d["id"], d["url"]) for d in fx["custom_domains"]]
    assert all(d["lastPublished"] == site["lastPublished"] for d in domains)
    assert hook.list_custom_domains(fx["large_site_id"]) == []  # only its webflow.io subdomain
    site_path = f"/webflow/v2/sites/{fx['site_id']}"
    assert calls(sandbox) == [("GET", site_path, 200), ("GET", f"{site_path}/custom_domains", 200),
                              ("GET", f"/webflow/v2/sites/{fx['large_site_id']}/custom_domains", 200)]


def test_the_official_sdk_models_read_what_the_hook_returns(hook, fx):
    """The hook hands back Webflow's bodies as they are: the SDK's own models parse them."""
    site = Site.model_validate(hook.get_site(fx["site_id"]))
    assert site.id == fx["site_id"] and site.last_published is not None
    domains = [Domain.model_validate(d) for d in hook.list_custom_domains(fx["site_id"])]
    assert [d.url for d in domains] == ["www.orbit-outfitters.com", "orbit-outfitters.com"]
    answer = SitesPublishResponse.model_validate(hook.publish_site(fx["site_id"]))
    assert answer.publish_to_webflow_subdomain is True
    assert [d.id for d in answer.custom_domains or []] == domain_ids(fx)
    assert all(d.last_published is not None and d.last_published > site.last_published
               for d in answer.custom_domains or [])


# ---------------------------------------------------------------------- the body
def test_default_publish_reads_the_domains_once_and_publishes_everywhere(hook, sandbox, fx):
    answer = hook.publish_site(fx["site_id"])
    assert answer["publishScope"] == "site" and answer["publishToWebflowSubdomain"] is True
    assert [d["id"] for d in answer["customDomains"]] == domain_ids(fx)
    site_path = f"/webflow/v2/sites/{fx['site_id']}"
    assert calls(sandbox) == [("GET", f"{site_path}/custom_domains", 200), ("POST", f"{site_path}/publish", 202)]
    assert publishes(sandbox)[0]["body"] == {"customDomains": domain_ids(fx), "publishToWebflowSubdomain": True}
    assert hook.get_site(fx["site_id"])["lastPublished"] == answer["customDomains"][0]["lastPublished"]


def test_a_site_without_custom_domains_publishes_to_its_subdomain(hook, sandbox, fx):
    answer = hook.publish_site(fx["large_site_id"])
    assert answer == {"customDomains": [], "publishToWebflowSubdomain": True, "publishScope": "site"}
    assert publishes(sandbox)[0]["body"] == {"publishToWebflowSubdomain": True}  # no empty list sent


def test_host_names_are_resolved_to_domain_ids(hook, sandbox, fx):
    www, apex = domain_ids(fx)
    answer = hook.publish_site(fx["site_id"], custom_domains=["orbit-outfitters.com", "https://WWW.Orbit-Outfitters.com/",
                                                              apex])
    assert [d["url"] for d in answer["customDomains"]] == ["orbit-outfitters.com", "www.orbit-outfitters.com"]
    assert [r["method"] for r in sandbox.requests("webflow")] == ["GET", "POST"]
    assert publishes(sandbox)[0]["body"] == {"customDomains": [apex, www]}  # each once, in the order given


def test_domain_ids_and_the_subdomain_flag_are_sent_as_given_without_a_read(hook, sandbox, fx):
    www = domain_ids(fx)[0]
    answer = hook.publish_site(fx["site_id"], custom_domains=[www], publish_to_webflow_subdomain=False)
    assert [d["url"] for d in answer["customDomains"]] == ["www.orbit-outfitters.com"]
    assert answer["publishToWebflowSubdomain"] is False
    [entry] = sandbox.requests("webflow")
    assert entry["body"] == {"customDomains": [www], "publishToWebflowSubdomain": False}


def test_an_unknown_domain_id_is_webflows_invalid_domain(hook, sandbox, fx):
    with pytest.raises(CMSValidationError) as info:
        hook.publish_site(fx["site_id"], custom_domains=["0" * 24])
    assert (info.value.status_code, info.value.code) == (400, "invalid_domain")


def test_an_unknown_host_name_fails_before_the_publish_naming_it(hook, sandbox, fx):
    with pytest.raises(CMSValidationError) as info:
        hook.publish_site(fx["site_id"], custom_domains=["www.orbit-outfitters.com", "shop.orbit-outfitters.com"])
    assert info.value.argument == "custom_domains"
    assert "'shop.orbit-outfitters.com' is not a custom domain of site" in str(info.value)
    assert "orbit-outfitters.com, www.orbit-outfitters.com" in str(info.value)  # what it could have been
    assert [r["method"] for r in sandbox.requests("webflow")] == ["GET"]  # the domain list; no publish


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"site_id": "orbit"}, "site_id"),
    ({"page_id": "about"}, "page_id"),
    ({"custom_domains": 5}, "custom_domains"),
    ({"custom_domains": ["not a host!"]}, "custom_domains"),
    ({"custom_domains": [None]}, "custom_domains"),
    ({"custom_domains": []}, "custom_domains"),  # publishes nowhere: Webflow's 400 no_domains
    ({"publish_to_webflow_subdomain": False}, "publish_to_webflow_subdomain"),  # nowhere either
    ({"publish_to_webflow_subdomain": "yes"}, "publish_to_webflow_subdomain"),
])
def test_bad_publish_arguments_fail_before_any_request(hook, sandbox, fx, kwargs, argument):
    kwargs = {"site_id": fx["site_id"], **kwargs}
    with pytest.raises(CMSValidationError) as info:
        hook.publish_site(**kwargs)
    assert info.value.argument == argument
    assert sandbox.requests("webflow") == []


def test_bad_site_id_fails_before_any_read(hook, sandbox):
    for call in (hook.get_site, hook.list_custom_domains):
        with pytest.raises(CMSValidationError) as info:
            call("../pages")
        assert info.value.argument == "site_id"
    assert sandbox.requests("webflow") == []


# ---------------------------------------------------------------------- staged and live
def test_an_update_is_staged_until_the_publish_makes_it_live(hook, sandbox, fx):
    about = fx["page_ids"][0]
    live_before = sandbox.webflow_live(about)
    hook.update_page_settings(about, seo=NEW_SEO)
    assert hook.get_page(about)["seo"] == NEW_SEO  # the API reads the staged page
    assert sandbox.webflow_live(about) == live_before  # visitors still see the old one
    hook.publish_site(fx["site_id"])
    assert sandbox.webflow_live(about)["seo"] == NEW_SEO


def test_a_page_publish_makes_that_page_live_only(hook, sandbox, fx):
    about, contact = fx["page_ids"][:2]
    hook.update_page_settings(about, title="About Orbit")
    hook.update_page_settings(contact, title="Reach us")
    answer = hook.publish_site(fx["site_id"], page_id=about)
    assert answer["publishScope"] == "page"
    assert publishes(sandbox)[0]["body"] == {"customDomains": domain_ids(fx), "publishToWebflowSubdomain": True,
                                             "pageId": about}
    assert sandbox.webflow_live(about)["title"] == "About Orbit"
    assert sandbox.webflow_live(contact)["title"] == "Contact"


# ---------------------------------------------------------------------- the publish limit
def test_a_429_without_retry_after_waits_a_minute_not_a_second(hook, sandbox, fx, sleeps):
    sandbox.fault(method="POST", path="/webflow/v2/sites/*/publish", status=429, count=1,
                  body={"code": "too_many_requests", "message": "Too Many Requests", "externalReference": None,
                        "details": []})
    answer = hook.publish_site(fx["site_id"], publish_to_webflow_subdomain=True)
    assert answer["publishToWebflowSubdomain"] is True
    assert [r["status"] for r in publishes(sandbox)] == [429, 202]
    assert sleeps.calls == [PUBLISH_RATE_LIMIT_WAIT] == [60.0]


def test_other_calls_keep_the_ordinary_backoff_on_a_429(hook, sandbox, fx, sleeps):
    sandbox.fault(method="GET", path="/webflow/v2/sites/*", status=429, count=1)
    hook.get_site(fx["site_id"])
    assert len(sleeps.calls) == 1 and sleeps.calls[0] <= 1.0  # first backoff step: 0.5 to 1 s


def test_a_publish_inside_the_interval_waits_retry_after_then_goes_through(pagemeta_connections, sandbox, fx):
    sandbox.config(webflow_publish_interval=3)
    waits = RealSleeps()
    hook = WebflowHook(sleep=waits)
    first = hook.publish_site(fx["site_id"], publish_to_webflow_subdomain=True)
    second = hook.publish_site(fx["site_id"], publish_to_webflow_subdomain=True)
    assert [r["status"] for r in publishes(sandbox)] == [202, 429, 202]
    [wait] = waits.calls  # one wait, the Retry-After (whole seconds left of the interval), no burst
    assert wait in (1.0, 2.0, 3.0)
    assert second["customDomains"] == first["customDomains"] == []


def test_two_publishes_at_once_both_end_published_one_after_the_other(pagemeta_connections, sandbox, fx):
    """Two tasks (or two DAGs) publishing one site at the same moment: one goes through, the other
    is refused with 429 + Retry-After, waits it, and goes through too. Neither fails."""
    sandbox.config(webflow_publish_interval=3)
    about = fx["page_ids"][0]
    WebflowHook().update_page_settings(about, seo=NEW_SEO)
    waits = [RealSleeps(), RealSleeps()]
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def publish(n: int) -> None:
        hook = WebflowHook(sleep=waits[n])
        try:
            start.wait(timeout=10)
            answers.append(hook.publish_site(fx["site_id"]))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(answers) == 2
    assert sorted(r["status"] for r in publishes(sandbox)) == [202, 202, 429]
    assert [r["status"] for r in publishes(sandbox)][:2] == [202, 429]  # the refused one came second
    assert sorted(len(w.calls) for w in waits) == [0, 1]  # only the refused task waited, once
    assert max(w.calls[0] for w in waits if w.calls) in (1.0, 2.0, 3.0)
    assert answers[0]["customDomains"][0]["lastPublished"] < answers[1]["customDomains"][0]["lastPublished"]
    assert sandbox.webflow_live(about)["seo"] == NEW_SEO


def test_when_the_retries_are_spent_the_429_names_the_wait(sandbox, fx, monkeypatch, sleeps):
    import json

    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    conn = {"conn_type": "webflow", "host": sandbox.cms_url("webflow"), "password": SANDBOX_TOKENS["webflow"],
            "extra": {"max_retries": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_WEBFLOW_DEFAULT", json.dumps(conn))
    sandbox.fault(method="POST", path="/webflow/v2/sites/*/publish", status=429, count=2)
    with pytest.raises(CMSRateLimitError) as info:
        WebflowHook(sleep=sleeps).publish_site(fx["site_id"], publish_to_webflow_subdomain=True)
    assert info.value.status_code == 429 and info.value.retry_after == 60.0
    assert sleeps.calls == [60.0] and len(publishes(sandbox)) == 2
