"""The Hamgam emulator on its own, with raw HTTP: envelopes, paging, value rules, auth, reset."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_pagemeta.sandbox.control import SandboxControl

AUTH = {"Authorization": "Token hg-sandbox-raw-token-0123456789"}


def api(sandbox: SandboxControl, method: str, path: str, headers: dict[str, str] | None = AUTH,
        **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sandbox.cms_url('hamgam')}/api/pages/base{path}", headers=headers,
                            timeout=5, **kwargs)


def test_fixtures(sandbox):
    fx = sandbox.fixtures()["hamgam"]
    assert fx["page_ids"] == [38, 39, 40] and fx["file_ids"] == [1, 2, 3, 4, 5]
    assert fx["paged_page_id"] == 39 and fx["default_limit"] == 10
    assert fx["bulk_page_ids"] == list(range(1001, 1501))


def test_generated_bulk_pages_have_three_entries_each(sandbox):
    fx = sandbox.fixtures()["hamgam"]
    for page_id in (fx["bulk_page_ids"][0], fx["bulk_page_ids"][-1]):
        body = api(sandbox, "GET", f"/{page_id}/meta/", params={"ordering": "key"}).json()
        assert body["count"] == 3 and body["next"] is None
        assert [m["key"] for m in body["results"]] == ["meta_description", "meta_title", "og_image"]
        assert body["results"][2]["value_file_data"]["id"] in (1, 2)
    changed = api(sandbox, "PATCH", "/1001/meta/30", json={"key": "meta_title", "value_text": "New"})
    assert changed.status_code == 200 and changed.json()["value_text"] == "New"
    sandbox.reset()
    assert api(sandbox, "GET", "/1001/meta/30").json()["value_text"] == "Product 001 | Logitech Store"


def test_list_envelope_default_order_and_absolute_links(sandbox):
    first = api(sandbox, "GET", "/39/meta/").json()
    assert first["count"] == 25 and first["previous"] is None
    assert [m["key"] for m in first["results"]][:2] == ["spec_25", "spec_24"]  # -created_at
    assert first["next"] == f"{sandbox.cms_url('hamgam')}/api/pages/base/39/meta/?limit=10&offset=10"
    second = requests.get(first["next"], headers=AUTH, timeout=5).json()
    assert second["previous"] == f"{sandbox.cms_url('hamgam')}/api/pages/base/39/meta/?limit=10"
    last = api(sandbox, "GET", "/39/meta", params={"offset": 20, "ordering": "key"}).json()  # no slash
    assert [m["key"] for m in last["results"]] == [f"spec_{n}" for n in range(21, 26)]
    assert last["next"] is None
    assert last["previous"].endswith("/39/meta?limit=10&offset=10&ordering=key")


def test_list_filters(sandbox):
    files = api(sandbox, "GET", "/38/meta/", params={"has_value_file": "true"}).json()
    assert [m["key"] for m in files["results"]] == ["image_top"]
    found = api(sandbox, "GET", "/38/meta/", params={"search": "LOGITECH"}).json()
    assert sorted(m["key"] for m in found["results"]) == ["image_top", "meta_description"]


def test_meta_object_shape(sandbox):
    meta = api(sandbox, "GET", "/38/meta/1").json()
    assert set(meta) == {"id", "key", "value_text", "value_file_data", "created_at", "updated_at"}
    assert meta["value_file_data"] == {
        "id": 1, "type": "image", "name": "logitech-logo", "size": 2763, "human_readable_size": "2.70 KB",
        "f": f"{sandbox.url}/media/core_media/2025/11/22/logitech.png",
    }
    assert meta["created_at"] == "2025-11-23T10:18:36.325053Z"


def test_create_update_and_timestamps(sandbox):
    created = api(sandbox, "POST", "/40/meta", json={"key": "k", "value_text": "v"})  # no slash
    assert created.status_code == 201
    body = created.json()
    assert body["created_at"] == body["updated_at"] and body["created_at"].endswith("Z")
    updated = api(sandbox, "PATCH", f"/40/meta/{body['id']}/", json={"key": "k2", "value_text": None,
                                                                      "value_file": 5}).json()
    assert updated["key"] == "k2" and updated["value_file_data"]["type"] == "video"
    assert updated["updated_at"] > updated["created_at"]
    assert api(sandbox, "GET", "/40/meta/").json()["count"] == 1


DUPLICATE = {"key": ["page meta with this key already exists."]}
NEITHER = {"non_field_errors": ["Either one of value_file or value_text must be provided."]}


@pytest.mark.parametrize(("method", "path", "body", "errors"), [
    ("POST", "/38/meta/", {"key": "image_top", "value_text": "x"}, DUPLICATE),
    ("PATCH", "/38/meta/2", {"key": "image_top", "value_text": "x"}, DUPLICATE),
    ("PATCH", "/38/meta/2", {"value_text": "x"}, {"key": ["This field is required."]}),
    ("POST", "/38/meta/", {"key": "", "value_text": "x"}, {"key": ["This field may not be blank."]}),
    ("POST", "/38/meta/", {"key": "n", "value_file": 99}, {"value_file": ['Invalid pk "99" - object does not exist.']}),
    ("POST", "/38/meta/", {"key": "n"}, NEITHER),
    ("PATCH", "/38/meta/2", {"key": "contact_us_title", "value_file": 4}, "non_field_errors"),  # text not nulled
    ("POST", "/38/meta/", [1], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
])
def test_validation_errors_are_drf_style_400s(sandbox, method, path, body, errors):
    response = api(sandbox, method, path, json=body)
    assert response.status_code == 400
    if isinstance(errors, str):
        assert list(response.json()) == [errors]
    else:
        assert response.json() == errors


@pytest.mark.parametrize(("headers", "status", "detail"), [
    (None, 401, "Authentication credentials were not provided."),
    ({"Authorization": "Bearer good-token-123"}, 401, "Authentication credentials were not provided."),
    ({"Authorization": "Token invalid-abc-123"}, 401, "Invalid token."),
    ({"Authorization": "Token noperm-abc-1234"}, 403, "You do not have permission to perform this action."),
])
def test_auth(sandbox, headers, status, detail):
    response = api(sandbox, "GET", "/38/meta/", headers=headers)
    assert (response.status_code, response.json()) == (status, {"detail": detail})


@pytest.mark.parametrize("path", ["/999/meta/", "/0/meta/", "/abc/meta/", "/38/meta/5", "/38/meta/999"])
def test_unknown_page_or_meta_is_404(sandbox, path):
    response = api(sandbox, "GET", path)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_reset_restores_demo_data(sandbox):
    api(sandbox, "POST", "/40/meta/", json={"key": "k", "value_text": "v"})
    sandbox.reset()
    assert api(sandbox, "GET", "/40/meta/").json()["count"] == 0
    created = api(sandbox, "POST", "/40/meta/", json={"key": "k", "value_text": "v"}).json()
    assert created["id"] == 1530  # after the 29 demo rows and the 1500 generated ones
