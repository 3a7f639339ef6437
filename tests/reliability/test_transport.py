"""Transport guarantees not covered by ``test_core_transport.py``: ButterCMS's token never travels
in a URL (so no redirect can carry it anywhere), and every call of every hook has a timeout."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import CMSConnectionError, CMSRedirectError
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS, SandboxControl

BUTTER_PAGE = "/buttercms/v2/pages/faq/faq/"
LANDED = {"data": {"slug": "faq", "page_type": "faq", "fields": {"headline": "from the other host"}}}




def no_butter_token_in(entry: dict[str, Any]) -> None:
    """Neither ButterCMS token, nor an ``auth_token`` parameter, anywhere in a logged request."""
    assert "auth_token" not in entry["query"]
    text = json.dumps(entry)
    assert SANDBOX_TOKENS["buttercms"] not in text and SANDBOX_TOKENS["buttercms_read"] not in text


def test_butter_calls_send_the_token_only_in_the_header(sandbox, pagemeta_connections):
    hook = ButterCMSHook()
    hook.get_page("faq", "faq")
    hook.update_page("faq", "faq", fields={"headline": "Header only"})
    hook.test_connection()
    log = sandbox.requests("buttercms")
    assert [r["method"] for r in log] == ["GET", "PATCH", "GET"]
    for entry in log:
        no_butter_token_in(entry)
        assert entry["headers"]["authorization"] == "Token ***"  # it was sent, in the header (redacted in the log)
    assert log[0]["query"] == {"preview": "1"}


async def test_butter_async_read_sends_the_token_only_in_the_header(sandbox, pagemeta_connections):
    hook = ButterCMSHook()
    try:
        await hook.aget_page("faq", "faq", locale="es")
    finally:
        await hook.aclose()
    [entry] = sandbox.requests("buttercms")
    no_butter_token_in(entry)
    assert entry["query"] == {"preview": "1", "locale": "es"}


def _redirect_butter_read(sandbox: SandboxControl, other: SandboxControl) -> None:
    other.reset()
    other.fault(method="GET", path=BUTTER_PAGE, status=200, body=LANDED)
    sandbox.fault(method="GET", path=BUTTER_PAGE, status=302,
                  headers={"Location": f"{other.url}{BUTTER_PAGE}?preview=1"})


def test_butter_read_redirected_to_another_host_carries_no_token(sandbox, other_host, pagemeta_connections):
    """Not followed at all: the other host receives nothing, so no token can reach it."""
    _redirect_butter_read(sandbox, other_host)
    with pytest.raises(CMSRedirectError) as info:
        ButterCMSHook().get_page("faq", "faq")
    [first] = sandbox.requests("buttercms")
    assert first["headers"]["authorization"] == "Token ***"
    assert other_host.requests("buttercms") == []
    no_butter_token_in(first)
    assert "bc-sandbox" not in str(info.value) and "read-bc" not in str(info.value)


async def test_butter_async_read_redirected_to_another_host_carries_no_token(
    sandbox, other_host, pagemeta_connections
):
    _redirect_butter_read(sandbox, other_host)
    hook = ButterCMSHook()
    try:
        with pytest.raises(CMSRedirectError):
            await hook.aget_page("faq", "faq")
    finally:
        await hook.aclose()
    assert other_host.requests("buttercms") == []


# ---------------------------------------------------------------- every call has a timeout
TIMEOUT = 0.3
SERVER_DELAY = 2.0

READS: list[tuple[str, str, Callable[[], Any]]] = [
    ("webflow", "get_page", lambda: WebflowHook().get_page("c39e9879b4b2760cd00a3d9a")),
    ("webflow", "list_pages", lambda: list(WebflowHook().list_pages("fdd818cce66350fd1bd9cac3"))),
    ("webflow", "test_connection", lambda: WebflowHook().test_connection()),
    ("buttercms", "get_page", lambda: ButterCMSHook().get_page("faq", "faq")),
    ("hamgam", "list_page_meta", lambda: list(HamgamHook().list_page_meta(38))),
    ("hamgam", "get_page_meta", lambda: HamgamHook().get_page_meta(38, 2)),
    ("buildin", "get_page", lambda: BuildinHook().get_page("11111111-1111-4111-8111-111111111111")),
    ("buildin", "modify_page", lambda: BuildinHook().modify_page(
        "11111111-1111-4111-8111-111111111111", lambda page: None)),
]


def _short_timeouts(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in env.items():
        conn = json.loads(value)
        conn["extra"] = {**conn.get("extra", {}), "timeout": TIMEOUT, "max_retries": 0}
        monkeypatch.setenv(var, json.dumps(conn))


@pytest.mark.parametrize(("cms", "name", "call"), READS, ids=[f"{c}-{n}" for c, n, _ in READS])
def test_every_call_gives_up_at_the_connection_timeout(sandbox, pagemeta_connections, monkeypatch, cms, name, call):
    _short_timeouts(pagemeta_connections, monkeypatch)
    sandbox.fault(path=f"/{cms}/*", status=200, body={}, delay=SERVER_DELAY, count=10)
    started = time.monotonic()
    try:
        result = call()
    except CMSConnectionError as exc:
        result = exc
    elapsed = time.monotonic() - started
    if name == "test_connection":
        assert result[0] is False and f"no response within {TIMEOUT:g} s" in result[1]
    else:
        assert isinstance(result, CMSConnectionError) and f"no response within {TIMEOUT:g} s" in str(result)
    assert elapsed < SERVER_DELAY  # it did not wait for the server
    assert len(sandbox.requests(cms)) == 1


async def _async_read() -> Any:
    hook = ButterCMSHook()
    try:
        return await hook.aget_page("faq", "faq")
    finally:
        await hook.aclose()


async def test_async_read_gives_up_at_the_connection_timeout(sandbox, pagemeta_connections, monkeypatch):
    _short_timeouts(pagemeta_connections, monkeypatch)
    sandbox.fault(path="/buttercms/*", status=200, body={}, delay=SERVER_DELAY, count=10)
    started = time.monotonic()
    with pytest.raises(CMSConnectionError, match=f"no response within {TIMEOUT:g} s"):
        await _async_read()
    assert time.monotonic() - started < SERVER_DELAY
