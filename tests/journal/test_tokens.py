"""No token in any journal, ever: every writing operator, successful and failing, with error bodies
that echo the token back (as some proxies and CMSs do)."""

from __future__ import annotations

import pytest

from airflow_provider_pagemeta.exceptions import CMSError
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator, ButterCMSUpdatePageOperator
from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator
from airflow_provider_pagemeta.operators.restore import PageMetaRestoreOperator
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator, WebflowUpdatePageOperator
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

PLAN = "11111111-1111-4111-8111-111111111111"


def echo(sandbox, method: str, path: str, status: int, token: str, count: int = 1) -> None:
    sandbox.fault(method=method, path=path, status=status, count=count,
                  body={"code": "bad_request", "message": f"rejected request with Authorization {token}",
                        "detail": f"token={token}"})


def test_no_token_in_any_journal_file(sandbox, pagemeta_connections, tmp_path):
    sandbox.config(webflow_rate_limit=100_000, buttercms_apply_delay=0)
    fx = sandbox.fixtures()["webflow"]
    out = str(tmp_path)
    results = [
        WebflowUpdatePageOperator(task_id="wf", page_id=fx["page_ids"][0], title="A", journal=out).execute({}),
        WebflowBulkUpdatePagesOperator(task_id="wfb", journal=out, site_id=fx["site_id"], updates=[
            {"page_id": fx["page_ids"][1], "title": "B"}]).execute({}),
        ButterCMSUpdatePageOperator(task_id="bc", page_type="faq", page_slug="faq", fields={"headline": "C"},
                                    journal=out).execute({}),
        ButterCMSBulkUpdatePagesOperator(task_id="bcb", journal=out, updates=[
            {"page_type": "landing-page", "page_slug": "home", "fields": {"headline": "D"}}]).execute({}),
        HamgamUpdatePageMetaOperator(task_id="hg", page_id=38, text={"contact_us_title": "E"}, journal=out).execute({}),
        BuildinUpdatePageOperator(task_id="bi", page_id=PLAN, in_trash=True, journal=out).execute({}),
    ]
    PageMetaRestoreOperator(task_id="restore", journal=results, output_journal=out).execute({})

    # The same operators failing, the error bodies echoing the token.
    echo(sandbox, "PUT", "/webflow/v2/pages/*", 400, SANDBOX_TOKENS["webflow"])
    with pytest.raises(CMSError):
        WebflowUpdatePageOperator(task_id="wf_fail", page_id=fx["page_ids"][2], title="F", journal=out).execute({})
    echo(sandbox, "PATCH", "/buttercms/*", 400, SANDBOX_TOKENS["buttercms"])
    with pytest.raises(CMSError):
        ButterCMSBulkUpdatePagesOperator(task_id="bcb_fail", journal=out, updates=[
            {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "G"}}]).execute({})
    echo(sandbox, "GET", "/hamgam/*", 403, SANDBOX_TOKENS["hamgam"])
    with pytest.raises(CMSError):
        HamgamUpdatePageMetaOperator(task_id="hg_fail", page_id=39, text={"x": "H"}, journal=out).execute({})
    echo(sandbox, "PATCH", "/buildin/*", 400, SANDBOX_TOKENS["buildin"])
    with pytest.raises(CMSError):
        BuildinUpdatePageOperator(task_id="bi_fail", page_id=PLAN, in_trash=False, journal=out).execute({})
    BuildinUpdatePageOperator(task_id="bi_again", page_id=PLAN, in_trash=True, journal=out).execute({})
    echo(sandbox, "PATCH", "/buildin/*", 400, SANDBOX_TOKENS["buildin"])
    restore_failed = PageMetaRestoreOperator(task_id="restore_fail", journal=results[-1:], output_journal=out,
                                             max_failures=1).execute({})
    assert restore_failed["failed"] == 1

    files = sorted(tmp_path.rglob("*.jsonl"))
    assert len(files) == 13  # one per task, failing ones included
    errors = [e["error"] for f in files for e in read_journal(str(f)) if e["status"] == "failed"]
    assert len(errors) == 5 and all("***" in error for error in errors)  # the echoed token, masked
    leaks = {str(f): [name for name, token in SANDBOX_TOKENS.items() if token.encode() in f.read_bytes()]
             for f in files}
    assert {path: names for path, names in leaks.items() if names} == {}
