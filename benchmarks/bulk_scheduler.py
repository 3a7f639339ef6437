"""B11: 500 Hamgam and 500 Buildin pages as one bulk task vs as 500 mapped tasks, on a real scheduler.

The same production shape as B2 (``benchmarks/scheduler.py``: LocalExecutor, parallelism 8,
api-server, scheduler, dag-processor and triggerer as separate process groups, SQLite), one stack
for both CMSs. Per CMS: bulk, mapped, bulk (the bulk figure is the median), after one warm-up
bulk run that is not counted. The DAGs are in ``benchmarks/dags_b11/``; every run writes a value
holding its run id, so no run is a no-op.

The mapped side uses each CMS's single-page operator as users would: Hamgam's
``HamgamUpdatePageMetaOperator`` (one listing + the differing keys, like the bulk side) and
Buildin's ``BuildinUpdatePageOperator(optimistic=True)`` (one read + one If-Match PATCH, like
the bulk side), so both sides send the same requests and the ratio measures Airflow's cost per
task instance.

It also checks the request floor of each bulk run from the sandbox's log: Hamgam 1 listing + 1
write per page here (one key differs), Buildin 1 read + 1 write per page, and, measured apart (no
scheduler needed), Buildin's + 2 per 409 with conflicts injected on some pages.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH, PY, UNLIMITED, configure, free_port, median, result
from benchmarks.scheduler import (
    airflow_env,
    airflow_stack,
    dags_parsed,
    elapsed_so_far,
    rss_records,
    run_cli,
    run_durations,
    run_state,
    task_states,
    trigger_and_wait,
    wait_until,
)

DAGS_SRC = BENCH / "dags_b11"
CMSS = ("hamgam", "buildin")
TERMINAL = {"success", "failed"}


def dag_id(cms: str, kind: str) -> str:
    return f"bench_b11_{cms}_{kind}"


def page_ids(url: str, count: int) -> dict[str, list[Any]]:
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    fixtures = SandboxControl(url).fixtures()
    [database] = fixtures["buildin"]["database_ids"]
    return {"hamgam": list(fixtures["hamgam"]["bulk_page_ids"][:count]),
            "buildin": list(fixtures["buildin"]["database_page_ids"][database][:count])}


def build_dags(folder: Path, pages: dict[str, list[Any]]) -> None:
    """Copy the B11 DAGs (and the B2 callback they share) with the page lists they read."""
    folder.mkdir(parents=True, exist_ok=True)
    for src in [*DAGS_SRC.glob("*.py"), BENCH / "dags" / "_b2_common.py"]:
        shutil.copy(src, folder / src.name)
    (folder / "b11_pages.json").write_text(json.dumps(pages))


def sandbox(url: str) -> Any:
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    return SandboxControl(url)


def per_page(log: list[dict[str, Any]], cms: str, pages: int) -> dict[str, float]:
    mine = [r for r in log if r["path"].startswith(f"/{cms}/")]
    reads = sum(r["method"] == "GET" for r in mine)
    return {"requests": len(mine), "reads_per_page": reads / pages, "writes_per_page": (len(mine) - reads) / pages}


def measure(url: str, count: int, bulk_runs: int = 2) -> dict[str, Any]:
    configure(url, limit=UNLIMITED, window=60.0)
    tmp = Path(tempfile.mkdtemp(prefix="pagemeta-bench-b11-"))
    home, dags, out = tmp / "home", tmp / "dags", tmp / "out"
    for folder in (home, out):
        folder.mkdir(parents=True)
    pages = page_ids(url, count)
    build_dags(dags, pages)
    api_port = free_port()
    env = airflow_env(home, dags, out, url, api_port)
    timeout = 120 + count * 1.5
    # A mapped run is measured to its end unless it takes longer than this; then its elapsed time is a
    # lower bound (as in B2), and the next runs wait until it has ended so they do not share the executor.
    budget = float(os.environ.get("PAGEMETA_BENCH_B11_MAPPED_BUDGET", str(timeout)))
    figures: dict[str, Any] = {"pages": count, "executor": "LocalExecutor", "parallelism": 8, "database": "sqlite"}
    states: dict[str, str] = {}
    floors: dict[str, list[dict[str, float]]] = {cms: [] for cms in CMSS}
    cut_off: dict[str, float] = {}
    try:
        with airflow_stack(home, env, api_port) as timings:
            wait_until("B11 DAGs parsed", lambda: dags_parsed(home, [dag_id(c, k) for c in CMSS
                                                                     for k in ("bulk", "mapped")]), 180, 1.0)
            states["b11_warmup"] = trigger_and_wait(env, home, dag_id("hamgam", "bulk"), "b11_warmup", timeout)
            for cms in CMSS:
                order = ["bulk", "mapped"] + ["bulk"] * (bulk_runs - 1)
                for n, kind in enumerate(order):
                    run_id, dag = f"b11_{cms}_{n}_{kind}", dag_id(cms, kind)
                    sandbox(url).clear_requests()  # runs are sequential: the log is this run's
                    states[run_id] = trigger_and_wait(env, home, dag, run_id, timeout,
                                                      budget if kind == "mapped" else None)
                    if kind == "bulk":
                        floors[cms].append(per_page(sandbox(url).requests(), cms, count))
                    if states[run_id] == "cut off":
                        cut_off[cms] = elapsed_so_far(home, dag, run_id)
                        figures[f"{cms}_mapped_task_states_at_cut_off"] = task_states(home, dag, run_id)
                        # Let it end (not measured) so the next runs do not share the executor with it.
                        wait_until(f"{run_id} ended", lambda d=dag, r=run_id: run_state(home, d, r) in TERMINAL,
                                   timeout, 2.0)
            durations: dict[str, float] = {}
            for cms in CMSS:
                for kind in ("bulk", "mapped"):
                    listed = run_cli(["dags", "list-runs", dag_id(cms, kind), "-o", "json"], env,
                                     home / "bench-logs", f"list-runs-{cms}-{kind}")
                    durations.update(run_durations(listed))
        rss = rss_records(out)
    except Exception:
        print(f"[bench] B11 failed; logs kept in {home / 'bench-logs'} and {home / 'logs'}", flush=True)
        raise
    figures.update(run_states=states, timings=timings)
    for cms in CMSS:
        bulk = [d for run_id, d in durations.items() if run_id.startswith(f"b11_{cms}_") and run_id.endswith("_bulk")]
        mapped = [d for run_id, d in durations.items() if run_id.startswith(f"b11_{cms}_")
                  and run_id.endswith("_mapped")]
        if cms in cut_off:
            mapped = [cut_off[cms]]  # its duration so far: a lower bound (see B2)
        figures[cms] = {
            "bulk_run_s": [round(d, 2) for d in bulk], "mapped_run_s": [round(d, 2) for d in mapped],
            "ratio": round(median(mapped) / median(bulk), 2) if bulk and mapped else None,
            "ratio_is_lower_bound": cms in cut_off,
            "bulk_requests_per_page": floors[cms],
            "bulk_task_peak_rss_mib": round(max(rss.get(dag_id(cms, "bulk"), [0])) / 1024, 1),
            "mapped_task_peak_rss_mib_max": round(max(rss.get(dag_id(cms, "mapped"), [0])) / 1024, 1),
        }
    shutil.rmtree(tmp, ignore_errors=True)
    return figures


def conflict_floor(url: str, pages: int, conflicted: int) -> dict[str, Any]:
    """Buildin's "+ 2 per 409": a bulk run with one 409 injected on each of ``conflicted`` pages."""
    from airflow_provider_pagemeta.operators.buildin import BuildinBulkUpdatePagesOperator
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    configure(url, limit=UNLIMITED)
    control = SandboxControl(url)
    ids = page_ids(url, pages)["buildin"]
    body = {"object": "error", "status": 409, "code": "conflict", "message": "version mismatch", "request_id": "b"}
    for page_id in ids[:conflicted]:
        control.fault(method="PATCH", path=f"/buildin/v2/pages/{page_id}", status=409, body=body, count=1)
    control.clear_requests()
    rows = [{"page_id": pid, "properties": {"Meta description": {"rich_text": [
        {"type": "text", "text": {"content": f"B11 conflicts {n}"}}]}}} for n, pid in enumerate(ids)]
    summary = BuildinBulkUpdatePagesOperator(task_id="b11_conflicts", updates=rows).execute(context={})
    sent = len(control.requests("buildin"))
    return {"pages": pages, "pages_with_one_409": conflicted, "requests": sent,
            "expected": 2 * pages + 2 * conflicted, "updated": summary["updated"]}


