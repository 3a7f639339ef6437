"""B11, Buildin bulk side: every page in one task (one read, one If-Match PATCH per page)."""

from __future__ import annotations

import pendulum
from _b11_common import buildin_pages, meta_description, record_rss
from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.buildin import BuildinBulkUpdatePagesOperator

with DAG(dag_id="bench_b11_buildin_bulk", schedule=None, catchup=False,
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), tags=["benchmark"]):
    BuildinBulkUpdatePagesOperator(
        task_id="update_pages",
        updates=[{"page_id": pid, "properties": {"Meta description": meta_description("B11 {{ run_id }} " + str(n))}}
                 for n, pid in enumerate(buildin_pages())],
        on_success_callback=record_rss,
    )
