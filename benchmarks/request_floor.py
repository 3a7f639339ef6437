"""B9 and B10: bulk runs at the request floor, counted in the sandbox's request log.

B9 — the 10,000-page refresh. 10,000 Webflow pages with ``site_id`` and ``use_bulk_endpoint=True``,
the sandbox limited to 60 requests per 6 s (Webflow's 60 per minute compressed tenfold; the
connection's ``rate_limit_window`` says 6). A changed run needs 100 list reads + 100 bulk writes,
a no-op rerun the 100 reads. Each run is a task of its own: a child process that imports the
operator and calls ``execute`` as a task process does, timed inside the child, whose peak RSS
(``ru_maxrss``) is the task's memory figure. The rerun starts one rate window after the changed
run ended (a real rerun comes minutes later): otherwise it would meet the first run's requests
still in the sandbox's sliding window and measure them instead of itself.

B10 — ButterCMS calls. 1,000 pages of one page type: current values through List Pages, so a
changed run costs ceil(1000/100) reads + 1,000 writes and a no-op rerun the 10 reads. Counted
from the sandbox's log: ButterCMS bills every call against the plan's monthly quota.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PY, ROOT, configure, conn_env, result

B9_LIMIT, B9_WINDOW = 60, 6.0


def _control(url: str) -> Any:
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    return SandboxControl(url)


# ----------------------------------------------------------------------------------- B9
def run_task(url: str, spec: dict[str, Any], window: float, cache: str) -> list[dict[str, Any]]:
    """Run ``spec["runs"]`` bulk runs (default 1) in one child process; returns what it measured.

    The children share a bytecode cache (``cache``), as an installed provider ships ``.pyc``
    files: this dev venv has none and the shell forbids writing them, so every child would
    otherwise compile Airflow's lazily imported modules inside the timed ``execute`` (see B5).
    """
    with tempfile.TemporaryDirectory(prefix="pagemeta-bench-b9-") as tmp:
        spec_path = Path(tmp) / "task.json"
        spec_path.write_text(json.dumps(spec))
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        env = {**base, **conn_env(url, window), "PYTHONPYCACHEPREFIX": cache}
        done = subprocess.run([PY, "-m", "benchmarks.request_floor", str(spec_path)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the B9 task process failed ({done.returncode}): {done.stderr[-2000:]}")
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def task_main(spec_path: str) -> None:
    """The child: ``WebflowBulkUpdatePagesOperator.execute`` (``runs`` times, ``pause_s`` apart),
    each timed, each followed by the process's peak RSS so far."""
    spec = json.loads(Path(spec_path).read_text())
    started = time.perf_counter()
    from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator

    imported = time.perf_counter()
    measured = []
    for n in range(int(spec.get("runs", 1))):
        if n:
            time.sleep(float(spec.get("pause_s", 0)))
        operator = WebflowBulkUpdatePagesOperator(task_id="refresh_10k", updates=spec["rows"],
                                                  site_id=spec["site_id"], use_bulk_endpoint=True,
                                                  dry_run=spec.get("dry_run", False))
        before = time.perf_counter()
        summary = operator.execute(context={})
        wall = time.perf_counter() - before
        measured.append({
            "wall_s": wall, "import_s": imported - started, "summary": {k: summary[k] for k in (
                "total", "updated", "unchanged", "failed", "skipped", "requests")},
            "summary_bytes": len(json.dumps(summary)),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        })
    print(json.dumps(measured))


def measure_runs(url: str, rows: list[dict[str, Any]], site: str, window: float, smoke: bool) -> list[dict[str, Any]]:
    """The changed run and the rerun: two task processes (smoke: one process running both), each
    run's requests read from the sandbox's log."""
    control = _control(url)
    cache = tempfile.mkdtemp(prefix="pagemeta-bench-b9-pyc-")
    pause = window + 0.5  # see the module docstring: a rerun comes after a quiet window
    try:
        if smoke:
            control.clear_requests()
            runs = run_task(url, {"rows": rows, "site_id": site, "runs": 2, "pause_s": pause}, window, cache)
            log = control.requests("webflow")
            first = runs[0]["summary"]["requests"]
            logs = [log[:first], log[first:]]
        else:
            # Warm-up (not measured): fills the bytecode cache with one dry-run read of one page.
            run_task(url, {"rows": rows[:1], "site_id": None, "dry_run": True}, window, cache)
            runs, logs = [], []
            for _ in range(2):
                time.sleep(pause)
                control.clear_requests()
                runs += run_task(url, {"rows": rows, "site_id": site}, window, cache)
                logs.append(control.requests("webflow"))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    rate = B9_LIMIT / window
    for run, log in zip(runs, logs, strict=True):
        writes = [r for r in log if r["method"] == "PATCH"]
        run.update(requests_logged=len(log), list_requests=len(log) - len(writes), bulk_writes=len(writes),
                   responses_429=sum(r["status"] == 429 for r in log), bound_s=len(log) / rate)
        run["ratio"] = run["wall_s"] / run["bound_s"]
    return runs


