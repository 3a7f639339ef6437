"""`make bench`: run the benchmarks against a local sandbox, print a table, write results.json.

Each benchmark registers itself in ``BENCHMARKS``; figures are ratios or counts measured in one
run (never absolute times as targets: this machine is shared and noisy).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"

#: id -> callable(sandbox_url, smoke) returning {"value", "target", "met", "details"}.
BENCHMARKS: dict[str, Callable[[str, bool], dict[str, Any]]] = {}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    smoke = "--smoke" in args
    results: dict[str, Any] = {}
    if not BENCHMARKS:
        print("No benchmarks registered yet.")
    for bench_id, bench in BENCHMARKS.items():
        results[bench_id] = bench("", smoke)
    results["machine"] = machine()
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
