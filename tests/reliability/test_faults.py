"""The fault matrix: every CMS's update call against every transient fault, over real sockets.

Each cell injects one fault through the sandbox (``/_sandbox/faults``) in front of the real
emulator. ``transient`` applies it once: the hook must retry and the update must land (the return
value shows it, the sandbox log shows exactly two attempts, the recorded wait honours
``Retry-After``). ``persistent`` applies it to every attempt: the hook must give up after exactly
``1 + max_retries`` attempts with the contract's exception, whose message names the CMS, the call
and the status. Waits are recorded by the ``sleeps`` fixture and never spent; only the
slow-response cells spend real time, because a timeout cannot be faked over a real socket.

The table is ``FAULTS`` x ``CALLS``; docs/reliability.md ("Fault matrix") shows it as a Markdown table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import (
    CMSConnectionError,
    CMSError,
    CMSInvalidResponseError,
    CMSRateLimitError,
    CMSServerError,
)
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.sandbox.control import SandboxControl

MAX_RETRIES = 2
TIMEOUT = 5.0
#: The slow cells: the client gives up after SLOW_TIMEOUT, the sandbox would answer after SLOW_DELAY.
SLOW_TIMEOUT = 0.3
SLOW_DELAY = 1.2
RETRY_AFTER = 7.0
#: First backoff step (base 1 s, factor 2, equal jitter) and the second one.
FIRST_BACKOFF = (0.5, 1.0)
BACKOFFS = [(0.5, 1.0), (1.0, 2.0)]
HTML_PAGE = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
             "</h1></center><hr><center>nginx</center>" + "<!-- padding -->" * 200 + "</body></html>")

TITLE = "Fault matrix title"
WEBFLOW_PAGE = "c39e9879b4b2760cd00a3d9a"  # demo site, "about"
BUILDIN_PAGE = "11111111-1111-4111-8111-111111111111"


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: what the sandbox answers, and what the hook must end with."""

    name: str
    spec: dict[str, Any]
    error: type[CMSError]
    status: int | None
    #: Text the final error's message must contain (beyond CMS, call and status).
    says: str = ""
    retry_after: float | None = None
    slow: bool = False


FAULTS = [
    Fault("429 + Retry-After", {"status": 429, "headers": {"Retry-After": "7"},
                                "body": {"message": "Too Many Requests"}}, CMSRateLimitError, 429,
          retry_after=RETRY_AFTER),
    Fault("429 no Retry-After", {"status": 429, "body": {"message": "Too Many Requests"}}, CMSRateLimitError, 429),
    Fault("500", {"status": 500, "body": {"message": "Internal Server Error"}}, CMSServerError, 500),
    Fault("502", {"status": 502, "body": {"message": "Bad Gateway"}}, CMSServerError, 502),
    Fault("503", {"status": 503, "body": {"message": "Service Unavailable"}}, CMSServerError, 503),
    Fault("504", {"status": 504, "body": {"message": "Gateway Timeout"}}, CMSServerError, 504),
    # The sandbox would answer 503 after SLOW_DELAY, but never reaches the emulator: the client must
    # have given up long before, and the update must then come from the retry alone.
    Fault("slow response", {"status": 503, "delay": SLOW_DELAY}, CMSConnectionError, None,
          says=f"no response within {SLOW_TIMEOUT:g} s", slow=True),
    Fault("dropped connection", {"drop": True}, CMSConnectionError, None, says="connection failed"),
    Fault("HTML error page", {"status": 502, "body": HTML_PAGE, "headers": {"Content-Type": "text/html"}},
          CMSServerError, 502, says="502 Bad Gateway"),
    Fault("malformed JSON 200", {"status": 200, "body": '{"id": "x", "title": ',
                                 "headers": {"Content-Type": "application/json"}},
          CMSInvalidResponseError, 200, says="not valid JSON"),
    Fault("empty 200", {"status": 200, "body": ""}, CMSInvalidResponseError, 200, says="empty"),
]


@dataclass(frozen=True)
class Call:
    """One CMS's update call: how to make it, where it goes, how to see that it landed."""

    cms: str
    call: str
    method: str
    path: str
    invoke: Callable[[Any], Any]
    landed: Callable[[Any], bool]
    hook_class: type = field(default=WebflowHook)


def _buildin_title(page: dict[str, Any]) -> str:
    return "".join(item["plain_text"] for item in page["properties"]["title"]["title"])


