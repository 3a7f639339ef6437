"""The "Add Connection" form as a user sees it, in Debian's Chromium against a real ``airflow api-server``.

The API test proves what the server sends; this proves the React form honours it: the token field is a
masked input under the CMS's own name, Base URL hints the default, the extras render with their labels,
and login/schema/port are gone. A screenshot per type lands in ``build/ui-screenshots/`` for review.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.ui.conftest import CHROMIUM
from tests.ui.expected_forms import FORMS, HIDDEN_STANDARD_FIELDS, ConnectionForm

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium ({CHROMIUM}) is not installed; `make test-ui` installs it with apt-get",
    ),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
expect = playwright_api.expect

# Bounds for every wait on the page; the first render pulls the UI bundle and hook metadata.
PAGE_TIMEOUT_MS = 30_000
FIELD_TIMEOUT_MS = 10_000


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context per test so one type's form state cannot leak into the next."""
    context = browser.new_context(viewport={"width": 1280, "height": 1300})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_add_connection(page: Page, base_url: str) -> Locator:
    page.goto(f"{base_url}/connections", wait_until="commit")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
    return dialog


def choose_type(page: Page, dialog: Locator, hook_name: str) -> None:
    """Pick from the react-select list by its visible option, as a user would (typing only filters)."""
    combo = dialog.get_by_role("combobox")
    combo.click()
    combo.fill(hook_name)
    page.get_by_role("option", name=hook_name, exact=True).click()
    expect(dialog.get_by_text(hook_name, exact=True)).to_be_visible()


def extra_input_selector(name: str) -> str:
    # The UI names extra inputs "element_<field>"; its labels are not always tied to them with for/id
    # (see docs/connections.md, "The connection form in the Airflow UI"), so each label is read from the
    # input's own field group instead of get_by_label.
    return f"input[name='element_{name}']"


def extra_label(page: Page, dialog: Locator, name: str) -> Locator:
    # `has=` is matched inside each group, so the inner locator must start from the page, not the dialog.
    field_input = page.locator(extra_input_selector(name))
    group = dialog.locator("[data-scope='field'][data-part='root']").filter(has=field_input)
    return group.locator("label")


def assert_standard_fields(dialog: Locator, form: ConnectionForm) -> None:
    host = dialog.get_by_label("Base URL", exact=True)
    expect(host).to_be_visible(timeout=FIELD_TIMEOUT_MS)
    expect(host).to_have_attribute("name", "host")
    expect(host).to_have_attribute("placeholder", form.host_placeholder)

    token = dialog.get_by_label(form.token_label, exact=True)
    expect(token).to_be_visible()
    expect(token).to_have_attribute("name", "password")
    expect(token).to_have_attribute("type", "password")
    placeholder = token.get_attribute("placeholder")
    assert form.password_placeholder_matches(placeholder), placeholder

    # The form is rendered by now (host is visible), so a zero count means hidden, not "not yet drawn".
    for name in HIDDEN_STANDARD_FIELDS:
        expect(dialog.locator(f"[name='{name}']")).to_have_count(0)
    for label in ("Login", "Schema", "Port", "Host", "Password"):
        expect(dialog.get_by_label(label, exact=True)).to_have_count(0)


def assert_extra_fields(page: Page, dialog: Locator, form: ConnectionForm) -> None:
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    for name, expected in form.extras.items():
        field_input = dialog.locator(extra_input_selector(name))
        expect(field_input).to_be_visible(timeout=FIELD_TIMEOUT_MS)
        expect(extra_label(page, dialog, name)).to_have_text(expected.label)
        expect(field_input).to_have_value("" if expected.default is None else str(expected.default))
        if expected.sensitive:
            expect(field_input).to_have_attribute("type", "password")
        else:
            expect(field_input).not_to_have_attribute("type", "password")
    rendered = {n.removeprefix("element_") for n in dialog.locator("input[name^='element_']").evaluate_all(
        "inputs => inputs.map(i => i.name)")}
    assert rendered == set(form.extras)


@pytest.mark.parametrize("conn_type", sorted(FORMS))
def test_add_connection_form(
    page: Page, api_server: str, screenshots: Path, conn_type: str
) -> None:
    form = FORMS[conn_type]
    dialog = open_add_connection(page, api_server)
    choose_type(page, dialog, form.hook_name)
    try:
        assert_standard_fields(dialog, form)
        page.screenshot(path=str(screenshots / f"{conn_type}.png"))
        assert_extra_fields(page, dialog, form)
        page.screenshot(path=str(screenshots / f"{conn_type}-extras.png"))
    except Exception:
        # The picture of a wrong form is the quickest diagnosis.
        page.screenshot(path=str(screenshots / f"{conn_type}-failed.png"))
        raise


def test_generic_type_still_shows_login_schema_port(page: Page, api_server: str) -> None:
    """Control: the selectors that prove our fields hidden do find them on a type that keeps them."""
    dialog = open_add_connection(page, api_server)
    choose_type(page, dialog, "Generic")
    for name in HIDDEN_STANDARD_FIELDS:
        expect(dialog.locator(f"input[name='{name}']")).to_be_visible(timeout=FIELD_TIMEOUT_MS)


def test_saved_form_extras_are_accepted_by_the_hook_config(page: Page, api_server: str, ui_airflow_home: Path) -> None:
    """Round trip: what the form stores must be what the hooks parse (bare keys, typed values, secret kept)."""
    from airflow_provider_pagemeta.core.config import parse_extras

    conn_id = "ui_form_buttercms"
    dialog = open_add_connection(page, api_server)
    dialog.locator("input[name='connection_id']").fill(conn_id)
    choose_type(page, dialog, "ButterCMS")
    dialog.get_by_label("Write API token", exact=True).fill("ui-write-token")
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    dialog.locator(extra_input_selector("read_token")).fill("ui-read-token")
    dialog.locator(extra_input_selector("timeout")).fill("12")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # The REST API masks secrets in its answer, so read the row itself from the server's metadata DB.
    stored = stored_connection(ui_airflow_home, conn_id)
    assert stored.conn_type == "buttercms"
    assert stored.password == "ui-write-token"
    extra = stored.extra_dejson
    assert extra["read_token"] == "ui-read-token"
    parsed = parse_extras("buttercms", extra, {"read_token": None})
    assert parsed == {"timeout": 12.0, "max_retries": 5, "verify": True, "rate_limit_window": 60.0,
                      "read_token": "ui-read-token"}


@dataclass
class StoredConnection:
    conn_type: str
    password: str | None
    extra_dejson: dict[str, Any]


def stored_connection(home: Path, conn_id: str) -> StoredConnection:
    """Read the row the server saved in its own Airflow home, decrypted with the session's Fernet key
    (the REST API would mask the secrets)."""
    from cryptography.fernet import Fernet

    fernet = Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"].encode())
    db = sqlite3.connect(home / "airflow.db", timeout=30)
    try:
        row = db.execute(
            "SELECT conn_type, password, extra, is_encrypted, is_extra_encrypted FROM connection WHERE conn_id = ?",
            (conn_id,),
        ).fetchone()
    finally:
        db.close()
    assert row is not None, f"{conn_id} was not saved"
    conn_type, password, extra, is_encrypted, is_extra_encrypted = row

    def plain(value: str | None, encrypted: bool) -> str | None:
        return fernet.decrypt(value.encode()).decode() if value and encrypted else value

    extras = json.loads(plain(extra, is_extra_encrypted) or "{}")
    return StoredConnection(conn_type, plain(password, is_encrypted), extras)
