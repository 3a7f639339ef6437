"""The provider against a hostile or broken server, over real sockets: one section per promise.

Each test here failed on the code before the hardening work (see the issue "no write lost to a
redirect, no call past its deadline, no futile wait, no raw exception") and holds it now. The
servers are the sandbox with injected faults, and the stdlib servers of ``tests/hostile.py`` for
what no faithful emulator does (trickling, endless bodies, lost answers).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from airflow_provider_pagemeta.bulk.engine import BulkRunner
from airflow_provider_pagemeta.bulk.webflow import WebflowBulkAdapter
from airflow_provider_pagemeta.core.redaction import FRAGMENT_CHARS
from airflow_provider_pagemeta.exceptions import (
    CMSConnectionError,
    CMSInvalidResponseError,
    CMSRateLimitError,
    CMSRedirectError,
    CMSValidationError,
)
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS, SandboxControl
from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger
from tests import hostile

#: A generous bound for "returned promptly": the misbehaving server would hold the call for a minute.
PROMPTLY_S = 15.0


def conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, host: str, token: str,
         **extra: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
        {"conn_type": conn_type, "host": host, "password": token, "extra": extra}))


@pytest.fixture
def fx(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.fixtures()


# ====================================================================== 1. redirects never move a write
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_write_is_refused_and_never_resent(sandbox, pagemeta_connections, fx, sleeps, status):
    page_id = fx["webflow"]["page_ids"][1]
    path = f"/webflow/v2/pages/{page_id}"
    sandbox.fault(method="PUT", path=path, status=status, headers={"Location": f"{sandbox.url}{path}"})
    before = WebflowHook().get_page(page_id)["title"]
    sandbox.clear_requests()
    with pytest.raises(CMSRedirectError) as info:
        WebflowHook(sleep=sleeps).update_page_settings(page_id, title="Lost in a redirect")
    assert [(r["method"], r["path"]) for r in sandbox.requests()] == [("PUT", path)]  # no GET, no second PUT
    assert info.value.status_code == status and info.value.location == f"{sandbox.url}{path}"
    assert f"{status}" in str(info.value) and info.value.location in str(info.value)
    assert WebflowHook().get_page(page_id)["title"] == before  # and nothing claims it changed


def test_a_redirected_hamgam_create_reports_no_key(sandbox, pagemeta_connections, sleeps):
    path = "/hamgam/api/pages/base/38/meta/"
    sandbox.fault(method="POST", path=path, status=302, headers={"Location": "/hamgam/api/pages/base/38/meta/"})
    with pytest.raises(CMSRedirectError):
        HamgamHook(sleep=sleeps).set_page_meta(38, text={"brand_new_key": "v"})
    assert [r["method"] for r in sandbox.requests("hamgam")] == ["GET", "POST"]
    assert "brand_new_key" not in {m["key"] for m in HamgamHook().list_page_meta(38)}


def test_a_read_follows_a_few_same_origin_redirects_then_stops(sandbox, pagemeta_connections, fx, sleeps):
    page_id = fx["webflow"]["page_ids"][1]
    loop = f"/webflow/v2/pages/{page_id}"
    sandbox.fault(method="GET", path=loop, status=302, headers={"Location": loop}, count=50)
    with pytest.raises(CMSRedirectError, match="more than 5 redirects"):
        WebflowHook(sleep=sleeps).get_page(page_id)
    assert len(sandbox.requests()) == 6  # the request and five hops, then a clear error


# ====================================================================== 2. timeout bounds the whole attempt
@pytest.mark.parametrize("server", [hostile.trickle_body(0.3), hostile.endless_body(0.2), hostile.trickle_headers(0.3)],
                         ids=["trickled-body", "endless-body", "trickled-headers"])
def test_timeout_bounds_a_sync_call_however_slowly_bytes_come(monkeypatch, sleeps, server):
    with hostile.serve(server) as url:
        conn(monkeypatch, "slow_wf", "webflow", url, "wf-hostile-token-0123456789abcdef", timeout=1, max_retries=1)
        started = time.monotonic()
        with pytest.raises(CMSConnectionError, match=r"no response within 1 s") as info:
            WebflowHook("slow_wf", sleep=sleeps).get_page("c39e9879b4b2760cd00a3d9a")
        elapsed = time.monotonic() - started
    assert elapsed < PROMPTLY_S, f"a 1 s timeout held the call for {elapsed:.1f} s"
    assert len(sleeps.calls) == 1  # retried once, like any timeout
    assert info.value.retry_after is None


@pytest.mark.parametrize("server", [hostile.trickle_body(0.3), hostile.endless_body(0.2)],
                         ids=["trickled-body", "endless-body"])
async def test_timeout_bounds_an_async_call_too(monkeypatch, sleeps, server):
    with hostile.serve(server) as url:
        conn(monkeypatch, "slow_bc", "buttercms", url, "bc-hostile-token-0123456789abcdef", timeout=1, max_retries=0)
        hook = ButterCMSHook("slow_bc", asleep=sleeps.asleep)
        started = time.monotonic()
        try:
            with pytest.raises(CMSConnectionError, match=r"no response within 1 s"):
                await hook.aget_page("faq", "faq")
        finally:
            await hook.aclose()
    assert time.monotonic() - started < PROMPTLY_S


async def test_a_trigger_meets_its_end_time_while_a_read_hangs(monkeypatch):
    """The connection's timeout is 30 s; the trigger's deadline is 1.5 s away and still wins."""
    with hostile.serve(hostile.endless_body(0.2)) as url:
        conn(monkeypatch, "hang_bc", "buttercms", url, "bc-hostile-token-0123456789abcdef", timeout=30)
        trigger = ButterCMSPageUpdateTrigger.for_page(
            "faq", "faq", expected_fields={"headline": "x"}, poll_interval=0.2, end_time=time.time() + 1.5,
            buttercms_conn_id="hang_bc",
        )
        started = time.monotonic()
        events = [event async for event in trigger.run()]
    assert time.monotonic() - started < PROMPTLY_S
    assert [e.payload["status"] for e in events] == ["timeout"]
    assert events[0].payload["page_slug"] == "faq"


# ====================================================================== 3. a wait of days is not waited for
QUOTA = {"detail": "API Calls limit reached."}
THREE_DAYS = 3 * 86400


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_beyond_the_cap_fails_at_once(sandbox, pagemeta_connections, sleeps, status):
    sandbox.fault(path="/buttercms/*", status=status, body=QUOTA, headers={"Retry-After": str(THREE_DAYS)}, count=10)
    with pytest.raises(CMSRateLimitError) as info:
        ButterCMSHook(sleep=sleeps).get_page("faq", "faq")
    assert sleeps.calls == []  # not a single wait
    assert len(sandbox.requests()) == 1
    assert info.value.retry_after == THREE_DAYS and info.value.status_code == status
    assert "3 days" in str(info.value) and "API Calls limit reached." in str(info.value)


def test_a_bulk_run_stops_at_the_first_quota_error(sandbox, pagemeta_connections, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: pytest.fail(f"slept {s} s"))
    sandbox.fault(path="/buttercms/*", status=429, body=QUOTA, headers={"Retry-After": str(THREE_DAYS)}, count=100)
    rows = [{"page_type": "landing-page", "page_slug": slug, "fields": {"headline": f"H{n}"}}
            for n, slug in enumerate(["home", "spring-sale"])] + [{"page_type": "faq", "page_slug": "faq",
                                                                  "fields": {"headline": "F"}}]
    op = ButterCMSBulkUpdatePagesOperator(task_id="b", updates=rows, max_failures=5)
    summary = op.execute({})
    assert (summary["failed"], summary["skipped"], summary["requests"]) == (1, 2, 1)
    assert "3 days" in summary["failures"][0]["error"]


# ====================================================================== 4. no piece of a token in a message
def test_an_echoed_token_cut_by_the_message_bound_leaves_no_piece(sandbox, pagemeta_connections, sleeps, caplog):
    token = SANDBOX_TOKENS["webflow"]
    caplog.set_level(logging.DEBUG)
    for offset in range(250, 300, 7):  # put the token across every plausible cut
        sandbox.reset()
        message = "x" * offset + token + " was refused"
        sandbox.fault(path="/webflow/*", status=503, body={"code": "bad", "message": message}, count=1)
        sandbox.fault(path="/webflow/*", status=400, body={"code": "bad", "message": message}, count=1)
        with pytest.raises(CMSValidationError) as info:
            WebflowHook(sleep=sleeps).get_page("c39e9879b4b2760cd00a3d9a")
        texts = [str(info.value), info.value.message, *(r.getMessage() for r in caplog.records)]
        for text in texts:
            for start in range(len(token) - FRAGMENT_CHARS + 1):
                assert token[start:start + FRAGMENT_CHARS] not in text, text
        caplog.clear()


# ====================================================================== 5. credentials in the host
def test_user_and_password_in_the_host_are_refused_without_echoing_them(sandbox, monkeypatch):
    conn(monkeypatch, "userinfo_wf", "webflow", sandbox.url.replace("http://", "http://editor:hunter2secret@")
         + "/webflow", "wf-the-real-token-0123456789abcdef")
    ok, message = WebflowHook("userinfo_wf").test_connection()
    assert ok is False and "user:password@" in message and "hunter2secret" not in message
    with pytest.raises(CMSValidationError) as info:
        WebflowHook("userinfo_wf").get_page("c39e9879b4b2760cd00a3d9a")
    assert info.value.argument == "host" and "hunter2secret" not in str(info.value)
    assert sandbox.requests() == []


# ====================================================================== 6. a lost create is settled by reading
def test_a_create_whose_answer_was_lost_is_settled_by_a_read(sandbox, monkeypatch, sleeps):
    lost = {"count": 0}

    def lose_first_post(method: str, path: str) -> bool:
        if method == "POST" and lost["count"] == 0:
            lost["count"] += 1
            return True
        return False

    with hostile.serve(hostile.lossy_proxy(sandbox.url, lose_first_post)) as proxy:
        conn(monkeypatch, "lossy_hg", "hamgam", f"{proxy}/hamgam", SANDBOX_TOKENS["hamgam"], max_retries=3)
        result = HamgamHook("lossy_hg", sleep=sleeps).set_page_meta(38, text={"fresh_key": "fresh value"})
    assert result["created"] == ["fresh_key"]
    methods = [r["method"] for r in sandbox.requests("hamgam")]
    assert methods.count("POST") == 1  # landed once, never repeated
    assert methods == ["GET", "POST", "GET"]  # list, the create (answer lost), the settling read
    conn(monkeypatch, "direct_hg", "hamgam", f"{sandbox.url}/hamgam", SANDBOX_TOKENS["hamgam"])
    assert [m["value_text"] for m in HamgamHook("direct_hg").list_page_meta(38) if m["key"] == "fresh_key"] == [
        "fresh value"]


# ====================================================================== 7. no raw Python exception escapes
@pytest.mark.parametrize("headers", [{"X-RateLimit-Limit": "inf", "X-RateLimit-Remaining": "1e999"},
                                     {"X-RateLimit-Limit": "NaN", "X-RateLimit-Remaining": "-5"},
                                     {"X-RateLimit-Limit": "99999999999999999999", "X-RateLimit-Remaining": "٣"}])
def test_absurd_rate_limit_headers_are_ignored(sandbox, pagemeta_connections, fx, sleeps, headers):
    page_id = fx["webflow"]["page_ids"][1]
    body = WebflowHook().get_page(page_id)
    sandbox.fault(method="PUT", path=f"/webflow/v2/pages/{page_id}", status=200, body=body, headers=headers)
    hook = WebflowHook(sleep=sleeps)
    assert hook.update_page_settings(page_id, title=body["title"])["id"] == page_id
    assert hook.get_page(page_id)["id"] == page_id and sleeps.calls == []


@pytest.mark.parametrize(("body", "what"), [
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ([{"id": "not an object"}], "expected a JSON object, got a JSON array"),
    ("null", "expected a JSON object, got a JSON null"),
])
def test_a_body_of_the_wrong_shape_or_depth_is_a_cms_error_naming_the_call(
    sandbox, pagemeta_connections, sleeps, body, what
):
    sandbox.fault(path="/webflow/*", status=200, body=body, count=10, headers={"Content-Type": "application/json"})
    with pytest.raises(CMSInvalidResponseError, match=what) as info:
        WebflowHook(sleep=sleeps).get_page("c39e9879b4b2760cd00a3d9a")
    assert info.value.call == "get_page"


def test_a_listing_that_answers_with_an_array_ends_with_an_error(sandbox, pagemeta_connections, sleeps):
    sandbox.fault(path="/hamgam/api/pages/base/38/meta/", status=200, body=[{"id": 1, "key": "k"}], count=50)
    with pytest.raises(CMSInvalidResponseError):
        list(HamgamHook(sleep=sleeps).list_page_meta(38))
    assert len(sandbox.requests()) == 1 + 5  # one call and its retries: no endless loop


def test_a_listing_that_does_not_advance_ends_with_an_error(sandbox, pagemeta_connections, fx, sleeps):
    site = fx["webflow"]["site_id"]
    page = WebflowHook().get_page(fx["webflow"]["page_ids"][1])
    sandbox.clear_requests()
    stuck = {"pages": [page], "pagination": {"limit": 100, "offset": 0, "total": 10**9}}
    sandbox.fault(path=f"/webflow/v2/sites/{site}/pages", status=200, body=stuck, count=1000)
    with pytest.raises(CMSInvalidResponseError, match="paging does not advance"):
        list(WebflowHook(sleep=sleeps).list_pages(site))
    assert len(sandbox.requests()) == 2


def test_absurd_headers_after_a_write_do_not_stop_a_bulk_run(sandbox, pagemeta_connections, fx):
    site = fx["webflow"]["site_id"]
    pages = fx["webflow"]["page_ids"][1:4]
    for page_id in pages:
        sandbox.fault(method="PUT", path=f"/webflow/v2/pages/{page_id}", status=200,
                      body=WebflowHook().get_page(page_id), headers={"X-RateLimit-Remaining": "1e999"})
    hook = WebflowHook()
    runner = BulkRunner(WebflowBulkAdapter(hook, site_id=site, locale_id=None, use_bulk_endpoint=False),
                        pacer=hook.pacer)
    summary = runner.run([{"page_id": p, "title": f"Hardened {n}"} for n, p in enumerate(pages)])
    assert (summary["updated"], summary["failed"]) == (3, 0)


# ====================================================================== 8. every message is bounded
def test_a_100_kb_error_message_is_cut(sandbox, pagemeta_connections, sleeps):
    sandbox.fault(path="/webflow/*", status=400, body={"code": "validation_error", "message": "m" * 100_000,
                                                       "details": [{"param": "p" * 50_000}]})
    with pytest.raises(CMSValidationError) as info:
        WebflowHook(sleep=sleeps).get_page("c39e9879b4b2760cd00a3d9a")
    assert len(str(info.value)) < 1_000 and "cut" in info.value.message
    assert len(json.dumps(info.value.details)) < 3_000


def test_two_hundred_long_failures_make_a_small_summary(sandbox, pagemeta_connections, fx):
    site = fx["webflow"]["large_site_id"]
    sandbox.config(webflow_rate_limit=100_000)
    sandbox.fault(method="PUT", path="/webflow/v2/pages/*", status=400, count=1000,
                  body={"code": "validation_error", "message": "m" * 100_000})
    listing = list(WebflowHook().list_pages(site))[:200]
    op_rows = [{"page_id": p["id"], "title": p["title"] + " (changed)"} for p in listing]
    hook = WebflowHook()
    runner = BulkRunner(WebflowBulkAdapter(hook, site_id=site, locale_id=None, use_bulk_endpoint=False),
                        max_failures=1000, pacer=hook.pacer)
    summary = runner.run(op_rows)
    assert summary["failed"] == 200 and len(summary["failures"]) == 20
    assert len(json.dumps(summary)) < 20_000


# ====================================================================== 10. a token that cannot be a header
@pytest.mark.parametrize("token", ["wf-token-with-newline\n", "wf-token\r\nX-Evil: 1", "wf-tökén-0123456789"])
async def test_a_token_that_cannot_be_a_header_is_refused_before_any_request(sandbox, monkeypatch, token):
    conn(monkeypatch, "bad_token_wf", "webflow", f"{sandbox.url}/webflow", token)
    for attempt in ("sync", "async"):
        hook = WebflowHook("bad_token_wf")
        with pytest.raises(CMSValidationError, match="is not a valid token") as info:
            if attempt == "sync":
                hook.get_page("c39e9879b4b2760cd00a3d9a")
            else:
                await hook.arequest_json("GET", "/v2/pages/c39e9879b4b2760cd00a3d9a", call="get_page")
        assert info.value.argument == "password" and token.strip() not in str(info.value)
    assert sandbox.requests() == []
    assert asyncio.get_running_loop() is not None