CALLS = [
    Call("webflow", "update_page_settings", "PUT", f"/webflow/v2/pages/{WEBFLOW_PAGE}",
         lambda h: h.update_page_settings(WEBFLOW_PAGE, seo={"title": TITLE}),
         lambda result: result["seo"]["title"] == TITLE, WebflowHook),
    Call("buttercms", "update_page", "PATCH", "/buttercms/v2/pages/faq/faq/",
         lambda h: h.update_page("faq", "faq", fields={"headline": TITLE}),
         lambda result: result == {"status": "pending"}, ButterCMSHook),
    Call("hamgam", "update_page_meta", "PATCH", "/hamgam/api/pages/base/38/meta/2",
         lambda h: h.update_page_meta(38, 2, key="contact_us_title", value_text=TITLE),
         lambda result: result["value_text"] == TITLE, HamgamHook),
    Call("buildin", "update_page", "PATCH", f"/buildin/v2/pages/{BUILDIN_PAGE}",
         lambda h: h.update_page(BUILDIN_PAGE, properties={
             "title": {"title": [{"type": "text", "text": {"content": TITLE}}]}}),
         lambda result: _buildin_title(result) == TITLE, BuildinHook),
]


def make_hook(call: Call, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sleeps: Any, timeout: float) -> Any:
    """The CMS's hook on its default connection, with a small retry budget and timeout."""
    var = f"AIRFLOW_CONN_{call.cms.upper()}_DEFAULT"
    conn = json.loads(env[var])
    conn["extra"] = {**conn.get("extra", {}), "max_retries": MAX_RETRIES, "timeout": timeout}
    monkeypatch.setenv(var, json.dumps(conn))
    return call.hook_class(sleep=sleeps, asleep=sleeps.asleep)


def attempts(sandbox: SandboxControl, call: Call) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests(call.cms) if r["method"] == call.method and r["path"] == call.path]


def assert_one_backoff_step(waits: list[float], fault: Fault, step: int = 0) -> None:
    if fault.retry_after is not None:
        assert waits[step] == fault.retry_after  # the server's Retry-After, honoured exactly
    else:
        low, high = BACKOFFS[step]
        assert low <= waits[step] <= high  # exponential backoff with jitter


CELLS = [(f, c) for f in FAULTS for c in CALLS]
CELL_IDS = [f"{c.cms}-{f.name.replace(' ', '_')}" for f, c in CELLS]


@pytest.mark.parametrize(("fault", "call"), CELLS, ids=CELL_IDS)
def test_transient_fault_is_retried_and_the_update_lands(
    sandbox, pagemeta_connections, monkeypatch, sleeps, fault, call
):
    sandbox.fault(method=call.method, path=call.path, count=1, **fault.spec)
    hook = make_hook(call, pagemeta_connections, monkeypatch, sleeps, SLOW_TIMEOUT if fault.slow else TIMEOUT)
    result = call.invoke(hook)
    assert call.landed(result)
    sent = attempts(sandbox, call)
    assert len(sent) == 2 == hook.request_count
    assert sent[0].get("fault") is True and "fault" not in sent[1]
    assert sent[1]["status"] in (200, 202)  # the retry reached the emulator
    assert len(sleeps.calls) == 1
    assert_one_backoff_step(sleeps.calls, fault)


@pytest.mark.parametrize(("fault", "call"), CELLS, ids=CELL_IDS)
def test_persistent_fault_raises_the_contract_error_after_all_attempts(
    sandbox, pagemeta_connections, monkeypatch, sleeps, fault, call
):
    sandbox.fault(method=call.method, path=call.path, count=100, **fault.spec)
    hook = make_hook(call, pagemeta_connections, monkeypatch, sleeps, SLOW_TIMEOUT if fault.slow else TIMEOUT)
    with pytest.raises(fault.error) as info:
        call.invoke(hook)
    err = info.value
    assert type(err) is fault.error
    assert len(attempts(sandbox, call)) == 1 + MAX_RETRIES == hook.request_count
    assert len(sandbox.writes(call.cms)) == 1 + MAX_RETRIES  # nothing else was sent
    assert (err.cms, err.call, err.method, err.status_code) == (call.cms, call.call, call.method, fault.status)
    text = str(err)
    assert text.startswith(f"{call.cms} {call.call} ({call.method} {call.path})")
    if fault.status is not None:
        assert f"HTTP {fault.status}" in text
    assert fault.says in text
    assert len(err.message) <= 310  # an HTML page is cut to a snippet, not pasted whole
    assert len(sleeps.calls) == MAX_RETRIES
    for step in range(MAX_RETRIES):
        assert_one_backoff_step(sleeps.calls, fault, step)
