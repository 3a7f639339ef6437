"""The shared HTTP core over a real socket: retries, pacing, error mapping, redaction.

A neutral probe hook talks to a path no emulator serves; every response here is injected through
``/_sandbox/faults`` (a 200 fault with a body stands in for the CMS's success), so these tests
check the core alone, whatever the emulators do.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, ClassVar

import pytest

from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.pacing import LATENCY_ALLOWANCE
from airflow_provider_pagemeta.core.paths import segment
from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSConnectionError,
    CMSInvalidResponseError,
    CMSRateLimitError,
    CMSServerError,
    CMSValidationError,
)
from airflow_provider_pagemeta.sandbox.control import SandboxControl

pytestmark = pytest.mark.compat

TOKEN = "cp-7c1d9e3f5a2b4c6d8e0f1a2b3c4d5e6f"
PATH = "/webflow/core-probe/thing"
OK = {"status": 200, "body": {"ok": True}}


class ProbeHook(PageMetaHook):
    cms: ClassVar[str] = "probe"
    auth_scheme: ClassVar[str] = "Bearer"


def make_hook(
    sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch, sleeps: Any = None, **extra: Any
) -> ProbeHook:
    conn = {"conn_type": "probe", "host": f"{sandbox.url}/webflow", "password": TOKEN,
            "extra": {"max_retries": 2, "timeout": 5, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_CORE_PROBE", json.dumps(conn))
    if sleeps is None:
        return ProbeHook("core_probe")
    return ProbeHook("core_probe", sleep=sleeps, asleep=sleeps.asleep)


def get(hook: ProbeHook) -> Any:
    return hook.request_json("GET", "/core-probe/thing", call="get_thing")


def test_success_sends_bearer_token_and_returns_json(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    assert get(hook) == {"ok": True}
    [entry] = sandbox.requests()
    assert entry["method"] == "GET" and entry["path"] == PATH
    assert entry["headers"]["authorization"] == "Bearer ***"  # the log redacts the token
    assert entry["headers"]["user-agent"].startswith("airflow-provider-pagemeta/")
    assert sleeps.calls == []


def test_429_with_retry_after_is_retried_after_that_wait(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=429, headers={"Retry-After": "7"},
                  body={"code": "too_many_requests", "message": "Too Many Requests"})
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    assert get(hook) == {"ok": True}
    assert [r["status"] for r in sandbox.requests()] == [429, 200]
    assert sleeps.calls == [7.0]


def test_retry_after_http_date_and_cap(sandbox, monkeypatch, sleeps):
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    sandbox.fault(path=PATH, status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    sandbox.fault(path=PATH, status=429, headers={"Retry-After": "120"})
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    assert get(hook) == {"ok": True}
    assert 25 <= sleeps.calls[0] <= 30
    assert sleeps.calls[1] == 120.0  # the cap itself is still waited for (a longer wait is not: see test_hardening)


def test_503_then_200_succeeds_with_backoff(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=503, body="<html><body>Service Unavailable</body></html>")
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    assert get(hook) == {"ok": True}
    assert [r["status"] for r in sandbox.requests()] == [503, 200]
    assert len(sleeps.calls) == 1 and 0.5 <= sleeps.calls[0] <= 1.0  # first backoff step, jittered


def test_400_is_sent_exactly_once(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=400, count=5, body={
        "code": "validation_error", "message": "Validation Error: bad slug", "externalReference": None,
        "details": [{"param": "slug"}]})
    hook = make_hook(sandbox, monkeypatch, sleeps)
    with pytest.raises(CMSValidationError) as info:
        get(hook)
    err = info.value
    assert len(sandbox.requests()) == 1
    assert (err.status_code, err.code, err.message) == (400, "validation_error", "Validation Error: bad slug")
    assert err.details == [{"param": "slug"}]
    assert err.method == "GET" and err.path == PATH and err.call == "get_thing"
    assert str(err) == f"probe get_thing (GET {PATH}) -> HTTP 400 [validation_error]: Validation Error: bad slug"
    assert sleeps.calls == []


def test_persistent_500_gives_server_error_after_all_attempts(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=500, count=10, body={"code": "internal_error",
                                                         "message": "An Internal Error occurred"})
    hook = make_hook(sandbox, monkeypatch, sleeps, max_retries=3)
    with pytest.raises(CMSServerError) as info:
        get(hook)
    assert len(sandbox.requests()) == 1 + 3
    assert info.value.status_code == 500 and info.value.code == "internal_error"
    assert len(sleeps.calls) == 3
    assert hook.request_count == 4


def test_persistent_429_gives_rate_limit_error(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=429, count=10, body={"detail": "API Calls limit reached."})
    hook = make_hook(sandbox, monkeypatch, sleeps, max_retries=1)
    with pytest.raises(CMSRateLimitError) as info:
        get(hook)
    assert info.value.message == "API Calls limit reached."
    assert len(sandbox.requests()) == 2


def test_slow_response_is_retried_then_connection_error(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, delay=1.5, count=2, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps, timeout=0.3, max_retries=1)
    with pytest.raises(CMSConnectionError) as info:
        get(hook)
    assert "no response within 0.3 s" in info.value.message
    assert info.value.status_code is None
    assert len(sandbox.requests()) == 2


def test_slow_response_then_fast_succeeds(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, delay=1.5, **OK)
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps, timeout=0.3)
    assert get(hook) == {"ok": True}
    assert len(sandbox.requests()) == 2


def test_dropped_connection_is_retried(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, drop=True)
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    assert get(hook) == {"ok": True}
    assert [r["status"] for r in sandbox.requests()] == [None, 200]


def test_ratelimit_remaining_zero_delays_next_request(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=200, body={"n": 1},
                  headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0"})
    sandbox.fault(path=PATH, status=200, body={"n": 2},
                  headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59"})
    hook = make_hook(sandbox, monkeypatch, sleeps, rate_limit_window=12)
    assert get(hook) == {"n": 1}
    assert sleeps.calls == []
    assert get(hook) == {"n": 2}
    # We had sent fewer than Limit requests ourselves, so the whole window must pass.
    assert len(sleeps.calls) == 1 and 11.5 <= sleeps.calls[0] <= 12.0 * 1.01 + LATENCY_ALLOWANCE
    assert [r["status"] for r in sandbox.requests()] == [200, 200]  # no 429 provoked


def test_empty_and_malformed_success_bodies_are_retried(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=200, body="")
    sandbox.fault(path=PATH, status=200, body="{not json")
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    assert get(hook) == {"ok": True}
    assert len(sandbox.requests()) == 3 and len(sleeps.calls) == 2


def test_persistently_unusable_body_is_an_invalid_response_error(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=200, body="{not json", count=10)
    hook = make_hook(sandbox, monkeypatch, sleeps, max_retries=2)
    with pytest.raises(CMSInvalidResponseError, match="not valid JSON") as info:
        get(hook)
    assert isinstance(info.value, CMSServerError) and info.value.status_code == 200
    assert len(sandbox.requests()) == 3


def test_html_error_page_becomes_a_short_message(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=403, body="<html><h1>Forbidden</h1>" + "x" * 1000 + "</html>")
    hook = make_hook(sandbox, monkeypatch, sleeps)
    with pytest.raises(CMSAuthError) as info:
        get(hook)
    assert info.value.message.startswith("<html><h1>Forbidden</h1>")
    assert len(info.value.message) <= 310


async def test_async_path_retries_and_parses(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=502)
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    try:
        result = await hook.arequest_json("GET", "/core-probe/thing", call="get_thing")
    finally:
        await hook.aclose()
    assert result == {"ok": True}
    assert [r["status"] for r in sandbox.requests()] == [502, 200]
    assert len(sleeps.calls) == 1


async def test_async_path_raises_typed_errors(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, status=401, body={"code": "not_authorized", "message": "Request not authorized"})
    hook = make_hook(sandbox, monkeypatch, sleeps)
    try:
        with pytest.raises(CMSAuthError) as info:
            await hook.arequest_json("GET", "/core-probe/thing", call="get_thing")
    finally:
        await hook.aclose()
    assert info.value.code == "not_authorized"


def test_hook_init_is_lazy():
    hook = ProbeHook("a_connection_that_does_not_exist")
    assert hook.request_count == 0  # constructing it looked nothing up and sent nothing


def test_query_params_and_json_body_are_sent(sandbox, monkeypatch, sleeps):
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    hook.request_json("PUT", "/core-probe/thing", call="put_thing", params={"localeId": "abc"},
                      json_body={"title": "Ünïcode"})
    [entry] = sandbox.requests()
    assert entry["query"] == {"localeId": "abc"}
    assert entry["body"] == {"title": "Ünïcode"}
    assert entry["headers"]["content-type"] == "application/json"


def test_unserialisable_or_huge_body_fails_before_sending(sandbox, monkeypatch, sleeps):
    hook = make_hook(sandbox, monkeypatch, sleeps)
    with pytest.raises(CMSValidationError) as info:
        hook.request_json("PUT", "/core-probe/thing", call="put_thing", json_body={"x": object()})
    assert info.value.argument == "body"
    with pytest.raises(CMSValidationError, match="larger than"):
        hook.request_json("PUT", "/core-probe/thing", call="put_thing", json_body={"x": "a" * 1_100_000})
    with pytest.raises(CMSValidationError):
        hook.request_json("PUT", "/core-probe/thing", call="put_thing", json_body={"x": float("nan")})
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    ("value", "encoded"),
    [("abc", "abc"), ("../../v2/sites", "..%2F..%2Fv2%2Fsites"), ("a b?c#d", "a%20b%3Fc%23d"),
     ("%2F", "%252F"), ("ünï", "%C3%BCn%C3%AF"), (38, "38")],
)
def test_segment_encodes(value, encoded):
    assert segment(value, "page_slug") == encoded


@pytest.mark.parametrize("value", ["", " ", ".", "..", None, 1.5, True, ["a"]])
def test_segment_rejects(value):
    with pytest.raises(CMSValidationError) as info:
        segment(value, "page_slug")
    assert info.value.argument == "page_slug"


# ---------------------------------------------------------------- token hygiene
FAILURES = [
    ("400", {"status": 400, "body": {"detail": f"bad request for {TOKEN}"}}, CMSValidationError),
    ("401", {"status": 401, "body": {"detail": "Invalid token."}}, CMSAuthError),
    ("429", {"status": 429, "count": 9, "headers": {"Retry-After": "1"}}, CMSRateLimitError),
    ("500", {"status": 500, "count": 9, "body": f"<html>{TOKEN}</html>"}, CMSServerError),
    ("drop", {"drop": True, "count": 9}, CMSConnectionError),
    ("slow", {"delay": 1.0, "count": 9, **OK}, CMSConnectionError),
]


def _all_text(records: list[logging.LogRecord], *objects: Any) -> str:
    parts = [r.getMessage() for r in records] + [repr(r.args) for r in records]
    for obj in objects:
        parts.append(repr(obj))
        parts.append(str(obj))
        if isinstance(obj, BaseException):
            parts.append(repr(obj.__dict__))
            cause = obj.__cause__
            while cause is not None:
                parts += [str(cause), repr(cause)]
                cause = cause.__cause__
    return "\n".join(parts)


def test_token_never_leaks_on_success(sandbox, monkeypatch, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.fault(path=PATH, **OK)
    hook = make_hook(sandbox, monkeypatch, sleeps)
    result = get(hook)
    text = _all_text(caplog.records, result, hook.settings)
    assert TOKEN not in text
    assert any("get_thing" in r.getMessage() for r in caplog.records)  # we did log the call


@pytest.mark.parametrize(("name", "fault", "error"), FAILURES, ids=[f[0] for f in FAILURES])
def test_token_never_leaks_on_failure(sandbox, monkeypatch, sleeps, caplog, name, fault, error):
    caplog.set_level(logging.DEBUG)
    sandbox.fault(path=PATH, **fault)
    hook = make_hook(sandbox, monkeypatch, sleeps, max_retries=1, timeout=0.3)
    with pytest.raises(error) as info:
        get(hook)
    assert TOKEN not in _all_text(caplog.records, info.value)
