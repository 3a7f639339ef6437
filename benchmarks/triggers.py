"""B6: many ButterCMS completion triggers in one event loop, as a triggerer runs them.

A triggerer runs every deferred task's trigger as a coroutine in one event loop. If a trigger
blocked the loop (a sync HTTP call, a sync connection lookup, ``time.sleep``), 500 of them would
take 500 times as long as one; if they truly overlap, 500 finish about when one does. So the figure
is the wall time of 500 concurrent triggers over the wall time of one, for the same wait: every
watched page is written just before the triggers start, and becomes readable after the sandbox's
apply delay.

It runs in a child process (``python benchmarks/triggers.py``) so its memory figures are those of a
process that holds only the triggers, like a triggerer, not of the benchmark runner.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import PY, configure, median, result, rss_kb  # noqa: E402

#: Watched pages: every demo page the Read API shows with ``preview=1`` (five, so 500 triggers
#: are 100 per page, the same reads a triggerer makes for 500 tasks waiting on a few pages).
PAGES = (("landing-page", "home"), ("faq", "faq"), ("*", "about"), ("landing-page", "contact"), ("faq", "contact"))
POLL_INTERVAL = 0.5
APPLY_DELAY = 2.0


def _write(round_no: int) -> dict[tuple[str, str], str]:
    """Queue a new headline on every page (applied after the sandbox's delay); return what to wait for."""
    from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook

    hook = ButterCMSHook()
    wanted = {}
    for page_type, slug in PAGES:
        headline = f"B6 round {round_no} {slug}"
        hook.update_page(page_type, slug, fields={"headline": headline})
        wanted[(page_type, slug)] = headline
    hook.close()
    return wanted


async def _run(count: int, wanted: dict[tuple[str, str], str], peak: list[int]) -> tuple[float, list[dict[str, Any]]]:
    from airflow_provider_pagemeta.triggers.buttercms import ButterCMSPageUpdateTrigger

    keys = list(wanted)
    triggers = [
        ButterCMSPageUpdateTrigger.for_page(
            keys[n % len(keys)][0], keys[n % len(keys)][1], expected_fields={"headline": wanted[keys[n % len(keys)]]},
            poll_interval=POLL_INTERVAL, end_time=time.time() + 120,
        )
        for n in range(count)
    ]

    async def one(trigger: ButterCMSPageUpdateTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        return {"status": "no event"}

    async def sample_rss() -> None:
        while True:
            peak[0] = max(peak[0], rss_kb())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample_rss())
    started = time.perf_counter()
    events = await asyncio.gather(*(one(t) for t in triggers))
    wall = time.perf_counter() - started
    sampler.cancel()
    return wall, events


def child(url: str, count: int, repeats: int) -> dict[str, Any]:
    """Alternate one trigger and ``count`` triggers, each after a fresh write; report walls and memory."""
    configure(url, apply_delay=APPLY_DELAY)
    import airflow_provider_pagemeta.triggers.buttercms  # noqa: F401 - imported before the baseline RSS

    asyncio.run(_run(1, _write(0), [0]))  # warm-up: imports, the connection lookup, the first TCP connect
    baseline = rss_kb()
    one_walls: list[float] = []
    many_walls: list[float] = []
    incomplete = 0
    peak = [baseline]
    for n in range(repeats):
        for size in ((1, count) if n % 2 == 0 else (count, 1)):
            wall, events = asyncio.run(_run(size, _write(n * 2 + (size > 1) + 1), peak if size > 1 else [0]))
            (many_walls if size > 1 else one_walls).append(wall)
            incomplete += sum(1 for e in events if e.get("status") != "success")
    return {
        "one_walls": one_walls, "many_walls": many_walls, "incomplete": incomplete,
        "rss_baseline_kb": baseline, "rss_peak_kb": peak[0],
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def bench_b6(url: str, smoke: bool) -> dict[str, Any]:
    count, repeats = (20, 1) if smoke else (500, 3)
    done = subprocess.run(
        [PY, str(Path(__file__).resolve()), "--url", url, "--count", str(count), "--repeats", str(repeats)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=dict(os.environ), check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"trigger child failed ({done.returncode}): {done.stderr[-2000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    ratio = median(raw["many_walls"]) / median(raw["one_walls"])
    per_trigger_kb = (raw["rss_peak_kb"] - raw["rss_baseline_kb"]) / count
    met = raw["incomplete"] == 0 and ratio <= 2.0
    return result(ratio, "all complete and <= 2.0", None if smoke else met, triggers=count, repeats=repeats,
                  incomplete=raw["incomplete"], one_trigger_wall_median_s=round(median(raw["one_walls"]), 3),
                  many_triggers_wall_median_s=round(median(raw["many_walls"]), 3),
                  one_walls_s=[round(w, 3) for w in raw["one_walls"]],
                  many_walls_s=[round(w, 3) for w in raw["many_walls"]],
                  apply_delay_s=APPLY_DELAY, poll_interval_s=POLL_INTERVAL,
                  rss_baseline_mib=round(raw["rss_baseline_kb"] / 1024, 1),
                  rss_peak_mib=round(raw["rss_peak_kb"] / 1024, 1),
                  memory_per_trigger_kib=round(per_trigger_kb, 1),
                  process_ru_maxrss_mib=round(raw["ru_maxrss_kb"] / 1024, 1))


def main() -> None:
    from benchmarks.common import ensure_airflow_home

    ensure_airflow_home()
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(child(args.url, args.count, args.repeats)))


if __name__ == "__main__":
    main()
