"""B11, Hamgam bulk side: every page's meta in one task (one listing per page, one PATCH per differing key)."""

from __future__ import annotations

import pendulum
from _b11_common import hamgam_pages, record_rss
from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.hamgam import HamgamBulkUpdatePageMetaOperator

with DAG(dag_id="bench_b11_hamgam_bulk", schedule=None, catchup=False,
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), tags=["benchmark"]):
    HamgamBulkUpdatePageMetaOperator(
        task_id="update_meta",
        # run_id in the values: every run changes every page, so no run is a no-op.
        updates=[{"page_id": pid, "text": {"meta_title": "B11 {{ run_id }} " + str(n)}}
                 for n, pid in enumerate(hamgam_pages())],
        on_success_callback=record_rss,
    )