def hamgam_floor(url: str, pages: int) -> dict[str, Any]:
    """Hamgam's "1 listing + the differing keys", with 0, 1 and 3 differing keys per page."""
    from airflow_provider_pagemeta.operators.hamgam import HamgamBulkUpdatePageMetaOperator
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    configure(url, limit=UNLIMITED)
    control = SandboxControl(url)
    ids = page_ids(url, pages)["hamgam"]
    third = len(ids) // 3
    rows = ([{"page_id": p, "text": {"meta_title": f"Product {p - 1000:03d} | Logitech Store"}} for p in ids[:third]]
            + [{"page_id": p, "text": {"meta_title": f"B11 {p}"}} for p in ids[third:2 * third]]
            + [{"page_id": p, "text": {"meta_title": f"B11 {p}", "meta_description": "x", "og_title": "y"}}
               for p in ids[2 * third:]])
    control.clear_requests()
    HamgamBulkUpdatePageMetaOperator(task_id="b11_hamgam_floor", updates=rows).execute(context={})
    sent = len(control.requests("hamgam"))
    differing = third + 3 * (len(ids) - 2 * third)
    return {"pages": len(ids), "differing_keys": differing, "requests": sent, "expected": len(ids) + differing}


def bench_b11(url: str, smoke: bool) -> dict[str, Any]:
    floors = {"buildin_conflicts": conflict_floor(url, 30 if smoke else 500, 5 if smoke else 50),
              "hamgam_keys": hamgam_floor(url, 30 if smoke else 500)}
    floors_met = all(f["requests"] == f["expected"] for f in floors.values())
    if smoke:
        return result(None, ">= 20 (mapped / bulk) for each CMS; requests at the floor", None,
                      **floors, **smoke_b11(url))
    count = int(os.environ.get("PAGEMETA_BENCH_B11_PAGES", "500"))
    figures = measure(url, count)
    ratios = [figures[cms]["ratio"] for cms in CMSS]
    runs_ok = all(s in ("success", "cut off") for s in figures["run_states"].values())
    at_floor = all(f["reads_per_page"] == 1 and f["writes_per_page"] == 1
                   for cms in CMSS for f in figures[cms]["bulk_requests_per_page"])
    value = min(ratios) if None not in ratios else None
    met = value is not None and value >= 20 and runs_ok and at_floor and floors_met
    return result(value, ">= 20 (mapped / bulk) for each CMS; requests at the floor", met,
                  bulk_at_request_floor=at_floor, **floors, **figures)


