"""Asset events from the bulk and publish operators: one event per run listing only the changed pages.

Proved with real Airflow: ``airflow dags test asset_seo_publish`` against the sandbox, then the
metadata DB is read with plain SQL (``asset_event`` and ``asset_dag_run_queue``, the tables the
scheduler turns into consumer runs). The producer updates, publishes, and only then emits the
event, so the pages it lists are live. A second run of the producer changes nothing, publishes
nothing and must leave both tables as they were. The consumer's code is then run on the very event
the producer stored, through Airflow's own scheduler step and ``airflow tasks test``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from airflow_provider_pagemeta.assets import ALIAS_PREFIX, changed_pages_extra
from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator
from tests.conftest import AIRFLOW_BIN, ROOT

PRODUCER, CONSUMER, ASSET = "asset_seo_publish", "asset_sitemap_rebuild", "webflow_seo_changes"
SITE_ID = "fdd818cce66350fd1bd9cac3"
CHANGED = ["1a899e75168b8b70a16df7fa", "99d3d7a60dc4cf435f8e31c6", "08b2b00e5290a0528c4be4fa"]
UNCHANGED = "aaf689f3bd64b47b4e1085f9"


def _sql(query: str, **params: Any) -> list[Any]:
    from airflow.settings import engine

    with engine.begin() as conn:
        result = conn.execute(text(query), params)
        return [tuple(row) for row in result] if result.returns_rows else []


@pytest.fixture
def consumer_unpaused(airflow_db: Any) -> Iterator[None]:
    """Airflow queues a consumer run only for an unpaused DAG, and DAGs start paused. Parse the
    example folder into the DB (what ``dags test`` does first) and unpause the consumer."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = manager.get_bundle("dags-folder")
    bundle.initialize()
    sync_bag_to_db(BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name),
                   bundle.name, bundle.version)
    _sql("UPDATE dag SET is_paused = :no WHERE dag_id = :dag", no=False, dag=CONSUMER)
    _sql("DELETE FROM asset_dag_run_queue WHERE target_dag_id = :dag", dag=CONSUMER)
    _forget_earlier_events()
    yield
    _sql("UPDATE dag SET is_paused = :yes WHERE dag_id = :dag", yes=True, dag=CONSUMER)


def _forget_earlier_events() -> None:
    """Events of the asset left by earlier tests in this session's Airflow DB (the example DAGs run
    there too) would reach the consumer's first run with ours: start from none."""
    events = "SELECT e.id FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = :name"
    for table in ("asset_alias_asset_event", "dagrun_asset_event"):
        _sql(f"DELETE FROM {table} WHERE event_id IN ({events})", name=ASSET)
    _sql(f"DELETE FROM asset_event WHERE id IN ({events})", name=ASSET)