def bench_b9(url: str, smoke: bool) -> dict[str, Any]:
    pages = 300 if smoke else 10_000
    # Smoke: a tenth of the window (the pause before the rerun costs 0.6 s, not 6), one task process.
    window = B9_WINDOW / 10 if smoke else B9_WINDOW
    configure(url, limit=B9_LIMIT, window=window)
    control = _control(url)
    control.config(webflow_large_site_pages=pages)
    fixtures = control.fixtures()["webflow"]  # builds the site now, outside the timed runs
    site, page_ids = fixtures["large_site_id"], fixtures["large_page_ids"]
    rows = [{"page_id": pid, "seo": {"title": f"B9 refresh {n}", "description": f"Refreshed page {n}."}}
            for n, pid in enumerate(page_ids)]
    lists = math.ceil(pages / 100)
    changed, rerun = measure_runs(url, rows, site, window, smoke)
    worst = max(changed["ratio"], rerun["ratio"])
    peak = max(changed["peak_rss_mib"], rerun["peak_rss_mib"])
    met = (worst <= 1.10 and changed["responses_429"] == rerun["responses_429"] == 0 and peak <= 300
           and changed["requests_logged"] == 2 * lists and rerun["requests_logged"] == lists
           and changed["summary"]["updated"] == pages and rerun["summary"]["unchanged"] == pages)
    real_rate = 60 / 60.0  # Webflow's 60 per minute
    details = {
        "pages": pages, "rate_limit": f"{B9_LIMIT} per {window:g} s",
        "changed": _rounded(changed), "rerun": _rounded(rerun), "peak_rss_mib": round(peak, 1),
        "at_real_60_per_min": {
            "changed_min": round(changed["ratio"] * changed["requests_logged"] / real_rate / 60, 2),
            "rerun_min": round(rerun["ratio"] * rerun["requests_logged"] / real_rate / 60, 2),
            "one_put_per_page_min": round(pages / real_rate / 60, 1),
        },
        "rss_how": "ru_maxrss of the task process: a child that imports the operator and runs execute(), "
                   "one process per run",
    }
    return result(worst, "<= 1.10 (wall / (requests / rate)) both runs, 0 x 429, peak RSS <= 300 MiB",
                  None if smoke else met, **details)


def _rounded(run: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in run.items()}


# ----------------------------------------------------------------------------------- B10
def bench_b10(url: str, smoke: bool) -> dict[str, Any]:
    from airflow_provider_pagemeta.operators.buttercms import ButterCMSBulkUpdatePagesOperator

    pages = 150 if smoke else 1000
    configure(url, apply_delay=0.0)
    control = _control(url)
    control.config(buttercms_product_pages=pages)
    slugs = control.fixtures()["buttercms"]["products"]["slugs"]
    rows = [{"page_type": "product", "page_slug": slug, "fields": {"seo": {"title": f"B10 {slug}"}}} for slug in slugs]
    counts: dict[str, dict[str, Any]] = {}
    for name in ("changed", "rerun"):
        control.clear_requests()
        summary = ButterCMSBulkUpdatePagesOperator(task_id="b10", updates=rows).execute(context={})
        log = control.requests("buttercms")
        counts[name] = {"calls": len(log), "reads": sum(r["method"] == "GET" for r in log),
                        "writes": sum(r["method"] != "GET" for r in log), "updated": summary["updated"],
                        "unchanged": summary["unchanged"], "failed": summary["failed"],
                        "summary_requests": summary["requests"]}
    lists = math.ceil(pages / 100)
    changed, rerun = counts["changed"], counts["rerun"]
    met = (changed["calls"] <= pages + 10 and rerun["calls"] <= 10 and changed["updated"] == pages
           and rerun["unchanged"] == pages)
    before = {"changed": 2 * pages, "rerun": pages}  # one read per page (+ one write), before List Pages
    return result(changed["calls"], f"changed <= {pages + 10} calls, no-op rerun <= 10", None if smoke else met,
                  pages=pages, list_reads_expected=lists, changed=changed, rerun=rerun,
                  rerun_calls=rerun["calls"], calls_before_list_reads=before)


if __name__ == "__main__":
    task_main(sys.argv[1])
