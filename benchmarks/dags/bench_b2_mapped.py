"""B2, mapped side: one mapped task instance per page, the shape users reach for first."""

from __future__ import annotations

import pendulum
from _b2_common import pages, record_rss
from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.webflow import WebflowUpdatePageOperator

with DAG(dag_id="bench_b2_mapped", schedule=None, catchup=False, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         tags=["benchmark"]):
    WebflowUpdatePageOperator.partial(
        task_id="update_page",
        seo={"title": "B2 {{ run_id }}"},
        on_success_callback=record_rss,
    ).expand(page_id=pages())
