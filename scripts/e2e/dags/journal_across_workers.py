"""e2e only: a bulk change applied on one Celery worker and restored from its journal on the other.

Why a DAG of its own: in ``make e2e`` both workers share one disk, so a local journal would prove
nothing about workers on different machines. Here the journal lives in an S3 bucket (the harness
sets ``[pagemeta] journal_dir`` to it), ``apply`` is pinned to the first worker's queue and
``restore`` to the second's, so the restore can only know the old values through the object store.

``apply`` sets the title and description of the sandbox's Hamgam bulk pages ``PAGE_IDS`` (no
example DAG touches them). The harness makes the first write to one page in the middle answer 401,
so the first try stops there and fails: its journal is uploaded on failure and lists what landed.
The retry rereads every page, skips the ones already changed, and appends the rest to the same
journal. ``restore`` then puts every old value back.

The harness (``scripts/e2e/object_store.py``) links this file into the run's DAG folder and checks
the result from outside Airflow; ``make demo`` and the test suite do not run it (the queues exist
only in the e2e deployment).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag

from airflow_provider_pagemeta.operators.hamgam import HamgamBulkUpdatePageMetaOperator
from airflow_provider_pagemeta.operators.restore import PageMetaRestoreOperator

#: Each e2e Celery worker also listens on a queue named after itself (``scripts/e2e/services.py``).
APPLY_QUEUE = "e2e-worker-1"
RESTORE_QUEUE = "e2e-worker-2"
#: The last 20 of the sandbox's generated Hamgam pages (1001-1500, three meta entries each).
PAGE_IDS = range(1481, 1501)


def new_meta(page_id: int) -> dict[str, str]:
    """What ``apply`` writes to one page (both keys exist, so the journal has an ``old`` for each)."""
    return {"meta_title": f"Page {page_id} | journal e2e",
            "meta_description": f"Page {page_id}: written by the e2e run, then restored."}


def rows() -> list[dict[str, Any]]:
    return [{"page_id": page_id, "text": new_meta(page_id)} for page_id in PAGE_IDS]


@dag(
    dag_id="journal_across_workers",
    schedule=None,
    catchup=False,
    start_date=datetime(2025, 1, 1),
    tags=["pagemeta", "hamgam", "journal", "e2e"],
)
def journal_across_workers() -> None:
    apply = HamgamBulkUpdatePageMetaOperator(
        task_id="apply",
        updates=rows(),
        queue=APPLY_QUEUE,
        retries=1,
        retry_delay=timedelta(seconds=2),
    )
    # apply.output makes restore run after apply, with apply's result (its journal's URI).
    PageMetaRestoreOperator(task_id="restore", journal=apply.output, queue=RESTORE_QUEUE)


journal_across_workers()
