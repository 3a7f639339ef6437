"""The bad-input catalogue: what DAG authors (and templates) get wrong, across hooks and operators.

Every case either fails with ``CMSValidationError`` naming the argument before any request (the
sandbox log stays empty), or is percent-encoded so the request stays on its documented endpoint
(the raw path the sandbox received is asserted, and nothing else was sent).

To add a case, add one ``Case`` line to ``CATALOGUE``: an id, a callable that makes the call, and
either ``argument=`` (the name the error must carry) or ``path=`` (the raw path expected, with
``query=`` when the query matters).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_pagemeta.exceptions import CMSError, CMSNotFoundError, CMSValidationError
from airflow_provider_pagemeta.hooks.buildin import BuildinHook
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.hooks.hamgam import HamgamHook
from airflow_provider_pagemeta.hooks.webflow import WebflowHook
from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator, ButterCMSUpdatePageOperator
from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator, WebflowUpdatePageOperator

WF_PAGE = "c39e9879b4b2760cd00a3d9a"
BI_PAGE = "11111111-1111-4111-8111-111111111111"
HUGE = "x" * 1_100_000  # over the 1 MB body cap
FIELDS = {"headline": "New headline"}
BI_TITLE = {"title": {"title": [{"type": "text", "text": {"content": "T"}}]}}


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[], Any]
    argument: str | None = None
    path: str | None = None
    query: dict[str, str] | None = None


def wf() -> WebflowHook:
    return WebflowHook()


def bc() -> ButterCMSHook:
    return ButterCMSHook()


def hg() -> HamgamHook:
    return HamgamHook()


def bi() -> BuildinHook:
    return BuildinHook()


def run(operator: Any) -> Any:
    return operator.execute({})


def with_conn(conn_type: str, hook: Any, call: Callable[[Any], Any], **fields: Any) -> Callable[[], Any]:
    """A call through a connection of its own (``password``, ``host`` or extras given in ``fields``),
    pointed at the sandbox by the test that runs it (``{sandbox}`` in ``host`` is filled in)."""

    def make() -> Any:
        base = os.environ["AIRFLOW_CONN_WEBFLOW_DEFAULT"]
        sandbox_url = json.loads(base)["host"].rsplit("/", 1)[0]
        conn = {"conn_type": conn_type, "host": f"{sandbox_url}/{conn_type}",
                "password": f"{conn_type}-tok-0123456789ab"}
        extra = {k: v for k, v in fields.items() if k not in ("password", "host")}
        conn.update({k: v.format(sandbox=sandbox_url) for k, v in fields.items() if k in ("password", "host")})
        os.environ["AIRFLOW_CONN_BAD_INPUT_CONN"] = json.dumps({**conn, "extra": extra})
        try:
            return call(hook("bad_input_conn"))
        finally:
            os.environ.pop("AIRFLOW_CONN_BAD_INPUT_CONN", None)

    return make


CATALOGUE: list[Case] = [
    # ------------------------------------------------------------ connections: every number through one converter
    Case("conn-max_retries-arabic-digit", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE),
                                                    max_retries="٣"), "max_retries"),
    Case("conn-timeout-arabic-digit", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE),
                                                timeout="٣"), "timeout"),
    Case("conn-timeout-nan", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE), timeout="nan"),
         "timeout"),
    Case("conn-timeout-inf", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE), timeout="inf"),
         "timeout"),
    Case("conn-timeout-huge", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE), timeout=1e308),
         "timeout"),
    Case("conn-rate_limit_window-nan", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE),
                                                 rate_limit_window="nan"), "rate_limit_window"),
    Case("conn-max_retries-bool", with_conn("hamgam", HamgamHook, lambda h: list(h.list_page_meta(38)),
                                            max_retries=True), "max_retries"),
    Case("conn-token-line-break", with_conn("buildin", BuildinHook, lambda h: h.get_page(BI_PAGE),
                                            password="bi-token-0123456789\r\n"), "password"),
    Case("conn-token-non-ascii", with_conn("buttercms", ButterCMSHook, lambda h: h.get_page("faq", "faq"),
                                           password="bc-tökén-0123456789"), "password"),
    Case("conn-read_token-line-break", with_conn("buttercms", ButterCMSHook, lambda h: h.get_page("faq", "faq"),
                                                 read_token="read-bc-0123456789\n"), "read_token"),
    Case("conn-host-userinfo", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE),
                                         host="http://editor:s3cr3t@127.0.0.1:9/webflow"), "host"),
    Case("conn-host-bad-port", with_conn("webflow", WebflowHook, lambda h: h.get_page(WF_PAGE),
                                         host="http://127.0.0.1:port/webflow"), "host"),
    # ------------------------------------------------------------ Webflow hook
    Case("wf-page_id-int", lambda: wf().update_page_settings(123, title="t"), "page_id"),  # type: ignore[arg-type]
    Case("wf-page_id-none", lambda: wf().update_page_settings(None, title="t"), "page_id"),  # type: ignore[arg-type]
    Case("wf-page_id-empty", lambda: wf().update_page_settings("", title="t"), "page_id"),
    Case("wf-page_id-traversal", lambda: wf().update_page_settings("../../v2/sites/x/pages", title="t"), "page_id"),
    Case("wf-page_id-encoded-slash", lambda: wf().update_page_settings("c39e9879%2F..%2Fcd00a3d9a", title="t"),
         "page_id"),
    Case("wf-page_id-query", lambda: wf().update_page_settings(WF_PAGE[:23] + "?", title="t"), "page_id"),
    Case("wf-page_id-fragment", lambda: wf().update_page_settings(WF_PAGE + "#x", title="t"), "page_id"),
    Case("wf-page_id-unicode", lambda: wf().get_page("ü" * 24), "page_id"),
    Case("wf-site_id-space", lambda: wf().list_pages("fdd818cc e66350fd1bd9cac"), "site_id"),
    Case("wf-locale_id-injection", lambda: wf().get_page(WF_PAGE, locale_id="x&localeId=y"), "locale_id"),
    Case("wf-title-int", lambda: wf().update_page_settings(WF_PAGE, title=5), "title"),  # type: ignore[arg-type]
    Case("wf-title-empty", lambda: wf().update_page_settings(WF_PAGE, title="  "), "title"),
    Case("wf-seo-rendered-string", lambda: wf().update_page_settings(WF_PAGE, seo="{'title': 'x'}"),  # type: ignore
         "seo"),
    Case("wf-seo-unknown-key", lambda: wf().update_page_settings(WF_PAGE, seo={"keywords": "x"}), "seo"),
    Case("wf-og-flag-string", lambda: wf().update_page_settings(WF_PAGE, open_graph={"titleCopied": "yes"}),
         "open_graph.titleCopied"),
    Case("wf-nothing-to-update", lambda: wf().update_page_settings(WF_PAGE), "fields"),
    Case("wf-huge-title", lambda: wf().update_page_settings(WF_PAGE, title=HUGE), "title"),
    Case("wf-bulk-empty", lambda: wf().update_pages_bulk([]), "pages"),
    # ------------------------------------------------------------ Webflow operators
    Case("wf-op-page_id-int", lambda: run(WebflowUpdatePageOperator(task_id="t", page_id=42, title="t")),  # type: ignore
         "page_id"),
    Case("wf-op-dry_run-rendered", lambda: run(WebflowUpdatePageOperator(task_id="t", page_id=WF_PAGE, title="t",
                                                                          dry_run="maybe")),  # type: ignore[arg-type]
         "dry_run"),
    Case("wf-bulk-op-updates-not-a-list", lambda: run(WebflowBulkUpdatePagesOperator(task_id="t", updates="pages")),
         "updates"),
    Case("wf-bulk-op-row-traversal", lambda: run(WebflowBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_id": WF_PAGE, "title": "ok"}, {"page_id": "../x", "title": "t"}])),
         "updates[1].id"),
    Case("wf-bulk-op-row-none-title", lambda: run(WebflowBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_id": WF_PAGE, "title": None}])), "updates[0].fields"),
    Case("wf-bulk-op-row-huge", lambda: run(WebflowBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_id": WF_PAGE, "seo": {"title": HUGE}}], site_id="fdd818cce66350fd1bd9cac3")),
         "updates[0].seo"),
    Case("wf-bulk-op-max_failures-negative", lambda: run(WebflowBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_id": WF_PAGE, "title": "t"}], max_failures=-1)), "max_failures"),
    Case("wf-bulk-op-site_id-bad", lambda: run(WebflowBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_id": WF_PAGE, "title": "t"}], site_id="site?x=1")), "site_id"),
    # ------------------------------------------------------------ ButterCMS hook: refused
    Case("bc-page_slug-empty", lambda: bc().update_page("faq", "", fields=FIELDS), "page_slug"),
    Case("bc-page_slug-dotdot", lambda: bc().update_page("faq", "..", fields=FIELDS), "page_slug"),
    Case("bc-page_slug-encoded-dotdot", lambda: bc().get_page("faq", "%2e%2e"), "page_slug"),
    Case("bc-page_type-none", lambda: bc().update_page(None, "faq", fields=FIELDS), "page_type"),  # type: ignore
    Case("bc-page_slug-list", lambda: bc().get_page("faq", ["faq"]), "page_slug"),  # type: ignore[arg-type]
    Case("bc-no-fields", lambda: bc().update_page("faq", "faq"), "fields"),
    Case("bc-fields-not-serialisable", lambda: bc().update_page("faq", "faq", fields={"when": object()}), "fields"),
    Case("bc-fields-nan", lambda: bc().update_page("faq", "faq", fields={"score": float("nan")}), "fields"),
    Case("bc-fields-huge", lambda: bc().update_page("faq", "faq", fields={"body": HUGE}), "fields"),
    Case("bc-fields-rendered-string", lambda: bc().update_page("faq", "faq", fields='{"headline": "x"}'),  # type: ignore
         "fields"),
    Case("bc-status-unknown", lambda: bc().update_page("faq", "faq", fields=FIELDS, status="live"), "status"),
    Case("bc-locale-int", lambda: bc().update_page("faq", "faq", fields=FIELDS, locale=5), "locale"),  # type: ignore
    Case("bc-preview-string", lambda: bc().get_page("faq", "faq", preview="yes"), "preview"),  # type: ignore
    # ------------------------------------------------------------ ButterCMS hook: encoded, stays on the endpoint
    Case("bc-slug-traversal-encoded", lambda: bc().get_page("faq", "../../v2/posts"),
         path="/buttercms/v2/pages/faq/..%2F..%2Fv2%2Fposts/"),
    Case("bc-slug-query-encoded", lambda: bc().get_page("faq", "faq?auth_token=x"),
         path="/buttercms/v2/pages/faq/faq%3Fauth_token%3Dx/", query={"preview": "1"}),
    Case("bc-slug-fragment-encoded", lambda: bc().update_page("faq", "faq#x", fields=FIELDS),
         path="/buttercms/v2/pages/faq/faq%23x/"),
    Case("bc-slug-space-encoded", lambda: bc().get_page("landing-page", "spring sale"),
         path="/buttercms/v2/pages/landing-page/spring%20sale/"),
    Case("bc-slug-percent-encoded", lambda: bc().get_page("faq", "faq%2F..%2Fadmin"),
         path="/buttercms/v2/pages/faq/faq%252F..%252Fadmin/"),
    Case("bc-slug-unicode-encoded", lambda: bc().get_page("faq", "café-ü"),
         path="/buttercms/v2/pages/faq/caf%C3%A9-%C3%BC/"),
    Case("bc-type-traversal-encoded", lambda: bc().update_page("landing-page/../faq", "faq", fields=FIELDS),
         path="/buttercms/v2/pages/landing-page%2F..%2Ffaq/faq/"),
    Case("bc-locale-injection-stays-a-value", lambda: bc().get_page("faq", "faq", locale="es&auth_token=x"),
         path="/buttercms/v2/pages/faq/faq/", query={"preview": "1", "locale": "es&auth_token=x"}),
    # ------------------------------------------------------------ ButterCMS operators
    Case("bc-op-poll_interval-zero", lambda: run(ButterCMSUpdatePageOperator(
        task_id="t", page_type="faq", page_slug="faq", fields=FIELDS, poll_interval=0)), "poll_interval"),
    Case("bc-op-timeout-inf", lambda: run(ButterCMSUpdatePageOperator(
        task_id="t", page_type="faq", page_slug="faq", fields=FIELDS, wait_for_completion=True, timeout="inf")),
         "timeout"),
    Case("bc-op-poll_interval-nan", lambda: run(ButterCMSUpdatePageOperator(
        task_id="t", page_type="faq", page_slug="faq", fields=FIELDS, poll_interval=float("nan"))), "poll_interval"),
    Case("bc-bulk-op-max_failures-arabic-digit", lambda: run(ButterCMSBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_type": "faq", "page_slug": "faq", "fields": FIELDS}], max_failures="٣")),
         "max_failures"),
    Case("bc-bulk-op-updates-python-literal", lambda: run(ButterCMSBulkUpdatePagesOperator(
        task_id="t", updates="[{'page_type': 'faq', 'page_slug': 'faq', 'fields': {'headline': 'x'}}]")),
         "updates"),
    Case("bc-op-slug-none", lambda: run(ButterCMSUpdatePageOperator(
        task_id="t", page_type="faq", page_slug=None, fields=FIELDS)), "page_slug"),  # type: ignore[arg-type]
    Case("bc-bulk-op-row-not-a-dict", lambda: run(ButterCMSBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_type": "faq", "page_slug": "faq", "fields": FIELDS}, "faq"])), "updates[1]"),
    # ------------------------------------------------------------ Hamgam hook
    Case("hg-page_id-zero", lambda: hg().update_page_meta(0, 2, key="k", value_text="v"), "page_id"),
    Case("hg-page_id-negative-string", lambda: hg().update_page_meta("-1", 2, key="k", value_text="v"), "page_id"),
    Case("hg-page_id-traversal", lambda: hg().update_page_meta("../38", 2, key="k", value_text="v"), "page_id"),
    Case("hg-page_id-encoded-slash", lambda: hg().get_page_meta("38%2F..", 2), "page_id"),
    Case("hg-meta_id-float", lambda: hg().update_page_meta(38, 2.5, key="k", value_text="v"),  # type: ignore
         "meta_id"),
    Case("hg-meta_id-bool", lambda: hg().update_page_meta(38, True, key="k", value_text="v"), "meta_id"),
    Case("hg-meta_id-unicode-digits", lambda: hg().update_page_meta(38, "٣", key="k", value_text="v"), "meta_id"),
    Case("hg-meta_id-superscript", lambda: hg().update_page_meta(38, "²", key="k", value_text="v"), "meta_id"),
    Case("hg-key-empty", lambda: hg().update_page_meta(38, 2, key="", value_text="v"), "key"),
    Case("hg-key-none", lambda: hg().update_page_meta(38, 2, key=None, value_text="v"), "key"),  # type: ignore
    Case("hg-both-values", lambda: hg().update_page_meta(38, 2, key="k", value_text="v", value_file=1), "value_file"),
    Case("hg-no-value", lambda: hg().update_page_meta(38, 2, key="k", value_text=None), "value_text"),
    Case("hg-value_file-string", lambda: hg().update_page_meta(38, 1, key="k", value_file="1"),  # type: ignore
         "value_file"),
    Case("hg-value_text-dict", lambda: hg().create_page_meta(38, key="k", value_text={"a": 1}),  # type: ignore
         "value_text"),
    Case("hg-value_text-huge", lambda: hg().update_page_meta(38, 2, key="k", value_text=HUGE), "value_text"),
    # ------------------------------------------------------------ Hamgam operator
    Case("hg-op-page_id-rendered-junk", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id="38abc", text={"k": "v"})), "page_id"),
    Case("hg-op-text-rendered-string", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id=38, text="{'k': 'v'}")), "text"),  # type: ignore[arg-type]
    Case("hg-op-file-arabic-digit", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id=38, files={"og_image": "٣"})), "files['og_image']"),
    Case("hg-op-file-superscript", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id=38, files={"og_image": "²"})), "files['og_image']"),
    Case("hg-op-page_id-arabic-digits", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id="٣٨", text={"k": "v"})), "page_id"),
    Case("hg-op-text-huge", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id=38, text={"k": HUGE})), "text['k']"),
    Case("hg-op-nothing", lambda: run(HamgamUpdatePageMetaOperator(task_id="t", page_id=38)), "text"),
    # ------------------------------------------------------------ Buildin hook
    Case("bi-page_id-not-uuid", lambda: bi().update_page("123", properties=BI_TITLE), "page_id"),
    Case("bi-page_id-traversal", lambda: bi().get_page("../users/me"), "page_id"),
    Case("bi-page_id-uuid-plus-path", lambda: bi().get_page(BI_PAGE + "%2F..%2Fusers"), "page_id"),
    Case("bi-page_id-none", lambda: bi().update_page(None, properties=BI_TITLE), "page_id"),  # type: ignore
    Case("bi-properties-string", lambda: bi().update_page(BI_PAGE, properties="title"), "properties"),  # type: ignore
    Case("bi-properties-empty", lambda: bi().update_page(BI_PAGE, properties={}), "properties"),
    Case("bi-icon-unknown-type", lambda: bi().update_page(BI_PAGE, icon={"type": "file", "file": {}}), "icon"),
    Case("bi-cover-javascript-url", lambda: bi().update_page(
        BI_PAGE, cover={"type": "external", "external": {"url": "javascript:alert(1)"}}), "cover.external.url"),
    Case("bi-in_trash-string", lambda: bi().update_page(BI_PAGE, in_trash="yes"), "in_trash"),  # type: ignore
    Case("bi-if_match-header-injection", lambda: bi().update_page(
        BI_PAGE, properties=BI_TITLE, if_match='"3"\r\nX-Evil: 1'), "if_match"),
    Case("bi-property-value-not-serialisable", lambda: bi().update_page(
        BI_PAGE, properties={"Count": {"number": {1, 2}}}), "properties.Count"),
    Case("bi-title-huge", lambda: bi().update_page(
        BI_PAGE, properties={"title": {"title": [{"type": "text", "text": {"content": HUGE}}]}}), "properties.title"),
    # ------------------------------------------------------------ Buildin operator
    Case("bi-op-page_id-rendered-none", lambda: run(BuildinUpdatePageOperator(
        task_id="t", page_id="None", properties=BI_TITLE)), "page_id"),
    Case("bi-op-nothing", lambda: run(BuildinUpdatePageOperator(task_id="t", page_id=BI_PAGE)), "properties"),
    Case("bi-op-in_trash-rendered-junk", lambda: run(BuildinUpdatePageOperator(
        task_id="t", page_id=BI_PAGE, in_trash="sometimes")), "in_trash"),
    Case("bi-op-max_conflicts-superscript", lambda: run(BuildinUpdatePageOperator(
        task_id="t", page_id=BI_PAGE, properties=BI_TITLE, optimistic=True, max_conflicts="²")), "max_conflicts"),
    # ------------------------------------------------------------ the journal argument, every writing operator
    Case("journal-relative-path", lambda: run(WebflowUpdatePageOperator(
        task_id="t", page_id=WF_PAGE, title="t", journal="journals/here")), "journal"),
    Case("journal-rendered-empty", lambda: run(WebflowBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_id": WF_PAGE, "title": "t"}], journal="")), "journal"),
    Case("journal-a-number", lambda: run(ButterCMSUpdatePageOperator(
        task_id="t", page_type="faq", page_slug="faq", fields=FIELDS, journal=1)), "journal"),
    Case("journal-bucketless", lambda: run(ButterCMSBulkUpdatePagesOperator(
        task_id="t", updates=[{"page_type": "faq", "page_slug": "faq", "fields": FIELDS}], journal="s3://")),
        "journal"),
    Case("journal-relative-file-uri", lambda: run(HamgamUpdatePageMetaOperator(
        task_id="t", page_id=38, text={"a": "b"}, journal="file://journals")), "journal"),
    Case("journal-a-list", lambda: run(BuildinUpdatePageOperator(
        task_id="t", page_id=BI_PAGE, in_trash=False, journal=["/tmp"])), "journal"),
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.id for c in CATALOGUE])
def test_bad_input(sandbox, pagemeta_connections, case):
    if case.argument is not None:
        with pytest.raises(CMSValidationError) as info:
            case.call()
        assert info.value.argument == case.argument, str(info.value)
        assert info.value.status_code is None  # refused on our side, not by the CMS
        assert sandbox.requests() == []
        return
    try:
        case.call()
    except CMSNotFoundError:
        pass  # the odd slug names no page: what matters is where the request went
    except CMSError as exc:
        assert not isinstance(exc, CMSValidationError) or exc.status_code is not None, str(exc)
    [entry] = sandbox.requests()
    assert entry["path"] == case.path
    if case.query is not None:
        assert entry["query"] == case.query


def test_catalogue_is_large_and_ids_unique():
    assert len(CATALOGUE) >= 40
    assert len({c.id for c in CATALOGUE}) == len(CATALOGUE)
