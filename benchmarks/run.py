"""`make bench`: run the benchmarks against a sandbox on this machine, print a table, write results.json.

Every figure is a ratio or a count measured within this one run (compared variants interleaved,
medians over repeats): the machines here are shared and noisy, so an absolute time would measure the
neighbours. ``--smoke`` runs each benchmark at a tiny size and judges nothing (``met`` is null); the
test suite runs it so the scripts cannot rot. ``--only B1,B3`` runs a subset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import ensure_airflow_home, sandbox_process  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"

Bench = Callable[[str, bool], dict[str, Any]]

DESCRIPTIONS = {
    "B1": "update_page_settings x1000: WebflowHook / raw requests.Session.put (wall ratio)",
    "B2": "500 Webflow updates on a real scheduler: mapped run / bulk run (duration ratio)",
    "B3": "150 updates at 30 req / 3 s: wall / (N / rate); 429s received",
    "B4": "no-op rerun of a 1000-page refresh with site_id: writes, list requests",
    "B5": "DAG-parse cost: import airflow.sdk + provider operators - airflow.sdk alone (ms)",
    "B6": "500 ButterCMS triggers in one event loop: wall / one trigger's wall",
    "B7": "1000 Webflow updates with use_bulk_endpoint=True: write requests",
    "B8": "update_page_settings x1000: WebflowHook / official Webflow SDK 2.0.0 (wall ratio)",
    "B9": "10,000 Webflow pages at 60 req / 6 s, changed run and no-op rerun: wall / (requests / rate)",
    "B10": "1,000 ButterCMS pages of one type: calls of a changed run (and of a no-op rerun)",
    "B11": "500 Hamgam + 500 Buildin pages on a real scheduler: mapped run / bulk run (the smaller ratio)",
}


def registry() -> dict[str, Bench]:
    """Imported lazily so ``--only`` does not pay for benchmarks it does not run."""
    from benchmarks.bulk_scheduler import bench_b11
    from benchmarks.http_overhead import bench_b1, bench_b8
    from benchmarks.parse_cost import bench_b5
    from benchmarks.request_floor import bench_b9, bench_b10
    from benchmarks.scheduler import bench_b2
    from benchmarks.triggers import bench_b6
    from benchmarks.webflow_bulk import bench_b3, bench_b4_b7

    return {"B1": bench_b1, "B2": bench_b2, "B3": bench_b3, "B4+B7": bench_b4_b7, "B5": bench_b5,
            "B6": bench_b6, "B8": bench_b8, "B9": bench_b9, "B10": bench_b10, "B11": bench_b11}


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare two runs: cores, memory, versions, and how busy the box was."""
    import airflow

    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "airflow": airflow.__version__,
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def fmt_value(entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return "error" if "error" in entry.get("details", {}) else "-"
    return f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def bench_order(bench_id: str) -> tuple[int, str]:
    """B1, B2, ..., B10, B11 in numeric order (``machine`` and other keys last)."""
    digits = bench_id[1:]
    return (int(digits), "") if bench_id.startswith("B") and digits.isdigit() else (10**6, bench_id)


def table(results: dict[str, Any]) -> str:
    rows = [("id", "value", "target", "met", "what")]
    for bench_id in sorted((k for k in results if k.startswith("B")), key=bench_order):
        entry = results[bench_id]
        met = {True: "yes", False: "NO", None: "-"}[entry.get("met")]
        rows.append((bench_id, fmt_value(entry), str(entry.get("target")), met, DESCRIPTIONS.get(bench_id, "")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:4])) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * (sum(widths) + 8 + max(len(r[4]) for r in rows)))
    return "\n".join(lines)


def run_one(name: str, bench: Bench, url: str, smoke: bool) -> dict[str, dict[str, Any]]:
    """Run one benchmark; a crash becomes an ``error`` entry so the others still run and report."""
    started = time.monotonic()
    print(f"[bench] {name} ...", flush=True)
    try:
        produced = bench(url, smoke)
    except Exception as exc:
        traceback.print_exc()
        ids = name.split("+")
        produced = {i: {"value": None, "target": "", "met": False if not smoke else None,
                        "details": {"error": f"{type(exc).__name__}: {exc}"}} for i in ids}
    if "value" in produced:  # a single result, not {id: result}
        produced = {name: produced}
    elapsed = time.monotonic() - started
    for entry in produced.values():
        entry.setdefault("details", {})["bench_seconds"] = round(elapsed, 1)
    print(f"[bench] {name} done in {elapsed:.1f} s: "
          + ", ".join(f"{i}={fmt_value(e)}" for i, e in produced.items()), flush=True)
    return produced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets (what make test runs)")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. B1,B3 (B4/B7 run together)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    # Only when run as the benchmark program: importing this module (the smoke test imports
    # ``table``) must not change the importer's environment.
    ensure_airflow_home()
    wanted = {i.strip().upper() for i in args.only.split(",") if i.strip()}
    started = time.monotonic()
    results: dict[str, Any] = {}
    info = machine()
    benches = {k: v for k, v in registry().items() if not wanted or wanted & set(k.split("+"))}
    logs = Path(os.environ["AIRFLOW_HOME"])
    with sandbox_process(logs / "sandbox.log") as sandbox:
        for name, bench in benches.items():
            results.update(run_one(name, bench, sandbox.url, args.smoke))
    info["loadavg_at_end"] = list(os.getloadavg())
    info["total_seconds"] = round(time.monotonic() - started, 1)
    info["smoke"] = args.smoke
    results = {k: results[k] for k in sorted(results, key=bench_order)}
    results["machine"] = info
    args.output.write_text(json.dumps(results, indent=2))
    print()
    print(table(results))
    print(f"\nmachine: {json.dumps(info)}")
    print(f"wrote {args.output} in {info['total_seconds']:.0f} s")
    failed = [k for k, v in results.items() if k != "machine" and "error" in v.get("details", {})]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
