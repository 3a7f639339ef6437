"""ButterCMSBulkUpdatePagesOperator on the shared bulk engine, over real sockets."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from airflow_provider_pagemeta._compat import AirflowException, TaskDeferred
from airflow_provider_pagemeta.bulk.engine import BulkFailedError
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator
from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

pytestmark = pytest.mark.compat

PAGES = "/buttercms/v2/pages/*"


def rows() -> list[dict]:
    """Four real changes and one row that already matches the demo data."""
    return [
        {"page_type": "landing-page", "page_slug": "home", "fields": {"seo": {"title": "Home | Acme 2027"}}},
        {"page_type": "landing-page", "page_slug": "home", "locale": "es",
         "fields": {"headline": "Bienvenidos 2027"}},
        {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "FAQ 2027"}},
        {"page_type": "landing-page", "page_slug": "spring-sale",
         "fields_by_locale": {"en": {"headline": "Sale 2027"}, "es": {"headline": "Rebajas 2027"}}},
        {"page_type": "landing-page", "page_slug": "home", "locale": "en",
         "fields": {"headline": "Welcome to Acme"}},
    ]


def writes(sandbox) -> list[dict]:
    return sandbox.writes("buttercms")


def op(**kwargs) -> ButterCMSBulkUpdatePagesOperator:
    kwargs.setdefault("updates", rows())
    return ButterCMSBulkUpdatePagesOperator(task_id="bulk", **kwargs)


@pytest.fixture
def instant(sandbox):
    sandbox.config(buttercms_apply_delay=0)


def test_skips_unchanged_and_writes_the_rest(sandbox, pagemeta_connections, instant):
    summary = op().execute(context={})
    assert [w["path"] for w in writes(sandbox)] == [
        "/buttercms/v2/pages/landing-page/home/", "/buttercms/v2/pages/landing-page/home/",
        "/buttercms/v2/pages/faq/faq/", "/buttercms/v2/pages/landing-page/spring-sale/",
    ]
    assert writes(sandbox)[1]["query"] == {"locale": "es"}
    assert (summary["total"], summary["updated"], summary["unchanged"], summary["failed"]) == (5, 4, 1, 0)
    assert summary["changed_pages"] == [
        "landing-page/home", "landing-page/home@es", "faq/faq", "landing-page/spring-sale"]
    reads = [(r["path"], r["query"].get("locale"), r["query"].get("page")) for r in sandbox.requests("buttercms")
             if r["method"] == "GET"]
    # Two listings hold two wanted pages each (landing-page in es and en); home in the default
    # locale and faq/faq are the only pages of their listing, so each costs one single read.
    assert sorted(reads, key=str) == sorted([
        ("/buttercms/v2/pages/landing-page/", "es", "1"), ("/buttercms/v2/pages/landing-page/", "en", "1"),
        ("/buttercms/v2/pages/landing-page/home/", None, None), ("/buttercms/v2/pages/faq/faq/", None, None),
    ], key=str)
    assert summary["requests"] == len(sandbox.requests("buttercms")) == 4 + 4


def test_rerun_after_success_writes_nothing(sandbox, pagemeta_connections, instant):
    op().execute(context={})
    before = len(writes(sandbox))
    summary = op().execute(context={})
    assert len(writes(sandbox)) == before
    assert (summary["updated"], summary["unchanged"]) == (0, 5)


def test_dry_run_sends_no_write_and_returns_the_diff(sandbox, pagemeta_connections, caplog):
    caplog.set_level(logging.INFO)
    summary = op(dry_run=True).execute(context={})
    assert writes(sandbox) == []
    assert summary["dry_run"] is True
    assert summary["changes"]["landing-page/home"] == {
        "fields.seo.title": {"old": "Home | Acme", "new": "Home | Acme 2027"}}
    assert summary["changes"]["landing-page/spring-sale"]["fields.es.headline"]["new"] == "Rebajas 2027"
    assert summary["changes"]["landing-page/home@en"] == {}


def test_missing_pages_fail_alone_within_max_failures(sandbox, pagemeta_connections, instant):
    updates = rows()[:3] + [
        {"page_type": "faq", "page_slug": f"missing-{i}", "fields": {"headline": "x"}} for i in range(3)]
    summary = op(updates=updates, max_failures=5).execute(context={})
    assert (summary["failed"], summary["updated"]) == (3, 3)
    assert {f["page"] for f in summary["failures"]} == {f"faq/missing-{i}" for i in range(3)}
    assert all(f["status_code"] == 404 for f in summary["failures"])
    assert len(writes(sandbox)) == 3


def test_failures_over_the_limit_fail_the_task_after_trying_every_page(sandbox, pagemeta_connections, instant):
    updates = [{"page_type": "faq", "page_slug": "missing", "fields": {"headline": "x"}}, *rows()[:3]]
    with pytest.raises(BulkFailedError) as info:
        op(updates=updates, skip_unchanged=False, journal=False).execute(context={})  # no read at all
    assert info.value.summary["failed"] == 1 and info.value.summary["updated"] == 3
    assert len(writes(sandbox)) == 4  # the failing page came first; the other three were still written


def test_bad_row_fails_before_any_request_naming_it(sandbox, pagemeta_connections):
    updates = rows()
    updates[2] = {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "x"}, "status": "live"}
    with pytest.raises(CMSValidationError) as info:
        op(updates=updates).execute(context={})
    assert info.value.argument == "updates[2].status"
    assert "updates[2]" in str(info.value)
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    ("updates", "argument"),
    [("not a list", "updates"), ([["page_type", "faq"]], "updates[0]"),
     ([{"page_type": "faq", "page_slug": "faq", "fields": {"a": 1}, "colour": "red"}], "updates[0]"),
     ([{"page_type": "faq", "page_slug": "faq", "fields": {"a": 1}},
       {"page_type": "faq", "page_slug": "faq", "fields": {"b": 2}}], "updates[1]")],
)
def test_row_shapes_and_duplicates(sandbox, pagemeta_connections, updates, argument):
    with pytest.raises(CMSValidationError) as info:
        op(updates=updates).execute(context={})
    assert info.value.argument == argument
    assert sandbox.requests() == []


def test_updates_rendered_as_a_string_are_read_as_a_list(sandbox, pagemeta_connections, instant):
    summary = op(updates=json.dumps(rows()[:1])).execute(context={})
    assert summary["updated"] == 1


def test_updates_rendered_as_a_python_literal_are_refused_naming_the_fix(sandbox, pagemeta_connections):
    with pytest.raises(CMSValidationError, match=r"not a JSON list.*tojson") as info:
        op(updates=str(rows()[:1])).execute(context={})
    assert info.value.argument == "updates" and sandbox.requests() == []


def test_auth_failure_stops_the_run_and_skips_the_rest(sandbox, pagemeta_connections, instant):
    sandbox.fault(method="PATCH", path=PAGES, status=401, body={"detail": "Invalid token."})
    with pytest.raises(BulkFailedError) as info:
        op(skip_unchanged=False).execute(context={})
    summary = info.value.summary
    assert (summary["failed"], summary["skipped"], summary["updated"]) == (1, 4, 0)
    assert len(writes(sandbox)) == 1


def test_interrupted_run_resumes_without_duplicate_writes(sandbox, pagemeta_connections, instant):
    """Killed after two pages (the third write is refused), then retried: only the rest is written."""
    sandbox.fault(method="PATCH", path=PAGES, status=403, body={"detail": "Plan limit."}, skip=2, count=1)
    with pytest.raises(BulkFailedError) as info:
        op().execute(context={})
    assert (info.value.summary["updated"], info.value.summary["skipped"]) == (2, 1)
    summary = op().execute(context={})
    assert (summary["updated"], summary["unchanged"]) == (2, 3)
    accepted = [(w["path"], w["query"].get("locale")) for w in writes(sandbox) if w["status"] == 202]
    assert len(accepted) == 4 == len(set(accepted))  # every changed page written exactly once


def test_wait_for_completion_confirms_all_with_one_poller(sandbox, pagemeta_connections):
    sandbox.config(buttercms_apply_delay=0.4)
    summary = op(wait_for_completion=True, poll_interval=0.2, timeout=30).execute(context={})
    assert summary["confirmed"] == 4
    reads_after_writes = [r for r in sandbox.requests("buttercms")[summary["requests"]:] if r["method"] == "GET"]
    assert reads_after_writes, "the poller read the pages back"


def test_deferrable_uses_one_trigger_for_every_page(sandbox, pagemeta_connections):
    sandbox.config(buttercms_apply_delay=0.3)
    task = op(deferrable=True, poll_interval=0.2, timeout=30)
    with pytest.raises(TaskDeferred) as info:
        task.execute(context={})
    trigger = info.value.trigger
    assert isinstance(trigger, ButterCMSPageUpdateTrigger)
    assert len(trigger.pages) == 4
    patches = len(writes(sandbox))

    async def first_event():
        async for event in trigger.run():
            return event.payload
        return None

    event = asyncio.run(first_event())
    assert event["status"] == "success"
    result = task.execute_complete(context={}, event=event, **info.value.kwargs)
    assert result["confirmed"] == 4 and result["updated"] == 4
    assert len(writes(sandbox)) == patches  # resuming never re-sends an update


def test_deferred_timeout_names_the_pages_that_never_arrived(sandbox, pagemeta_connections):
    # Accepted with 202 and dropped: the sandbox answers but never applies the update.
    sandbox.fault(method="PATCH", path="/buttercms/v2/pages/faq/*", status=202, body={"status": "pending"})
    sandbox.config(buttercms_apply_delay=0)
    task = op(updates=rows()[:3], deferrable=True, poll_interval=0.1, timeout=0.6)
    with pytest.raises(TaskDeferred) as info:
        task.execute(context={})

    async def first_event():
        async for event in info.value.trigger.run():
            return event.payload
        return None

    event = asyncio.run(first_event())
    assert event["status"] == "timeout"
    with pytest.raises(AirflowException, match=r"faq/faq: headline"):
        task.execute_complete(context={}, event=event, **info.value.kwargs)
