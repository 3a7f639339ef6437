"""B2, bulk side: every page in one task through the bulk engine (reads by listing the site)."""

from __future__ import annotations

import pendulum
from _b2_common import pages, record_rss, site_id
from airflow.sdk import DAG

from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

with DAG(dag_id="bench_b2_bulk", schedule=None, catchup=False, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         tags=["benchmark"]):
    WebflowBulkUpdatePagesOperator(
        task_id="update_pages",
        # run_id in the values: every run changes every page, so no run is a no-op.
        updates=[{"page_id": pid, "seo": {"title": "B2 {{ run_id }} " + str(n)}} for n, pid in enumerate(pages())],
        site_id=site_id(),
        on_success_callback=record_rss,
    )
