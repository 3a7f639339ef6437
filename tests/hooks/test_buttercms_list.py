"""ButterCMSHook.list_pages (Read API List Pages) over a real socket against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSInvalidResponseError,
    CMSNotFoundError,
    CMSValidationError,
)
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS


@pytest.fixture
def hook(pagemeta_connections: dict[str, str]) -> ButterCMSHook:
    return ButterCMSHook()


@pytest.fixture
def products(sandbox) -> dict[str, Any]:
    return sandbox.fixtures()["buttercms"]["products"]


def lists(sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("buttercms") if r["method"] == "GET"]


def test_lists_every_draft_100_per_call_with_the_read_token_in_the_header(hook, sandbox, products):
    listing = hook.list_pages("product")
    pages = list(listing)
    assert [p["slug"] for p in pages] == products["slugs"]  # 250, draft-only ones included
    assert (listing.count, listing.calls, listing.fetched) == (250, 3, 250)
    sent = lists(sandbox)
    assert [r["path"] for r in sent] == ["/buttercms/v2/pages/product/"] * 3  # trailing slash: no 301
    assert [r["query"] for r in sent] == [{"preview": "1", "page_size": "100", "page": str(n)} for n in (1, 2, 3)]
    assert all(r["headers"]["authorization"] == "Token ***" and "auth_token" not in r["query"] for r in sent)
    assert {r["status"] for r in sent} == {200}


def test_listing_uses_the_read_token(sandbox, monkeypatch):
    # A bad read token next to a good password: the listing fails, so it was sent with the read token.
    conn = {"conn_type": "buttercms", "host": sandbox.cms_url("buttercms"), "password": SANDBOX_TOKENS["buttercms"],
            "extra": {"max_retries": 0, "read_token": "invalid-read-token-9f8e7d6c5b4a"}}
    monkeypatch.setenv("AIRFLOW_CONN_BC_SPLIT", json.dumps(conn))
    with pytest.raises(CMSAuthError) as info:
        list(ButterCMSHook(buttercms_conn_id="bc_split").list_pages("faq"))
    assert info.value.status_code == 401 and "invalid-read-token" not in str(info.value)


def test_published_listing_leaves_drafts_out_and_shows_published_versions(hook, sandbox, products):
    published = {p["slug"]: p for p in hook.list_pages("product", preview=False)}
    assert set(published) == set(products["slugs"]) - set(products["draft_only_slugs"])
    with_draft = products["published_with_draft_slugs"][0]
    assert published[with_draft]["status"] == "published"
    assert "(draft)" not in published[with_draft]["fields"]["headline"]
    assert all("preview" not in r["query"] for r in lists(sandbox))


def test_locale_and_page_size_are_sent(hook, sandbox):
    pages = list(hook.list_pages("landing-page", locale="es", page_size=2))
    assert len(pages) == 3 and len(lists(sandbox)) == 2
    assert lists(sandbox)[0]["query"] == {"preview": "1", "locale": "es", "page_size": "2", "page": "1"}
    home = next(p for p in pages if p["slug"] == "home")
    assert home["fields"]["headline"].startswith("Bienvenid")


def test_star_lists_single_pages(hook, sandbox):
    assert [p["slug"] for p in hook.list_pages("*")] == ["about"]
    assert lists(sandbox)[0]["path"] == "/buttercms/v2/pages/*/"


def test_is_lazy(hook, sandbox):
    listing = hook.list_pages("product")
    assert lists(sandbox) == [] and listing.count is None
    next(listing)
    assert len(lists(sandbox)) == 1 and listing.count == 250


def test_unknown_page_type_is_not_found(hook, sandbox):
    with pytest.raises(CMSNotFoundError):
        list(hook.list_pages("no-such-type"))


@pytest.mark.parametrize(("args", "kwargs", "argument"), [
    (("product",), {"page_size": 101}, "page_size"),
    (("product",), {"page_size": 0}, "page_size"),
    (("product",), {"preview": "yes"}, "preview"),
    (("product",), {"locale": 3}, "locale"),
    (("..",), {}, "page_type"),
    (("",), {}, "page_type"),
])
def test_bad_arguments_fail_before_any_request(hook, sandbox, args, kwargs, argument):
    with pytest.raises(CMSValidationError) as info:
        hook.list_pages(*args, **kwargs)
    assert info.value.argument == argument
    assert sandbox.requests() == []


def test_a_next_page_that_does_not_advance_ends_with_an_error(hook, sandbox):
    page = next(hook.list_pages("faq"))
    sandbox.clear_requests()
    sandbox.fault(method="GET", path="/buttercms/v2/pages/faq/", status=200, count=5,
                  body={"meta": {"count": 10**6, "next_page": 1, "previous_page": None}, "data": [page]})
    with pytest.raises(CMSInvalidResponseError, match="does not follow page 1"):
        list(hook.list_pages("faq"))
    assert len(lists(sandbox)) == 1
