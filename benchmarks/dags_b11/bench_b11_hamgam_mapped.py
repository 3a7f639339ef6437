"""B11, Hamgam mapped side: one mapped task instance per page, the shape users reach for first."""

from __future__ import annotations

import pendulum
from _b11_common import hamgam_pages, record_rss
from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator

with DAG(dag_id="bench_b11_hamgam_mapped", schedule=None, catchup=False,
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), tags=["benchmark"]):
    HamgamUpdatePageMetaOperator.partial(
        task_id="update_meta",
        text={"meta_title": "B11 {{ run_id }}"},
        on_success_callback=record_rss,
    ).expand(page_id=hamgam_pages())