def smoke_b11(url: str) -> dict[str, Any]:
    """Like B2's smoke: the DAGs parse with a few pages and map to the right size (no scheduler)."""
    import subprocess

    tmp = Path(tempfile.mkdtemp(prefix="pagemeta-bench-b11-smoke-"))
    try:
        dags = tmp / "dags"
        pages = page_ids(url, 3)
        build_dags(dags, pages)
        env = airflow_env(tmp / "home", dags, tmp / "out", url, free_port())
        probe = (f"import json, sys; sys.path.insert(0, {str(dags)!r}); "
                 "from airflow.dag_processing.dagbag import DagBag; b = DagBag(); "
                 "print(json.dumps({'errors': {k: str(v)[-300:] for k, v in b.import_errors.items()}, "
                 "'dags': sorted(b.dag_ids), "
                 "'rows': {d: len(t.updates) for d in b.dag_ids if d.endswith('_bulk') "
                 "for t in b.dags[d].tasks}}))")
        (tmp / "home").mkdir()
        done = subprocess.run([PY, "-c", probe], env=env, capture_output=True, text=True, timeout=120,
                              cwd=tmp / "home", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"DagBag probe failed: {done.stderr[-2000:]}")
        parsed = json.loads(done.stdout.strip().splitlines()[-1])
        expected = sorted(dag_id(c, k) for c in CMSS for k in ("bulk", "mapped"))
        if parsed["errors"] or parsed["dags"] != expected or set(parsed["rows"].values()) != {3}:
            raise RuntimeError(f"B11 DAGs did not parse as expected: {parsed}")
        return {"dags": parsed["dags"], "bulk_rows": parsed["rows"], "scheduler": "not started in smoke mode"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
