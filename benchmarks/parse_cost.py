"""B5: what importing the provider's operators adds to parsing a DAG file.

The DAG processor imports every DAG file's imports in a fresh process (or a fresh fork) again and
again, so a heavy module-level import (httpx, fastapi, the SDK of a CMS) would be paid on every
parse of every DAG that uses one operator. Each sample is a fresh interpreter timing its own imports
with ``perf_counter``, which leaves interpreter start-up (the same for both) out of the figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from typing import Any

from benchmarks.common import PY, ROOT, median, result

OPERATOR_MODULES = tuple(f"airflow_provider_pagemeta.operators.{cms}" for cms in
                         ("webflow", "buttercms", "hamgam", "buildin"))

_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
import airflow.sdk
sdk = time.perf_counter()
watch = ("httpx", "fastapi", "uvicorn", "webflow", "pydantic", "tenacity", "requests")
before = {m for m in watch if m in sys.modules}
for name in sys.argv[1:]:
    importlib.import_module(name)
done = time.perf_counter()
heavy = sorted(m for m in watch if m in sys.modules and m not in before)
print(json.dumps({"sdk_ms": (sdk - started) * 1000, "total_ms": (done - started) * 1000, "heavy": heavy}))
"""


def _sample(modules: tuple[str, ...], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([PY, "-c", _PROBE, *modules], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _measure(env: dict[str, str], repeats: int) -> dict[str, Any]:
    _sample(OPERATOR_MODULES, env)  # warm-up: fills the bytecode cache and the OS file cache for both variants
    alone: list[float] = []
    with_provider: list[float] = []
    incremental: list[float] = []
    heavy: list[str] = []
    for n in range(repeats):  # alternate which variant goes first
        pair = [((), alone), (OPERATOR_MODULES, with_provider)]
        for modules, bucket in pair if n % 2 == 0 else reversed(pair):
            sample = _sample(modules, env)
            bucket.append(sample["total_ms"])
            if modules:
                incremental.append(sample["total_ms"] - sample["sdk_ms"])
                heavy = sample["heavy"]
    return {"added_ms": median(incremental), "sdk_alone_median_ms": round(median(alone), 1),
            "sdk_plus_operators_median_ms": round(median(with_provider), 1),
            "difference_of_medians_ms": round(median(with_provider) - median(alone), 1),
            "modules_added_by_provider": heavy}


def bench_b5(url: str, smoke: bool) -> dict[str, Any]:
    """Measured with a bytecode cache, as an installed provider runs (pip and images ship ``.pyc``).

    The figure is the median of the paired increment: in each fresh "with provider" process, the time
    to import the operator modules after ``import airflow.sdk`` (which loads the SDK eagerly, so nothing
    of Airflow's is charged to the provider). Alternating "sdk alone" processes are timed too, and the
    difference of the two medians is reported, but on a shared 2-core machine ``import airflow.sdk``
    itself varies by seconds between processes, so that difference measures the neighbours.

    This dev venv was installed by uv without ``--compile-bytecode`` and the shell sets
    ``PYTHONDONTWRITEBYTECODE=1``, so without a cache every process compiles Airflow and the provider
    from source; that figure is reported too (``without_bytecode_cache``), not judged.
    """
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    repeats = 1 if smoke else 10
    with tempfile.TemporaryDirectory(prefix="pagemeta-bench-pyc-") as cache:
        cached = _measure({**base, "PYTHONPYCACHEPREFIX": cache}, repeats)
    uncached = None if smoke else _measure({**base, "PYTHONDONTWRITEBYTECODE": "1"}, 3)
    added = cached.pop("added_ms")
    if uncached is not None:
        uncached["added_ms"] = round(uncached["added_ms"], 1)
    return result(added, "<= 50 ms", None if smoke else added <= 50, repeats=repeats, modules=list(OPERATOR_MODULES),
                  **cached, without_bytecode_cache=uncached)
