"""Waiting for ButterCMS updates to land: sensor, trigger, operator (in place and deferred)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_pagemeta._compat import AirflowException, AirflowSensorTimeout, TaskDeferred
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.operators.buttercms import ButterCMSUpdatePageOperator
from airflow_provider_pagemeta.payloads.buttercms import page_spec
from airflow_provider_pagemeta.sensors.buttercms import ButterCMSPageUpdateSensor
from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

pytestmark = pytest.mark.compat

SEO = {"en": {"seo": {"title": "New EN"}}, "es": {"seo": {"title": "Nuevo ES"}}}
CLASSPATH = "airflow_provider_pagemeta.triggers.buttercms.ButterCMSPageUpdateTrigger"


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


async def collect(trigger: ButterCMSPageUpdateTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


@pytest.fixture
def conns(pagemeta_connections: dict[str, str]) -> dict[str, str]:
    return pagemeta_connections


# ---------------------------------------------------------------------- sensor
def test_sensor_poke_is_false_until_the_update_lands_then_true(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.4)
    ButterCMSHook().update_page("landing-page", "home", fields_by_locale=SEO)
    sensor = ButterCMSPageUpdateSensor(task_id="s", page_type="landing-page", page_slug="home",
                                       expected_fields_by_locale=SEO)
    first = sensor.poke({})
    assert first.is_done is False and first.xcom_value is None
    assert sensor.last_differing == ["en:seo.title", "es:seo.title"]
    confirmed: list[Any] = []
    wait_until(lambda: (result := sensor.poke({})).is_done and not confirmed.append(result.xcom_value))
    assert confirmed[0]["es"]["fields"]["seo"]["title"] == "Nuevo ES"
    reads = [r for r in sandbox.requests("buttercms") if r["method"] == "GET"]
    assert {r["query"]["locale"] for r in reads} == {"en", "es"} and all(r["query"]["preview"] == "1" for r in reads)


def test_sensor_execute_returns_confirmed_page_and_times_out_naming_fields(sandbox, conns):
    ok = ButterCMSPageUpdateSensor(task_id="ok", page_type="faq", page_slug="faq",
                                   expected_fields={"headline": "FAQ (draft)"}, poke_interval=0.05, timeout=2)
    assert ok.execute({})["fields"]["headline"] == "FAQ (draft)"
    never = ButterCMSPageUpdateSensor(task_id="never", page_type="faq", page_slug="faq", locale="es",
                                      expected_fields={"headline": "never"}, poke_interval=0.05, timeout=0.2)
    with pytest.raises(AirflowSensorTimeout, match=r"faq/faq .*differing: headline"):
        never.execute({})


def test_sensor_validates_after_templating_before_any_request(sandbox, conns):
    sensor = ButterCMSPageUpdateSensor(task_id="bad", page_type="faq", page_slug="faq",
                                       expected_fields={"a": 1}, expected_fields_by_locale={"en": {"a": 1}})
    with pytest.raises(CMSValidationError) as err:
        sensor.execute({})
    assert err.value.argument == "expected_fields"
    assert sandbox.requests("buttercms") == []


def test_deferrable_sensor_defers_with_a_single_page_trigger(sandbox, conns):
    sandbox.config(buttercms_apply_delay=60)
    ButterCMSHook().update_page("landing-page", "home", fields={"headline": "Soon"})
    sensor = ButterCMSPageUpdateSensor(task_id="d", page_type="landing-page", page_slug="home",
                                       expected_fields={"headline": "Soon"}, deferrable=True,
                                       poke_interval=1, timeout=30)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, ButterCMSPageUpdateTrigger) and deferred.value.method_name == "execute_complete"
    assert trigger.pages == [page_spec("landing-page", "home", expected_fields={"headline": "Soon"})]
    assert trigger.poll_interval == 1.0 and 25 < trigger.end_time - time.time() <= 30
    timeout_event = {"status": "timeout", "page_type": "landing-page", "page_slug": "home",
                     "differing": ["headline"], "message": "still differs"}
    with pytest.raises(AirflowSensorTimeout, match=r"landing-page/home.*differing: headline"):
        sensor.execute_complete({}, event=timeout_event)
    with pytest.raises(AirflowException, match="boom"):
        sensor.execute_complete({}, event={**timeout_event, "status": "error", "message": "boom"})
    assert sensor.execute_complete({}, event={**timeout_event, "status": "success", "page": {"x": 1}}) == {"x": 1}


# ---------------------------------------------------------------------- trigger
def test_trigger_serialize_round_trips():
    trigger = ButterCMSPageUpdateTrigger.for_page(
        "faq", "faq", expected_fields_by_locale=SEO, poll_interval=2, end_time=1_900_000_000.5,
        buttercms_conn_id="bc",
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert kwargs == {"pages": [{"page_type": "faq", "page_slug": "faq", "preview": True,
                                 "expected_fields_by_locale": SEO}],
                      "poll_interval": 2.0, "end_time": 1_900_000_000.5, "buttercms_conn_id": "bc"}
    assert ButterCMSPageUpdateTrigger(**kwargs).serialize() == (classpath, kwargs)


async def test_trigger_yields_success_once_the_update_lands(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.3)
    ButterCMSHook().update_page("landing-page", "home", fields={"headline": "Done"}, locale="es")
    trigger = ButterCMSPageUpdateTrigger.for_page(
        "landing-page", "home", expected_fields={"headline": "Done"}, locale="es",
        poll_interval=0.1, end_time=time.time() + 10,
    )
    [event] = await collect(trigger)
    payload = event.payload
    assert {k: payload[k] for k in ("status", "page_type", "page_slug", "differing")} == {
        "status": "success", "page_type": "landing-page", "page_slug": "home", "differing": []}
    assert payload["page"]["fields"]["headline"] == "Done"
    assert set(payload) == {"status", "page_type", "page_slug", "differing", "message", "pages", "page"}
    assert [(p["page_slug"], p["status"]) for p in payload["pages"]] == [("home", "success")]  # one shape
    gets = [r for r in sandbox.requests("buttercms") if r["method"] == "GET"]
    assert len(gets) >= 2 and sandbox.writes("buttercms")[-1]["method"] == "PATCH"  # the trigger only reads
    assert len(sandbox.writes("buttercms")) == 1


async def test_trigger_times_out_when_the_update_never_lands(sandbox, conns):
    sandbox.config(buttercms_apply_delay=60)
    ButterCMSHook().update_page("faq", "faq", fields={"seo": {"title": "Late"}})
    trigger = ButterCMSPageUpdateTrigger.for_page(
        "faq", "faq", expected_fields={"seo": {"title": "Late"}}, poll_interval=0.1, end_time=time.time() + 0.4,
    )
    ticks = 0

    async def ticker() -> None:  # runs only if the trigger's waits yield to the event loop
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    [event] = await collect(trigger)
    ticking.cancel()
    assert ticks > 10
    assert event.payload["status"] == "timeout"
    assert event.payload["differing"] == ["seo.title"] and "faq/faq" in event.payload["message"]
    assert "page" not in event.payload


async def test_trigger_reports_errors_as_an_event_without_the_token(sandbox, conns):
    trigger = ButterCMSPageUpdateTrigger.for_page(
        "faq", "missing", expected_fields={"headline": "x"}, poll_interval=0.1, end_time=time.time() + 5,
    )
    [event] = await collect(trigger)
    assert event.payload["status"] == "error" and "Page not found." in event.payload["message"]
    assert "bc-sandbox" not in event.payload["message"]


async def test_one_trigger_watches_many_pages(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.2)
    hook = ButterCMSHook()
    hook.update_page("landing-page", "home", fields={"headline": "A"})
    hook.update_page("faq", "faq", fields_by_locale={"es": {"headline": "B"}})
    pages = [
        page_spec("landing-page", "home", expected_fields={"headline": "A"}),
        page_spec("faq", "faq", expected_fields_by_locale={"es": {"headline": "B"}}),
        page_spec("faq", "missing", expected_fields={"headline": "C"}),
    ]
    trigger = ButterCMSPageUpdateTrigger(pages, poll_interval=0.1, end_time=time.time() + 10)
    [event] = await collect(trigger)
    payload = event.payload
    assert payload["status"] == "error" and (payload["page_type"], payload["page_slug"]) == ("faq", "missing")
    assert [(p["page_slug"], p["status"], p["differing"]) for p in payload["pages"]] == [
        ("home", "success", []), ("faq", "success", []), ("missing", "error", [])]
    missing_reads = [r for r in sandbox.requests("buttercms") if r["path"].endswith("/missing/")]
    assert len(missing_reads) == 1  # a failed page is not read again


# ---------------------------------------------------------------------- operator
def test_operator_without_waiting_returns_the_202_body(sandbox, conns):
    op = ButterCMSUpdatePageOperator(task_id="u", page_type="faq", page_slug="faq", fields={"headline": "x"},
                                     journal=False)
    assert op.execute({}) == {"status": "pending", "journal": None}
    assert [r["method"] for r in sandbox.requests("buttercms")] == ["PATCH"]


def test_operator_with_a_journal_reads_the_draft_first(sandbox, conns, tmp_path):
    op = ButterCMSUpdatePageOperator(task_id="u", page_type="faq", page_slug="faq", fields={"headline": "x"},
                                     journal=str(tmp_path))
    result = op.execute({})
    assert [(r["method"], r["query"].get("preview")) for r in sandbox.requests("buttercms")] == [
        ("GET", "1"), ("PATCH", None)]
    [line] = read_journal(result["journal"])
    assert line["changes"] == {"fields.headline": {"old": "FAQ (draft)", "new": "x"}}
    assert line["cms_options"] == {"status": "draft", "by_locale": False}


def test_operator_waits_in_place_and_returns_the_confirmed_page(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.2)
    op = ButterCMSUpdatePageOperator(task_id="w", page_type="landing-page", page_slug="home",
                                     fields_by_locale=SEO, status="published", wait_for_completion=True,
                                     poll_interval=0.1, timeout=10)
    result = op.execute({})
    assert result["status"] == "pending"
    assert result["page"]["en"]["fields"]["seo"] == {"title": "New EN", "description": "Acme makes things."}
    assert len(sandbox.writes("buttercms")) == 1


def test_operator_wait_times_out_naming_page_and_fields(sandbox, conns):
    sandbox.config(buttercms_apply_delay=60)
    op = ButterCMSUpdatePageOperator(task_id="t", page_type="faq", page_slug="faq", fields={"headline": "Late"},
                                     wait_for_completion=True, poll_interval=0.1, timeout=0.3)
    with pytest.raises(AirflowException, match=r"faq/faq .*headline"):
        op.execute({})


def test_deferrable_operator_patches_once_then_defers_and_completes(sandbox, conns):
    sandbox.config(buttercms_apply_delay=0.3)
    op = ButterCMSUpdatePageOperator(task_id="d", page_type="faq", page_slug="faq", fields={"headline": "Def"},
                                     deferrable=True, poll_interval=0.1, timeout=10)
    assert op.wait_for_completion is True
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    # read (the journal's old value), submit, check once
    assert [r["method"] for r in sandbox.requests("buttercms")] == ["GET", "PATCH", "GET"]
    assert deferred.value.method_name == "execute_complete"
    journal = deferred.value.kwargs["accepted"]["journal"]
    assert deferred.value.kwargs == {"accepted": {"status": "pending", "journal": journal}}
    assert [line["status"] for line in read_journal(journal)] == ["applied"]
    [event] = asyncio.run(collect(deferred.value.trigger))
    result = op.execute_complete({}, event=event.payload, **deferred.value.kwargs)
    assert result["status"] == "pending" and result["page"]["fields"]["headline"] == "Def"
    assert len(sandbox.writes("buttercms")) == 1  # resuming never re-sends the PATCH
    with pytest.raises(AirflowException, match=r"faq/faq not confirmed.*headline"):
        op.execute_complete({}, event={**event.payload, "status": "timeout", "differing": ["headline"]})


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"fields": {"a": 1}, "fields_by_locale": {"en": {"a": 1}}}, "fields"),
    ({"fields": {"a": 1}, "status": "live"}, "status"),
    ({"fields": {"a": 1}, "poll_interval": 0}, "poll_interval"),
    ({"fields": {"a": 1}, "timeout": "nan"}, "timeout"),
    ({"fields": {"a": 1}, "timeout": "\u0661\u0660"}, "timeout"),  # Arabic-Indic "10": not ASCII digits
])
def test_operator_validates_before_any_request(sandbox, conns, kwargs, argument):
    op = ButterCMSUpdatePageOperator(task_id="v", page_type="faq", page_slug="faq", **kwargs)
    with pytest.raises(CMSValidationError) as err:
        op.execute({})
    assert err.value.argument == argument
    assert sandbox.requests("buttercms") == []


# ---------------------------------------------------------------------- example DAG
@pytest.mark.dags
def test_example_dag_publishes_both_locales_through_the_deferrable_sensor(
    run_dag, sandbox, conns, pagemeta_sandbox_server
):
    # The write is held back until the trigger is seen polling, so the sensor's check on the worker
    # always sees the old values and defers, however long the task start-up takes (a fixed apply
    # delay of 6 s, then 15 s, was too short on a loaded 2-core machine). Then it lands, by moving
    # the sandbox's clock past its due time, and the trigger confirms it.
    sandbox.config(buttercms_apply_delay=3600)
    state = pagemeta_sandbox_server.app.state
    real_clock = state.clock

    def reads_after_the_write() -> int:
        log = [r for r in list(state.requests) if r["path"].startswith("/buttercms/")]
        write = next((i for i, r in enumerate(log) if r["method"] not in ("GET", "HEAD")), None)
        return 0 if write is None else sum(r["method"] == "GET" for r in log[write + 1 :])

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_dag, "buttercms_publish")
        try:
            # At most 2 reads are the worker's check (one per locale); more means the trigger polls.
            wait_until(lambda: reads_after_the_write() > 2 or running.done(), timeout=300)
            state.clock = lambda: real_clock() + 7200
            result = running.result(timeout=300)
        finally:
            state.clock = real_clock
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "running trigger in line" in result.stdout + result.stderr
    writes = sandbox.writes("buttercms")
    assert len(writes) == 1 and writes[0]["body"]["status"] == "published"
    hook = ButterCMSHook()
    for locale in ("en", "es"):
        live = hook.get_page("landing-page", "home", locale=locale, preview=False)["fields"]["seo"]
        assert live == writes[0]["body"]["fields"][locale]["seo"]
