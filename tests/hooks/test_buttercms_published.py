"""ButterCMS: an update sent with ``status="published"`` is confirmed on the published read.

Visitors see the published version (the Read API without ``preview``); ``preview=1`` shows the
latest draft. Confirming a published update on the draft read would pass before anyone sees it
(a "published with draft" page already shows the value in its draft), so every wait (the
operator's in place, the operator deferred to the trigger, the sensor with ``preview=False``, and
the bulk operator's plan and wait) reads without ``preview`` for published updates, and with
``preview=1`` for drafts. The sandbox's request log shows which read each wait used.

The demo page ``faq/faq`` is "published with draft": its draft headline is "FAQ (draft)", its
published one "Frequently Asked Questions". ``landing-page/spring-sale`` was never published: the
published read is a 404 until an update publishes it, which a wait reads as "not there yet".
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_pagemeta._compat import AirflowSensorTimeout, TaskDeferred
from airflow_provider_pagemeta.exceptions import CMSNotFoundError
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator, ButterCMSUpdatePageOperator
from airflow_provider_pagemeta.sensors.buttercms import ButterCMSPageUpdateSensor
from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

pytestmark = pytest.mark.compat

DRAFT_HEADLINE = "FAQ (draft)"  # what faq/faq's draft already shows
LIVE_HEADLINE = "Frequently Asked Questions"


@pytest.fixture
def conns(pagemeta_connections: dict[str, str]) -> dict[str, str]:
    return pagemeta_connections


def reads(sandbox: Any, slug: str | None = None) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("buttercms") if r["method"] == "GET"
            and (slug is None or r["path"].endswith(f"/{slug}/"))]


def published_reads(entries: list[dict[str, Any]]) -> bool:
    return bool(entries) and all("preview" not in r["query"] for r in entries)


def draft_reads(entries: list[dict[str, Any]]) -> bool:
    return bool(entries) and all(r["query"].get("preview") == "1" for r in entries)


async def first_event(trigger: ButterCMSPageUpdateTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


# ---------------------------------------------------------------------- operator, in place
def test_published_update_waits_on_the_published_read_not_the_draft(sandbox, conns):
    # The draft already says DRAFT_HEADLINE: a draft read would "confirm" before the PATCH lands.
    sandbox.config(buttercms_apply_delay=0.4)
    op = ButterCMSUpdatePageOperator(task_id="p", page_type="faq", page_slug="faq",
                                     fields={"headline": DRAFT_HEADLINE}, status="published",
                                     wait_for_completion=True, poll_interval=0.1, timeout=20)
    result = op.execute({})
    assert result["page"]["fields"]["headline"] == DRAFT_HEADLINE
    waits = reads(sandbox)
    assert published_reads(waits) and len(waits) >= 2  # the first read still showed the old value
    assert ButterCMSHook().get_page("faq", "faq", preview=False)["fields"]["headline"] == DRAFT_HEADLINE


def test_draft_update_still_waits_on_the_draft_read(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.2)
    op = ButterCMSUpdatePageOperator(task_id="d", page_type="faq", page_slug="faq",
                                     fields={"headline": "FAQ (next draft)"}, wait_for_completion=True,
                                     poll_interval=0.1, timeout=20)
    assert op.execute({})["page"]["fields"]["headline"] == "FAQ (next draft)"
    assert draft_reads(reads(sandbox))
    assert ButterCMSHook().get_page("faq", "faq", preview=False)["fields"]["headline"] == LIVE_HEADLINE


def test_first_publish_of_a_draft_only_page_waits_through_the_404(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.4)
    op = ButterCMSUpdatePageOperator(task_id="f", page_type="landing-page", page_slug="spring-sale",
                                     fields={"headline": "Spring Sale is on"}, status="published",
                                     wait_for_completion=True, poll_interval=0.1, timeout=20)
    assert op.execute({})["page"]["fields"]["headline"] == "Spring Sale is on"
    waits = reads(sandbox)
    assert published_reads(waits)
    assert waits[0]["status"] == 404 and waits[-1]["status"] == 200  # not published yet, then live


# ---------------------------------------------------------------------- operator, deferred
def test_deferred_published_update_hands_the_trigger_a_published_read(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.4)
    op = ButterCMSUpdatePageOperator(task_id="t", page_type="landing-page", page_slug="spring-sale",
                                     fields_by_locale={"en": {"headline": "Sale!"}, "es": {"headline": "¡Rebajas!"}},
                                     status="published", deferrable=True, poll_interval=0.1, timeout=20)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    trigger = deferred.value.trigger
    assert [spec["preview"] for spec in trigger.pages] == [False]
    assert trigger.serialize()[1]["pages"][0]["preview"] is False  # what the triggerer gets
    sandbox.clear_requests()
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "success"
    headlines = {locale: page["fields"]["headline"] for locale, page in event["page"].items()}
    assert headlines == {"en": "Sale!", "es": "¡Rebajas!"}
    assert published_reads(reads(sandbox)) and sandbox.writes("buttercms") == []  # the trigger only reads
    result = op.execute_complete({}, event=event, **deferred.value.kwargs)
    assert result["page"]["es"]["fields"]["headline"] == "¡Rebajas!"


def test_deferred_draft_update_keeps_the_draft_read(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.3)
    op = ButterCMSUpdatePageOperator(task_id="t", page_type="faq", page_slug="faq", fields={"headline": "Soon"},
                                     deferrable=True, poll_interval=0.1, timeout=20)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    assert deferred.value.trigger.pages[0]["preview"] is True
    sandbox.clear_requests()
    assert asyncio.run(first_event(deferred.value.trigger))["status"] == "success"
    assert draft_reads(reads(sandbox))


# ---------------------------------------------------------------------- sensor
def test_sensor_with_preview_false_passes_only_on_what_visitors_see(sandbox, conns):
    expected = {"headline": DRAFT_HEADLINE}
    draft = ButterCMSPageUpdateSensor(task_id="d", page_type="faq", page_slug="faq", expected_fields=expected)
    assert draft.poke({}).is_done is True  # the draft shows it
    assert draft_reads(reads(sandbox))
    sandbox.clear_requests()
    live = ButterCMSPageUpdateSensor(task_id="l", page_type="faq", page_slug="faq", expected_fields=expected,
                                     preview="False", poke_interval=0.05, timeout=0.3)  # as a template renders it
    assert live.poke({}).is_done is False and live.last_differing == ["headline"]
    with pytest.raises(AirflowSensorTimeout, match="differing: headline"):
        live.execute({})
    assert published_reads(reads(sandbox))
    sandbox.config(buttercms_apply_delay=0)
    ButterCMSHook().update_page("faq", "faq", fields=expected, status="published")
    assert live.poke({}).xcom_value["fields"]["headline"] == DRAFT_HEADLINE


def test_deferrable_sensor_with_preview_false_defers_a_published_read(sandbox, conns):
    sensor = ButterCMSPageUpdateSensor(task_id="s", page_type="landing-page", page_slug="spring-sale",
                                       expected_fields={"headline": "Spring Sale"}, preview=False, deferrable=True,
                                       poke_interval=1, timeout=30)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})  # never published: the first poke reads a 404 as "not yet", and defers
    assert deferred.value.trigger.pages[0]["preview"] is False
    assert [(r["status"], r["query"]) for r in reads(sandbox)] == [(404, {})]


def test_a_missing_page_on_the_draft_read_still_fails_at_once(sandbox, conns):
    sensor = ButterCMSPageUpdateSensor(task_id="m", page_type="faq", page_slug="nope",
                                       expected_fields={"headline": "x"})
    with pytest.raises(CMSNotFoundError):
        sensor.poke({})


# ---------------------------------------------------------------------- bulk
def rows() -> list[dict[str, Any]]:
    return [
        # The draft already shows this, the published page does not: a published row must write it.
        {"page_type": "faq", "page_slug": "faq", "status": "published", "fields": {"headline": DRAFT_HEADLINE}},
        # Never published: no published version to compare with, so everything is a change.
        {"page_type": "landing-page", "page_slug": "spring-sale", "status": "published",
         "fields": {"headline": "Spring Sale 2027"}},
        # A draft row keeps the draft read.
        {"page_type": "landing-page", "page_slug": "home", "fields": {"headline": "Welcome (draft 2027)"}},
    ]


def test_bulk_published_rows_plan_and_confirm_on_the_published_read(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.3)
    summary = ButterCMSBulkUpdatePagesOperator(task_id="b", updates=rows(), wait_for_completion=True,
                                               poll_interval=0.1, timeout=20).execute(context={})
    assert (summary["updated"], summary["unchanged"], summary["failed"], summary["confirmed"]) == (3, 0, 0, 3)
    assert [w["body"]["status"] for w in sandbox.writes("buttercms")] == ["published", "published", "draft"]
    assert published_reads(reads(sandbox, "faq")) and published_reads(reads(sandbox, "spring-sale"))
    assert draft_reads(reads(sandbox, "home"))
    hook = ButterCMSHook()
    assert hook.get_page("faq", "faq", preview=False)["fields"]["headline"] == DRAFT_HEADLINE
    assert hook.get_page("landing-page", "spring-sale", preview=False)["fields"]["headline"] == "Spring Sale 2027"


def test_bulk_dry_run_of_published_rows_diffs_against_the_published_page(sandbox, conns):
    summary = ButterCMSBulkUpdatePagesOperator(task_id="b", updates=rows(), dry_run=True).execute(context={})
    assert summary["changes"]["faq/faq"] == {"fields.headline": {"old": LIVE_HEADLINE, "new": DRAFT_HEADLINE}}
    assert summary["changes"]["landing-page/spring-sale"] == {"fields.headline": {"new": "Spring Sale 2027"}}
    assert sandbox.writes("buttercms") == []


def test_bulk_deferred_with_published_rows_gives_the_trigger_published_reads(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.3)
    task = ButterCMSBulkUpdatePagesOperator(task_id="b", updates=rows(), deferrable=True, poll_interval=0.1,
                                            timeout=20)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context={})
    assert [(p["page_slug"], p["preview"]) for p in deferred.value.trigger.pages] == [
        ("faq", False), ("spring-sale", False), ("home", True)]
    sandbox.clear_requests()
    event = asyncio.run(first_event(deferred.value.trigger))
    assert event["status"] == "success"
    assert published_reads(reads(sandbox, "faq")) and published_reads(reads(sandbox, "spring-sale"))
    assert draft_reads(reads(sandbox, "home"))
    assert task.execute_complete(context={}, event=event, **deferred.value.kwargs)["confirmed"] == 3
