"""B11, Buildin mapped side: one mapped task per page, with the same read + If-Match write as the bulk side."""

from __future__ import annotations

import pendulum
from _b11_common import buildin_pages, meta_description, record_rss
from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator

with DAG(dag_id="bench_b11_buildin_mapped", schedule=None, catchup=False,
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), tags=["benchmark"]):
    BuildinUpdatePageOperator.partial(
        task_id="update_page",
        properties={"Meta description": meta_description("B11 {{ run_id }}")},
        optimistic=True,
        on_success_callback=record_rss,
    ).expand(page_id=buildin_pages())
