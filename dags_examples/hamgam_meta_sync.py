"""Keep a Hamgam page's meta keys in line with a product record.

An upstream task computes the desired meta (SEO description cut to 160 characters, Open Graph
title, contact URL, and the hero image as a file meta) from ``data/hamgam_landing_page.json``;
a dry run logs what would change (old -> new per key); the sync then writes only the differing
keys. A rerun finds every key equal and sends no write.

Runs against the sandbox's demo page 38 and demo file 2 by default:
``airflow dags test hamgam_meta_sync`` with the ``hamgam_default`` connection pointing at the
sandbox (``make demo`` and the tests set that up).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator

RECORD = Path(__file__).parent / "data" / "hamgam_landing_page.json"
#: Search engines cut descriptions at about 160 characters.
DESCRIPTION_CHARS = 160


@dag(
    dag_id="hamgam_meta_sync",
    schedule=None,
    catchup=False,
    start_date=datetime(2025, 1, 1),
    tags=["pagemeta", "hamgam", "example"],
    params={"page_id": json.loads(RECORD.read_text())["page_id"]},
)
def hamgam_meta_sync() -> None:
    @task(multiple_outputs=True)
    def desired_meta() -> dict[str, Any]:
        """The page's meta as it should be, keyed the way editors name them."""
        record = json.loads(RECORD.read_text())
        description = f"{record['product']}: {record['tagline']}"
        if len(description) > DESCRIPTION_CHARS:
            description = description[: DESCRIPTION_CHARS - 1].rstrip() + "…"
        text = {
            "meta_description": description,
            "og_title": record["product"],
            "contact_us_url": record["contact_url"],
            "contact_us_email": record["contact_email"],
        }
        return {"text": text, "files": {"og_image": record["hero_image_file_id"]}}

    desired = desired_meta()
    preview = HamgamUpdatePageMetaOperator(
        task_id="preview_meta_changes",
        page_id="{{ params.page_id }}",
        text=desired["text"],
        files=desired["files"],
        dry_run=True,
    )
    sync = HamgamUpdatePageMetaOperator(
        task_id="sync_page_meta",
        page_id="{{ params.page_id }}",
        text=desired["text"],
        files=desired["files"],
    )
    preview >> sync


hamgam_meta_sync()
