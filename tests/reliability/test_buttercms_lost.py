"""A ButterCMS update that is accepted (202) and then lost must fail loudly, not pass silently.

The sandbox answers the PATCH with ``202 {"status": "pending"}`` from a fault, so the emulator
never sees the update: exactly what a CMS that drops a queued job looks like from outside. The
sensor (poke and deferrable) and the waiting operator (in place and deferred) must all fail at
their timeout with a message naming the page and the fields that never arrived, and must never
send the PATCH again.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_pagemeta._compat import AirflowException, AirflowSensorTimeout, TaskDeferred
from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook
from airflow_provider_pagemeta.operators.buttercms import ButterCMSUpdatePageOperator
from airflow_provider_pagemeta.sandbox.control import SandboxControl
from airflow_provider_pagemeta.sensors.buttercms import ButterCMSPageUpdateSensor
from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

PAGE = "/buttercms/v2/pages/faq/faq/"
FIELDS = {"headline": "Never arrives", "seo": {"title": "Lost title"}}
MISSING = r"headline, seo\.title"
TIMEOUT = 0.4
POLL = 0.1


@pytest.fixture
def lost_update(sandbox: SandboxControl, pagemeta_connections: dict[str, str]) -> SandboxControl:
    """Every PATCH of the page is accepted by a fault and never reaches the emulator."""
    sandbox.config(buttercms_apply_delay=0)
    sandbox.fault(method="PATCH", path=PAGE, status=202, body={"status": "pending"}, count=10)
    return sandbox


def patches(sandbox: SandboxControl) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("buttercms") if r["method"] == "PATCH"]


def assert_untouched(sandbox: SandboxControl) -> None:
    """The page still shows its old values: the update really was lost, not just slow."""
    assert [r.get("fault") for r in patches(sandbox)] == [True]  # one PATCH, answered by the fault
    page = ButterCMSHook().get_page("faq", "faq")
    assert page["fields"]["headline"] != FIELDS["headline"]


async def run_trigger(trigger: ButterCMSPageUpdateTrigger) -> TriggerEvent:
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    return events[0]


def test_poke_sensor_fails_at_its_timeout_naming_page_and_fields(lost_update):
    assert ButterCMSHook().update_page("faq", "faq", fields=FIELDS) == {"status": "pending"}
    sensor = ButterCMSPageUpdateSensor(task_id="s", page_type="faq", page_slug="faq", expected_fields=FIELDS,
                                       poke_interval=POLL, timeout=TIMEOUT)
    started = time.monotonic()
    with pytest.raises(AirflowSensorTimeout, match=rf"faq/faq.*differing: {MISSING}"):
        sensor.execute({})
    assert time.monotonic() - started < TIMEOUT + 5  # it stopped at its timeout
    assert_untouched(lost_update)


async def test_deferrable_sensor_fails_at_its_timeout_naming_page_and_fields(lost_update):
    ButterCMSHook().update_page("faq", "faq", fields=FIELDS)
    sensor = ButterCMSPageUpdateSensor(task_id="s", page_type="faq", page_slug="faq", expected_fields=FIELDS,
                                       poke_interval=POLL, timeout=TIMEOUT, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    event = await run_trigger(deferred.value.trigger)
    assert event.payload["status"] == "timeout"
    assert event.payload["differing"] == ["headline", "seo.title"]
    with pytest.raises(AirflowSensorTimeout, match=rf"faq/faq.*differing: {MISSING}"):
        sensor.execute_complete({}, event=event.payload)
    assert_untouched(lost_update)


def test_waiting_operator_fails_at_its_timeout_naming_page_and_fields(lost_update):
    op = ButterCMSUpdatePageOperator(task_id="w", page_type="faq", page_slug="faq", fields=FIELDS,
                                     wait_for_completion=True, poll_interval=POLL, timeout=TIMEOUT)
    with pytest.raises(AirflowException, match=rf"faq/faq.*{MISSING}"):
        op.execute({})
    assert_untouched(lost_update)


async def test_deferred_operator_fails_at_its_timeout_naming_page_and_fields(lost_update):
    op = ButterCMSUpdatePageOperator(task_id="d", page_type="faq", page_slug="faq", fields=FIELDS,
                                     deferrable=True, poll_interval=POLL, timeout=TIMEOUT)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    event = await run_trigger(deferred.value.trigger)
    assert event.payload["status"] == "timeout" and "faq/faq" in event.payload["message"]
    with pytest.raises(AirflowException, match=rf"faq/faq.*{MISSING}"):
        op.execute_complete({}, event=event.payload, **deferred.value.kwargs)
    assert_untouched(lost_update)
