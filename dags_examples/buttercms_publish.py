"""Publish new SEO fields on a ButterCMS page in two locales and wait until they are live.

ButterCMS accepts an update with ``202 {"status": "pending"}`` and applies it later, so the
update task only queues the change; the deferrable sensor then waits in the triggerer (inline
under ``airflow dags test``) until the Read API shows the new values in every locale, without
holding a worker slot. The defaults address the sandbox's demo page ``landing-page/home``
(locales ``en`` and ``es``); override them with ``-c '{"page_slug": ...}'``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_pagemeta.operators.buttercms import ButterCMSUpdatePageOperator
from airflow_provider_pagemeta.sensors.buttercms import ButterCMSPageUpdateSensor

#: The same values are sent and expected, so the sensor waits for exactly what was published.
SEO_BY_LOCALE = {
    "en": {"seo": {"title": "{{ params.title_en }}", "description": "{{ params.description_en }}"}},
    "es": {"seo": {"title": "{{ params.title_es }}", "description": "{{ params.description_es }}"}},
}

with DAG(
    dag_id="buttercms_publish",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["pagemeta", "buttercms", "example"],
    params={
        "page_type": Param("landing-page", type="string"),
        "page_slug": Param("home", type="string"),
        "title_en": Param("Acme | Things that work", type="string"),
        "description_en": Param("Acme makes things that work.", type="string"),
        "title_es": Param("Acme | Cosas que funcionan", type="string"),
        "description_es": Param("Acme fabrica cosas que funcionan.", type="string"),
    },
) as dag:
    publish = ButterCMSUpdatePageOperator(
        task_id="publish_seo",
        page_type="{{ params.page_type }}",
        page_slug="{{ params.page_slug }}",
        fields_by_locale=SEO_BY_LOCALE,
        status="published",
    )
    wait = ButterCMSPageUpdateSensor(
        task_id="wait_until_live",
        page_type="{{ params.page_type }}",
        page_slug="{{ params.page_slug }}",
        expected_fields_by_locale=SEO_BY_LOCALE,
        preview=False,  # the published read: what visitors see, not the draft
        deferrable=True,
        poke_interval=1,
        timeout=120,
    )
    publish >> wait
