"""Shared by the two B2 DAGs: the pages to update, and a callback that records the task's memory peak.

The page list is written next to the DAG files by ``benchmarks/scheduler.py`` (the bench DAG folder is a
temp copy), so both DAGs update the same pages and the size can change without editing a DAG.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

PAGES_FILE = Path(__file__).with_name("b2_pages.json")


def pages() -> list[str]:
    """The page ids to update; empty when the file is absent (the DAG still parses)."""
    if not PAGES_FILE.exists():
        return []
    return list(json.loads(PAGES_FILE.read_text())["page_ids"])


def site_id() -> str | None:
    if not PAGES_FILE.exists():
        return None
    return str(json.loads(PAGES_FILE.read_text())["site_id"])


def record_rss(context: Any) -> None:
    """on_success_callback: the task process's peak RSS, written where the benchmark reads it.

    A callback rather than a subclass, so the measured operator is the stock one.
    """
    out = os.environ.get("PAGEMETA_BENCH_OUT")
    if not out:
        return
    ti = context["ti"]
    name = f"{ti.dag_id}.{ti.run_id}.{ti.task_id}.{ti.map_index}.json".replace("/", "_").replace(":", "_")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(out, name).write_text(json.dumps({"dag_id": ti.dag_id, "run_id": ti.run_id, "map_index": ti.map_index,
                                           "maxrss_kb": peak_kb}))
