"""HamgamHook over a real socket against the sandbox: every method, paging, errors, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSNotFoundError,
    CMSServerError,
    CMSValidationError,
)
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS, SandboxControl

pytestmark = pytest.mark.compat

TOKEN = SANDBOX_TOKENS["hamgam"]
BASE = "/hamgam/api/pages/base"


@pytest.fixture
def hook(pagemeta_connections: dict[str, str], sleeps: Any) -> HamgamHook:
    return HamgamHook(sleep=sleeps)


def custom_hook(monkeypatch: pytest.MonkeyPatch, conn: dict[str, Any]) -> HamgamHook:
    monkeypatch.setenv("AIRFLOW_CONN_HAMGAM_CUSTOM", json.dumps({"conn_type": "hamgam", **conn}))
    return HamgamHook(hamgam_conn_id="hamgam_custom")


def calls(sandbox: SandboxControl) -> list[tuple[str, str, dict[str, str]]]:
    return [(r["method"], r["path"], r["query"]) for r in sandbox.requests("hamgam")]


# ---------------------------------------------------------------------- list
def test_list_follows_next_across_pages_in_id_order(sandbox, hook):
    metas = list(hook.list_page_meta(39))
    assert [m["key"] for m in metas] == [f"spec_{n:02d}" for n in range(1, 26)]
    assert [m["id"] for m in metas] == sorted(m["id"] for m in metas)
    path = f"{BASE}/39/meta/"
    assert calls(sandbox) == [
        ("GET", path, {"ordering": "id"}),
        ("GET", path, {"limit": "10", "offset": "10", "ordering": "id"}),
        ("GET", path, {"limit": "10", "offset": "20", "ordering": "id"}),
    ]
    assert all(r["headers"]["authorization"] == "Token ***" for r in sandbox.requests("hamgam"))


def test_list_page_size_and_digit_string_page_id(sandbox, hook):
    assert len(list(hook.list_page_meta("39", page_size=20))) == 25
    assert [r["query"].get("offset") for r in sandbox.requests("hamgam")] == [None, "20"]
    assert list(hook.list_page_meta(40)) == []


def fake_first_page(sandbox: SandboxControl, next_url: str) -> None:
    """The first listing page, answered with a ``next`` that points somewhere else."""
    results = [{"id": n, "key": f"k{n}", "value_text": "v", "value_file_data": None,
                "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": "2025-01-01T00:00:00.000000Z"}
               for n in (1, 2)]
    sandbox.fault(method="GET", path=f"{BASE}/38/meta/", status=200,
                  body={"count": 4, "next": next_url, "previous": None, "results": results})


@pytest.mark.parametrize("next_url", [
    "http://attacker.example/hamgam/api/pages/base/38/meta/?limit=2&offset=2",  # another host
    "https://{host}/hamgam/api/pages/base/38/meta/?limit=2&offset=2",  # another scheme
    "http://127.0.0.1:1/hamgam/api/pages/base/38/meta/?limit=2&offset=2",  # another port
    "http://{host}/api/pages/base/38/meta/?limit=2&offset=2",  # a proxy dropped the prefix
])
def test_list_never_follows_next_off_the_connection_and_counts_offset_itself(sandbox, hook, next_url):
    fake_first_page(sandbox, next_url.format(host=sandbox.url.split("://")[1]))
    metas = list(hook.list_page_meta(38))
    assert [m["id"] for m in metas] == [1, 2, 3, 4]  # two faked, then the real rows from offset 2
    path = f"{BASE}/38/meta/"
    assert calls(sandbox) == [("GET", path, {"ordering": "id"}), ("GET", path, {"ordering": "id", "offset": "2"})]


def test_list_refuses_a_next_link_that_does_not_advance(sandbox, hook):
    fake_first_page(sandbox, f"{sandbox.cms_url('hamgam')}/api/pages/base/38/meta/?ordering=id")
    with pytest.raises(CMSServerError, match="paging does not advance"):
        list(hook.list_page_meta(38))
    assert len(sandbox.requests("hamgam")) == 1


# ---------------------------------------------------------------------- get / create / update
def test_get_page_meta_returns_the_file_object(sandbox, hook):
    meta = hook.get_page_meta(38, 1)
    assert meta["key"] == "image_top" and meta["value_text"] == ""
    assert meta["value_file_data"]["id"] == 1 and meta["value_file_data"]["human_readable_size"] == "2.70 KB"
    assert calls(sandbox) == [("GET", f"{BASE}/38/meta/1", {})]


def test_create_text_and_file_meta(sandbox, hook):
    text_meta = hook.create_page_meta(40, key="og_title", value_text="Hello")
    file_meta = hook.create_page_meta(40, key="og_image", value_file=2)
    assert (text_meta["value_text"], text_meta["value_file_data"]) == ("Hello", None)
    assert file_meta["value_file_data"]["id"] == 2 and file_meta["value_text"] == ""
    writes = sandbox.writes("hamgam")
    assert [(w["method"], w["path"], w["body"], w["status"]) for w in writes] == [
        ("POST", f"{BASE}/40/meta/", {"key": "og_title", "value_text": "Hello"}, 201),
        ("POST", f"{BASE}/40/meta/", {"key": "og_image", "value_file": 2}, 201),
    ]
    assert [m["key"] for m in hook.list_page_meta(40)] == ["og_title", "og_image"]


def test_update_switches_text_to_file_with_null_in_same_request(sandbox, hook):
    meta = hook.update_page_meta(38, 2, key="contact_us_title", value_file=4)
    assert meta["value_text"] is None and meta["value_file_data"]["id"] == 4
    [write] = sandbox.writes("hamgam")
    assert (write["method"], write["path"]) == ("PATCH", f"{BASE}/38/meta/2")
    assert write["body"] == {"key": "contact_us_title", "value_text": None, "value_file": 4}
    back = hook.update_page_meta(38, 2, key="contact_us_title", value_text="write to us")
    assert back["value_text"] == "write to us" and back["value_file_data"] is None
    assert sandbox.writes("hamgam")[-1]["body"] == {"key": "contact_us_title", "value_text": "write to us",
                                                    "value_file": None}


def test_duplicate_key_is_a_validation_error_with_the_drf_message(sandbox, hook):
    with pytest.raises(CMSValidationError) as info:
        hook.create_page_meta(38, key="image_top", value_text="x")
    exc = info.value
    assert exc.status_code == 400 and exc.argument is None
    assert exc.message == "key: page meta with this key already exists."
    assert exc.details == {"key": ["page meta with this key already exists."]}
    assert TOKEN not in str(exc)


def test_neither_value_from_the_server_is_a_validation_error(sandbox, hook):
    # "" is how Hamgam stores "no text" next to a file, so a text meta cannot be emptied.
    with pytest.raises(CMSValidationError) as info:
        hook.update_page_meta(38, 2, key="contact_us_title", value_text="")
    assert info.value.status_code == 400
    assert info.value.message == "non_field_errors: Either one of value_file or value_text must be provided."


def test_both_values_from_the_server_is_a_validation_error(sandbox, hook):
    # The hook never sends both, so send the body through the hook's own transport.
    with pytest.raises(CMSValidationError) as info:
        hook.request_json("POST", "/api/pages/base/38/meta/", call="create_page_meta",
                          json_body={"key": "both", "value_text": "a", "value_file": 1})
    assert info.value.status_code == 400
    assert info.value.message.startswith("non_field_errors: Only one of value_text or value_file can be set")


def test_unknown_file_page_and_meta(sandbox, hook):
    with pytest.raises(CMSValidationError) as info:
        hook.update_page_meta(38, 2, key="contact_us_title", value_file=99)
    assert info.value.details == {"value_file": ['Invalid pk "99" - object does not exist.']}
    with pytest.raises(CMSNotFoundError):
        list(hook.list_page_meta(999))
    with pytest.raises(CMSNotFoundError):
        hook.update_page_meta(38, 5, key="spec_01", value_text="x")  # meta 5 belongs to page 39
    assert [r["status"] for r in sandbox.requests("hamgam")] == [400, 404, 404]


@pytest.mark.parametrize(("token", "status", "message"), [
    ("invalid-token-123456", 401, "Invalid token."),
    ("noperm-token-1234567", 403, "You do not have permission to perform this action."),
])
def test_auth_errors(sandbox, monkeypatch, token, status, message):
    hook = custom_hook(monkeypatch, {"host": sandbox.cms_url("hamgam"), "password": token})
    with pytest.raises(CMSAuthError) as info:
        hook.create_page_meta(38, key="x", value_text="y")
    assert (info.value.status_code, info.value.message) == (status, message)
    assert token not in str(info.value)
    ok, text = hook.test_connection()
    assert ok is False and message in text and token not in text


# ---------------------------------------------------------------------- bad input
BAD_CALLS = [
    ("page_id", lambda h: h.list_page_meta(0)),
    ("page_id", lambda h: h.list_page_meta(-3)),
    ("page_id", lambda h: h.list_page_meta("abc")),
    ("page_id", lambda h: h.list_page_meta(True)),
    ("page_size", lambda h: h.list_page_meta(38, page_size=0)),
    ("page_id", lambda h: h.get_page_meta(0, 1)),
    ("meta_id", lambda h: h.get_page_meta(38, "1/../2")),
    ("page_id", lambda h: h.create_page_meta(-1, key="k", value_text="v")),
    ("key", lambda h: h.create_page_meta(38, key="", value_text="v")),
    ("key", lambda h: h.create_page_meta(38, key=None, value_text="v")),
    ("value_file", lambda h: h.create_page_meta(38, key="k", value_file="4")),
    ("value_file", lambda h: h.create_page_meta(38, key="k", value_file=4.0)),
    ("value_file", lambda h: h.create_page_meta(38, key="k", value_file=0)),
    ("value_file", lambda h: h.create_page_meta(38, key="k", value_text="v", value_file=4)),
    ("value_text", lambda h: h.create_page_meta(38, key="k")),
    ("value_text", lambda h: h.create_page_meta(38, key="k", value_text=5)),
    ("meta_id", lambda h: h.update_page_meta(38, 0, key="k", value_text="v")),
    ("key", lambda h: h.update_page_meta(38, 2, key="  ", value_text="v")),
    ("value_text", lambda h: h.update_page_meta(38, 2, key="k")),
    ("value_text", lambda h: h.update_page_meta(38, 2, key="k", value_text=None, value_file=None)),
    ("value_file", lambda h: h.update_page_meta(38, 2, key="k", value_text="v", value_file=4)),
    ("value_file", lambda h: h.update_page_meta(38, 2, key="k", value_file=True)),
    ("text", lambda h: h.set_page_meta(38)),
    ("text", lambda h: h.set_page_meta(38, text=["a"])),
    ("text", lambda h: h.set_page_meta(38, text={"": "v"})),
    ("files", lambda h: h.set_page_meta(38, text={"a": "v"}, files={"a": 1})),
    ("files['og']", lambda h: h.set_page_meta(38, files={"og": "2"})),
    ("text['t']", lambda h: h.set_page_meta(38, text={"t": 3})),
    ("page_id", lambda h: h.set_page_meta(0, text={"t": "v"})),
]


@pytest.mark.parametrize(("argument", "call"), BAD_CALLS)
def test_bad_input_fails_before_any_request(sandbox, hook, argument, call):
    with pytest.raises(CMSValidationError) as info:
        call(hook)
    assert info.value.argument == argument
    assert argument.split("[")[0] in str(info.value)
    assert sandbox.requests("hamgam") == []


# ---------------------------------------------------------------------- set_page_meta
def test_set_page_meta_sends_only_the_needed_requests(sandbox, hook):
    result = hook.set_page_meta(
        39,
        text={"spec_01": "value 1", "spec_02": "changed", "new_text": "fresh"},
        files={"spec_25": 2, "og_image": 3},
    )
    assert result == {"created": ["new_text", "og_image"], "updated": ["spec_02", "spec_25"],
                      "unchanged": ["spec_01"]}
    log = sandbox.requests("hamgam")
    assert [r["method"] for r in log] == ["GET", "GET", "GET", "PATCH", "POST", "PATCH", "POST"]
    ids = {m["key"]: m["id"] for m in hook.list_page_meta(39)}
    assert [(r["path"], r["body"]) for r in log[3:]] == [
        (f"{BASE}/39/meta/{ids['spec_02']}", {"key": "spec_02", "value_text": "changed", "value_file": None}),
        (f"{BASE}/39/meta/", {"key": "new_text", "value_text": "fresh"}),
        (f"{BASE}/39/meta/{ids['spec_25']}", {"key": "spec_25", "value_text": None, "value_file": 2}),
        (f"{BASE}/39/meta/", {"key": "og_image", "value_file": 3}),
    ]
    assert all(r["status"] in (200, 201) for r in log)

    sandbox.clear_requests()
    again = hook.set_page_meta(
        39,
        text={"spec_01": "value 1", "spec_02": "changed", "new_text": "fresh"},
        files={"spec_25": 2, "og_image": 3},
    )
    assert again == {"created": [], "updated": [],
                     "unchanged": ["spec_01", "spec_02", "new_text", "spec_25", "og_image"]}
    assert sandbox.writes("hamgam") == [] and len(sandbox.requests("hamgam")) == 3


def test_file_meta_with_empty_text_counts_as_equal(sandbox, hook):
    # The demo's image_top is the documented file meta carrying value_text "".
    assert hook.set_page_meta(38, files={"image_top": 1}) == {"created": [], "updated": [],
                                                               "unchanged": ["image_top"]}
    assert sandbox.writes("hamgam") == []


def test_file_meta_with_real_text_is_cleaned_up(sandbox, hook):
    # A file meta that also carries text is not "equal": the PATCH nulls the text.
    hook.request_json("PATCH", "/api/pages/base/38/meta/1", call="seed",
                      json_body={"key": "image_top", "value_text": "", "value_file": 1})
    sandbox.clear_requests()
    assert hook.set_page_meta(38, files={"image_top": 1})["unchanged"] == ["image_top"]
    assert hook.set_page_meta(38, files={"image_top": 2})["updated"] == ["image_top"]
    assert sandbox.writes("hamgam")[-1]["body"] == {"key": "image_top", "value_text": None, "value_file": 2}


# ---------------------------------------------------------------------- connection
def test_connection_test_succeeds_with_one_cheap_read(sandbox, hook):
    ok, message = hook.test_connection()
    assert ok is True and "Hamgam" in message and TOKEN not in message
    assert calls(sandbox) == [("GET", f"{BASE}/0/meta/", {"limit": "1"})]


def test_connection_without_host_names_host_before_any_request(sandbox, monkeypatch):
    hook = custom_hook(monkeypatch, {"password": TOKEN})
    with pytest.raises(CMSValidationError) as info:
        list(hook.list_page_meta(38))
    assert info.value.argument == "host"
    ok, message = hook.test_connection()
    assert ok is False and "host" in message
    assert sandbox.requests() == []
