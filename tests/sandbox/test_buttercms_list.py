"""The ButterCMS emulator's List Pages endpoint and monthly quota, over plain HTTP (no provider code)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.sandbox.buttercms import seconds_to_next_month
from airflow_provider_pagemeta.sandbox.control import SandboxControl

TOKEN = {"Authorization": "Token read-bc-list-test-token-5e6f7a8b"}
ITEM_KEYS = {"slug", "page_type", "name", "published", "updated", "status", "fields"}


class Butter:
    def __init__(self, sandbox: SandboxControl) -> None:
        self.base = sandbox.cms_url("buttercms")
        self.session = requests.Session()

    def get(self, path: str, headers: dict[str, str] | None = TOKEN, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, headers=headers, params=params, allow_redirects=False, timeout=10)

    def listing(self, page_type: str = "product", **params: Any) -> dict[str, Any]:
        response = self.get(f"/v2/pages/{page_type}/", **params)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def patch(self, path: str, body: Any) -> requests.Response:
        return self.session.patch(self.base + path, json=body, timeout=10,
                                  headers={"Authorization": "Token bc-list-write-token-1a2b3c4d"})


@pytest.fixture
def api(sandbox: SandboxControl) -> Butter:
    sandbox.config(buttercms_apply_delay=0)
    return Butter(sandbox)


@pytest.fixture
def products(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()["buttercms"]["products"]  # type: ignore[no-any-return]


def test_fixtures_describe_the_generated_page_type(sandbox, products):
    fixtures = sandbox.fixtures()["buttercms"]
    assert len(fixtures["pages"]) == 6  # the demo pages only
    assert products["page_type"] == "product" and len(products["slugs"]) == 250
    assert len(products["draft_only_slugs"]) == 5 and len(products["published_with_draft_slugs"]) == 25
    assert fixtures["page_types"]["product"] == ["featured", "headline", "price", "seo"]


def test_published_listing_leaves_out_never_published_pages(api, products):
    body = api.listing(page_size=100)
    assert body["meta"] == {"count": 245, "next_page": 2, "previous_page": None}
    assert len(body["data"]) == 100
    item = body["data"][0]
    assert set(item) == ITEM_KEYS and item["page_type"] == "product" and item["status"] == "published"
    slugs = [d["slug"] for page in (1, 2, 3) for d in api.listing(page_size=100, page=page)["data"]]
    assert len(slugs) == len(set(slugs)) == 245
    assert set(products["slugs"]) - set(slugs) == set(products["draft_only_slugs"])
    with_draft = products["published_with_draft_slugs"][0]
    shown = next(d for d in api.listing(page_size=100)["data"] if d["slug"] == with_draft)
    assert shown["status"] == "published" and not shown["fields"]["headline"].endswith("(draft)")


def test_preview_lists_the_latest_drafts(api, products):
    pages = [api.listing(page_size=100, page=n, preview=1) for n in (1, 2, 3)]
    assert [p["meta"] for p in pages] == [
        {"count": 250, "next_page": 2, "previous_page": None},
        {"count": 250, "next_page": 3, "previous_page": 1},
        {"count": 250, "next_page": None, "previous_page": 2},
    ]
    items = {d["slug"]: d for p in pages for d in p["data"]}
    assert list(items) == products["slugs"]  # creation order
    drafts = set(products["draft_only_slugs"]) | set(products["published_with_draft_slugs"])
    assert {slug for slug, d in items.items() if d["status"] == "draft"} == drafts
    assert all(items[s]["fields"]["headline"].endswith("(draft)") for s in drafts)
    assert all(items[s]["published"] is None for s in products["draft_only_slugs"])
    beyond = api.listing(page_size=100, page=4, preview=1)
    assert beyond == {"meta": {"count": 250, "next_page": None, "previous_page": 3}, "data": []}


@pytest.mark.parametrize("params", [{"page_size": 0}, {"page_size": 101}, {"page_size": "ten"}, {"page": 0},
                                    {"limit": 101}, {"page": 1, "offset": 5}, {"levels": 6}, {"locale": "fr"},
                                    {"order": "colour"}])
def test_bad_list_parameters_are_400_detail(api, params):
    response = api.get("/v2/pages/product/", **params)
    assert response.status_code == 400 and set(response.json()) == {"detail"}, response.text


def test_limit_offset_paging(api):
    body = api.listing(limit=100, offset=200, preview=1)
    assert body["meta"] == {"count": 250, "next_offset": None, "previous_offset": 100}
    assert [d["slug"] for d in body["data"]] == [f"product-{i:04d}" for i in range(200, 250)]


def test_star_lists_only_single_pages(api):
    body = api.listing("*", preview=1, page_size=100)
    assert [(d["slug"], d["page_type"]) for d in body["data"]] == [("about", None)]
    # Filters and ordering apply to Page Type endpoints only: ignored for Single Pages.
    assert api.listing("*", **{"fields.headline": "nothing like it"})["meta"]["count"] == 1
    assert api.get("/v2/pages/no-such-type/").status_code == 404


def test_field_filters_locale_and_order(api):
    featured = api.listing(preview=1, page_size=100, **{"fields.featured": "true"})
    assert featured["meta"]["count"] == 50 and all(d["fields"]["featured"] is True for d in featured["data"])
    one = api.listing(**{"fields.seo.title": "Trail Backpack 0000 | Acme", "fields.price": "19.00"})
    assert [d["slug"] for d in one["data"]] == ["product-0000"]
    assert api.listing(**{"fields.seo.title": "Trail Backpack 0000 | Acme", "fields.price": "20.00"})["data"] == []
    spanish = api.listing(locale="es", page_size=1)["data"][0]
    assert spanish["fields"]["headline"] == "Mochila Trail 0000"
    newest = api.listing(order="-published", page_size=3)["data"]
    assert [d["slug"] for d in newest] == ["product-0248", "product-0247", "product-0246"]
    by_headline = api.listing(order="headline", page_size=2)["data"]
    assert [d["fields"]["headline"] for d in by_headline] == sorted(d["fields"]["headline"] for d in by_headline)
    assert by_headline[0]["fields"]["headline"].startswith("Canyon")


def test_writes_show_in_the_listing_of_their_version(api):
    path = "/v2/pages/product/product-0001/"
    assert api.patch(path, {"status": "draft", "fields": {"headline": "New draft"}}).status_code == 202
    draft = api.listing(preview=1, page_size=2)["data"][1]
    assert (draft["fields"]["headline"], draft["status"]) == ("New draft", "draft")
    assert api.listing(page_size=2)["data"][1]["fields"]["headline"] == "Summit Backpack 0001"
    assert api.patch(path, {"status": "published", "fields": {"headline": "Now live"}}).status_code == 202
    for preview in (0, 1):
        item = api.listing(preview=preview, page_size=2)["data"][1]
        assert (item["fields"]["headline"], item["status"]) == ("Now live", "published")


def test_list_auth_and_trailing_slash(api, sandbox):
    assert api.get("/v2/pages/product/", headers=None).status_code == 401
    assert api.get("/v2/pages/product/", headers={"Authorization": "Token invalid-x"}).json() == {
        "detail": "Invalid token."}
    assert api.get("/v2/pages/product/", headers=None, auth_token="read-query-token-1234").status_code == 200
    moved = api.get("/v2/pages/product", page_size=5)
    assert moved.status_code == 301 and moved.headers["location"].endswith("/v2/pages/product/?page_size=5")


def test_product_page_count_follows_config(sandbox, api):
    sandbox.config(buttercms_product_pages=1000)
    assert len(sandbox.fixtures()["buttercms"]["products"]["slugs"]) == 1000
    body = api.listing(page_size=100, page=10, preview=1)
    assert body["meta"] == {"count": 1000, "next_page": None, "previous_page": 9}
    assert api.get("/v2/pages/product/product-0999/", preview=1).status_code == 200
    # The demo pages are untouched by the resize.
    assert api.get("/v2/pages/landing-page/home/").status_code == 200
    sandbox.reset()
    assert len(sandbox.fixtures()["buttercms"]["products"]["slugs"]) == 250


def test_a_written_product_is_restored_by_reset(sandbox, api):
    api.patch("/v2/pages/product/product-0002/", {"status": "published", "fields": {"headline": "Changed"}})
    assert api.get("/v2/pages/product/product-0002/").json()["data"]["fields"]["headline"] == "Changed"
    sandbox.reset()
    sandbox.config(buttercms_apply_delay=0)
    assert api.get("/v2/pages/product/product-0002/").json()["data"]["fields"]["headline"] == "Harbor Backpack 0002"


# ---------------------------------------------------------------------- monthly quota
def test_monthly_quota_blocks_every_call_once_spent(sandbox, api):
    sandbox.config(buttercms_monthly_quota=5)
    answers = [
        api.get("/v2/pages/product"),  # 301: counts (the docs: "counts as 2 API calls" with its follow-up)
        api.get("/v2/pages/product/"),
        api.get("/v2/pages/product/", headers=None),  # 401: counts too
        api.patch("/v2/pages/product/product-0001/", {"fields": {"headline": "x"}}),
        api.get("/v2/pages/landing-page/home/"),
    ]
    assert [r.status_code for r in answers] == [301, 200, 401, 202, 200]
    for blocked in (api.get("/v2/pages/product/"), api.patch("/v2/pages/product/product-0001/", {"fields": {}}),
                    api.get("/v2/pages/product")):
        assert blocked.status_code == 429 and blocked.json() == {"detail": "API Calls limit reached."}
        expected = seconds_to_next_month()
        assert expected - 60 <= int(blocked.headers["Retry-After"]) <= expected
    assert len(sandbox.requests("buttercms")) == 8  # every call reached the sandbox
    sandbox.config(buttercms_monthly_quota=0)  # a paid plan: no block
    assert api.get("/v2/pages/product/").status_code == 200
    sandbox.config(buttercms_monthly_quota=6)
    assert api.get("/v2/pages/product/").status_code == 429  # 6 calls were made before this one
    sandbox.reset()
    sandbox.config(buttercms_monthly_quota=1)
    assert [api.get("/v2/pages/product/").status_code for _ in range(2)] == [200, 429]


@pytest.mark.parametrize(("now", "seconds"), [
    (datetime(2026, 4, 30, 23, 59, 59, tzinfo=timezone.utc), 1),
    (datetime(2026, 12, 31, 0, 0, tzinfo=timezone.utc), 86_400),
    (datetime(2026, 2, 1, 0, 0, tzinfo=timezone.utc), 28 * 86_400),
    (datetime(2026, 5, 31, 23, 59, 59, 500_000, tzinfo=timezone.utc), 1),
])
def test_retry_after_is_the_time_to_the_first_of_next_month(now, seconds):
    assert seconds_to_next_month(now) == seconds