def _events_after(last_id: int) -> list[Any]:
    return _sql(
        "SELECT e.id, e.extra, e.source_dag_id, e.source_task_id, e.source_run_id FROM asset_event e "
        "JOIN asset a ON a.id = e.asset_id WHERE a.name = :name AND e.id > :last ORDER BY e.id",
        name=ASSET, last=last_id,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _queue() -> list[Any]:
    return _sql(
        "SELECT a.name, q.created_at FROM asset_dag_run_queue q JOIN asset a ON a.id = q.asset_id "
        "WHERE q.target_dag_id = :dag", dag=CONSUMER,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_one_event_lists_exactly_the_changed_pages_and_a_noop_rerun_emits_none(
    run_dag: Any, sandbox: Any, consumer_unpaused: None
) -> None:
    last_id = (_sql("SELECT COALESCE(MAX(id), 0) FROM asset_event")[0][0])

    live_before = sandbox.webflow_live(CHANGED[0])
    _ok(run_dag(PRODUCER))

    assert [(w["method"], w["path"]) for w in sandbox.writes("webflow")] == [
        *[("PUT", f"/webflow/v2/pages/{page}") for page in CHANGED],
        ("POST", f"/webflow/v2/sites/{SITE_ID}/publish"),  # after every write, before the event
    ]
    live = sandbox.webflow_live(CHANGED[0])
    assert live["seo"]["description"].startswith("Who we are") and live != live_before
    events = _events_after(last_id)
    assert len(events) == 1, events
    event_id, extra, source_dag, source_task, _source_run = events[0]
    assert _json(extra) == {
        "cms": "webflow", "changed_pages": CHANGED, "site_id": SITE_ID,
        "counts": {"total": 4, "updated": 3, "unchanged": 1, "failed": 0, "skipped": 0},
    }
    assert (source_dag, source_task) == (PRODUCER, "publish_site")
    # The event came through the operator's alias, and the consumer is queued on the asset.
    assert _sql("SELECT al.name FROM asset_alias_asset_event ae JOIN asset_alias al ON al.id = ae.alias_id "
                "WHERE ae.event_id = :id", id=event_id) == [(ALIAS_PREFIX + ASSET,)]
    queued = _queue()
    assert [name for name, _ in queued] == [ASSET]

    sandbox.clear_requests()
    _ok(run_dag(PRODUCER))  # everything already matches

    assert sandbox.writes("webflow") == []  # no PUT and no publish
    assert _events_after(event_id) == []  # no event at all, not an empty one
    assert _queue() == queued  # the consumer's queue entry is the first run's, untouched

    # The consumer, in the run the scheduler makes from that queue, sees exactly those pages.
    run_id = _create_asset_triggered_run()
    done = subprocess.run([AIRFLOW_BIN, "tasks", "test", CONSUMER, "rebuild_sitemap", run_id],
                          env=os.environ.copy(), capture_output=True, text=True, timeout=120, cwd=ROOT)
    _ok(done)
    assert "1 asset event(s): rebuilding the sitemap entries of 3 page(s)" in done.stdout + done.stderr
    for page in CHANGED:
        assert f"sitemap: refresh {page}" in done.stdout + done.stderr
    assert f"sitemap: refresh {UNCHANGED}" not in done.stdout + done.stderr


def _create_asset_triggered_run() -> str:
    """One scheduler step, as the scheduler loop runs it: the queued consumer becomes a run that
    consumes the asset events (``dagrun_asset_event``)."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.utils.session import create_session
    from airflow.utils.sqlalchemy import prohibit_commit

    runner = SchedulerJobRunner(job=Job())
    with create_session() as session, prohibit_commit(session) as guard:
        runner._create_dagruns_for_dags(guard, session)
    rows = _sql("SELECT run_id FROM dag_run WHERE dag_id = :dag AND run_type = 'asset_triggered' "
                "ORDER BY id DESC LIMIT 1", dag=CONSUMER)
    assert rows, "the scheduler made no asset-triggered run of the consumer"
    consumed = _sql("SELECT e.extra FROM dagrun_asset_event d JOIN dag_run r ON r.id = d.dag_run_id "
                    "JOIN asset_event e ON e.id = d.event_id WHERE r.run_id = :run", run=rows[0][0])
    assert len(consumed) == 1
    return str(rows[0][0])


@pytest.mark.compat
def test_consumer_without_a_triggering_event_does_nothing(run_dag: Any, sandbox: Any) -> None:
    result = run_dag(CONSUMER)
    _ok(result)
    assert "No triggering asset event (a manual run)" in result.stdout + result.stderr
    assert sandbox.requests() == []


def test_changed_pages_asset_puts_an_alias_in_outlets_and_keeps_the_users_own() -> None:
    from airflow.sdk import Asset, AssetAlias

    own = Asset("reports")
    op = WebflowBulkUpdatePagesOperator(task_id="t", updates=[], changed_pages_asset="site-pages", outlets=[own])
    assert op.changed_pages_asset == Asset("site-pages")
    assert op.outlets == [own, AssetAlias(ALIAS_PREFIX + "site-pages")]
    butter = ButterCMSBulkUpdatePagesOperator(task_id="b", updates=[])
    assert butter.changed_pages_asset is None and butter.outlets == []
    with pytest.raises(CMSValidationError) as info:
        ButterCMSBulkUpdatePagesOperator(task_id="c", updates=[], changed_pages_asset=3)
    assert info.value.argument == "changed_pages_asset"


def test_extra_lists_changed_pages_only() -> None:
    summary = {"total": 3, "updated": 1, "unchanged": 2, "failed": 0, "skipped": 0, "failures": [],
               "requests": 4, "changed_pages": ["landing/a"]}
    assert changed_pages_extra(summary, "buttercms") == {
        "cms": "buttercms", "changed_pages": ["landing/a"],
        "counts": {"total": 3, "updated": 1, "unchanged": 2, "failed": 0, "skipped": 0},
    }


def test_buttercms_bulk_adds_one_event_for_the_changed_page_and_none_on_a_dry_run(
    sandbox: Any, pagemeta_connections: Any
) -> None:
    """The same rule on the ButterCMS operator, with Airflow's own outlet-event accessors (what the
    task runner hands ``execute`` as ``context["outlet_events"]``)."""
    from airflow.sdk import Asset, AssetAlias
    from airflow.sdk.execution_time.context import OutletEventAccessors

    asset = Asset("buttercms_landing_changes")
    op = ButterCMSBulkUpdatePagesOperator(task_id="b", changed_pages_asset=asset, updates=[
        {"page_type": "landing-page", "page_slug": "home", "fields": {"headline": "Welcome to Acme"}},  # as is
        {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "Questions, answered"}},
    ])
    events = OutletEventAccessors()
    summary = op.execute({"outlet_events": events})  # type: ignore[arg-type]

    assert summary["changed_pages"] == ["faq/faq"]
    added = events[AssetAlias(ALIAS_PREFIX + asset.name)].asset_alias_events
    assert [(e.dest_asset_key.name, e.extra) for e in added] == [("buttercms_landing_changes", {
        "cms": "buttercms", "changed_pages": ["faq/faq"],
        "counts": {"total": 2, "updated": 1, "unchanged": 1, "failed": 0, "skipped": 0},
    })]

    dry = ButterCMSBulkUpdatePagesOperator(task_id="d", changed_pages_asset=asset, dry_run=True, updates=[
        {"page_type": "faq", "page_slug": "faq", "fields": {"headline": "Another one"}}])
    dry_events = OutletEventAccessors()
    assert dry.execute({"outlet_events": dry_events})["changes"]  # type: ignore[arg-type]
    assert dry_events[AssetAlias(ALIAS_PREFIX + asset.name)].asset_alias_events == []  # a dry run changes nothing
