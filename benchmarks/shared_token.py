"""Stress: workers sharing one Webflow token while other tasks start meanwhile. Counts 429s.

Two "workers" (separate processes, as Celery workers are) refresh long chunks of the sandbox's large
site with the bulk operator, while small refreshes start one after another, each in its own process.
A process that has just started sends its first request before any answer has told it the budget,
so the workers' pacers must leave room for it. The sandbox counts every request per token in a
sliding window, like Webflow; the result is the number of 429s it answered (the goal is 0) and the
wall time. Not part of ``make bench`` (it measures no ratio): ``make stress-shared-token``.

    python benchmarks/shared_token.py --limit 60 --window 3 --pages 120 --newcomers 10 --gap 1.0 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import PY, conn_env, ensure_airflow_home, sandbox_process  # noqa: E402

#: What each participant process runs: one bulk refresh of the pages it is given, every page written.
PARTICIPANT = """
import json, sys
from airflow_provider_pagemeta.operators.webflow import WebflowBulkUpdatePagesOperator
ids, tag = json.loads(sys.argv[1]), sys.argv[2]
updates = [{"page_id": p, "seo": {"title": f"{tag} {i}"}} for i, p in enumerate(ids)]
result = WebflowBulkUpdatePagesOperator(task_id=tag, updates=updates, skip_unchanged=False).execute(context={})
assert result["failed"] == 0, result
"""


def participant(env: dict[str, str], ids: list[str], tag: str, logs: Path) -> subprocess.Popen[bytes]:
    with open(logs / f"{tag}.log", "wb") as out:
        return subprocess.Popen([PY, "-c", PARTICIPANT, json.dumps(ids), tag], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def one_run(args: argparse.Namespace, seed: int, logs: Path) -> tuple[int, int, float, list[int]]:
    """``(requests, 429s, seconds, exit codes)`` of one run, against a sandbox of its own."""
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    with sandbox_process() as sandbox:
        control = SandboxControl(sandbox.url)
        control.config(webflow_rate_limit=args.limit, webflow_rate_window=args.window)
        env = {**os.environ, **conn_env(sandbox.url, args.window)}
        ids = list(control.fixtures()["webflow"]["large_page_ids"])
        rng = random.Random(seed)
        started = time.monotonic()
        procs = [participant(env, ids[i * args.pages:(i + 1) * args.pages], f"worker{i}", logs) for i in range(2)]
        offset = 2 * args.pages
        for number in range(args.newcomers):
            time.sleep(rng.uniform(0.5, 1.5) * args.gap)  # the arrival schedule itself, not a wait for state
            procs.append(participant(env, ids[offset:offset + 4], f"newcomer{number}", logs))
            offset += 4
        codes = [proc.wait(timeout=600) for proc in procs]
        seconds = time.monotonic() - started
        log = control.requests("webflow")
        return len(log), sum(1 for entry in log if entry["status"] == 429), seconds, codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60, help="sandbox Webflow requests per window")
    parser.add_argument("--window", type=float, default=3.0, help="sandbox Webflow window (s)")
    parser.add_argument("--pages", type=int, default=120, help="pages per worker")
    parser.add_argument("--newcomers", type=int, default=10, help="small refreshes started meanwhile")
    parser.add_argument("--gap", type=float, default=1.0, help="mean seconds between two newcomers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--logs", type=Path, default=Path(".airflow/stress-shared-token"))
    args = parser.parse_args()
    ensure_airflow_home()
    total_429 = 0
    for seed in range(1, args.runs + 1):
        logs = args.logs / f"run{seed}"
        logs.mkdir(parents=True, exist_ok=True)
        requests, throttled, seconds, codes = one_run(args, seed, logs)
        total_429 += throttled
        print(f"run {seed}: {requests} Webflow requests, {throttled} x 429, {seconds:.1f} s, "
              f"processes failed: {sum(1 for c in codes if c)} of {len(codes)}", flush=True)
    print(f"{total_429} x 429 in {args.runs} run(s) (participant logs in {args.logs})")
    return 0 if total_429 == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
