"""The connection forms as the API server describes them to the UI (``GET /ui/connections/hook_meta``).

This is the fast half of the form check (the browser half is ``tests/ui``): the UI renders exactly what
this endpoint returns, so a declarative key that Airflow drops or misreads shows up here without a browser.
The real API app (``create_app``) is driven in-process, so the route, its auth dependency and the
response model's redaction all run as in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.expected_forms import FORMS, HIDDEN_STANDARD_FIELDS, ConnectionForm

# fastapi's TestClient warns that starlette wants httpx2; irrelevant to what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

# The API's names for the standard fields the UI may hide; it calls "schema" ``url_schema``.
API_FIELD_NAMES = {"login": "login", "schema": "url_schema", "port": "port"}


@pytest.fixture(scope="module")
def hook_meta(airflow_db: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """One request to the endpoint for the whole module: building the app costs seconds, the answer is static.

    All-admins simple auth lets the request through without a login; the database is needed because
    the auth check looks the (auto-issued) token up in the revoked-token table.
    """
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        with TestClient(create_app(apps="core")) as client:
            response = client.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    yield {meta["connection_type"]: meta for meta in response.json()}


@pytest.fixture(params=sorted(FORMS))
def form(request: pytest.FixtureRequest) -> ConnectionForm:
    return FORMS[request.param]


@pytest.fixture
def meta(hook_meta: dict[str, dict[str, Any]], form: ConnectionForm) -> dict[str, Any]:
    assert form.conn_type in hook_meta, f"{form.conn_type} missing from {sorted(hook_meta)}"
    return hook_meta[form.conn_type]


def test_hook_name_and_class(meta: dict[str, Any], form: ConnectionForm) -> None:
    assert meta["hook_name"] == form.hook_name
    assert meta["hook_class_name"] == form.hook_class


def test_token_field_is_relabelled_and_hinted(meta: dict[str, Any], form: ConnectionForm) -> None:
    password = meta["standard_fields"]["password"]
    assert password["hidden"] is False
    assert password["title"] == form.token_label
    assert form.password_placeholder_matches(password["placeholder"]), password["placeholder"]


def test_host_is_base_url_with_default_as_placeholder(meta: dict[str, Any], form: ConnectionForm) -> None:
    assert meta["standard_fields"]["host"] == {
        "hidden": False, "title": "Base URL", "placeholder": form.host_placeholder,
    }


def test_login_schema_and_port_are_hidden(meta: dict[str, Any]) -> None:
    standard = meta["standard_fields"]
    assert {name: standard[API_FIELD_NAMES[name]]["hidden"] for name in HIDDEN_STANDARD_FIELDS} == {
        name: True for name in HIDDEN_STANDARD_FIELDS
    }
    # Description is Airflow's own field and must stay untouched by our behaviour.
    assert standard["description"] is None


def test_extra_fields_labels_defaults_and_sensitivity(meta: dict[str, Any], form: ConnectionForm) -> None:
    extras = meta["extra_fields"]
    assert set(extras) == set(form.extras)
    for name, expected in form.extras.items():
        spec = extras[name]
        assert spec["schema"]["title"] == expected.label, name
        assert spec["description"], f"{name} has no help text"
        assert spec["value"] == expected.default, name
        is_sensitive = spec["schema"].get("format") == "password"
        assert is_sensitive is expected.sensitive, name


def test_only_buttercms_has_a_read_token(hook_meta: dict[str, dict[str, Any]]) -> None:
    with_read_token = {t for t in FORMS if "read_token" in (hook_meta[t]["extra_fields"] or {})}
    assert with_read_token == {"buttercms"}
