"""B1 and B8: what one ``update_page_settings`` costs through the hook, against what users would write instead.

B1 compares with a bare ``requests.Session.put`` (the floor: no validation, retries, pacing, error
mapping or redaction); B8 with the official Webflow SDK 2.0.0 (what a user would reach for first).
All variants send the same URLs, headers and bodies to the same sandbox, in interleaved rounds, so
the ratio reflects the client-side cost per call on loopback, the harshest case: against the real
API, network latency of ~100 ms per call would hide almost all of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from benchmarks.common import configure, interleaved, median, result

#: Calls per round; rounds = calls / ROUND so each variant makes ``calls`` calls in total.
ROUND = 100


def _workload(url: str, calls: int) -> list[tuple[str, dict[str, Any]]]:
    """(page id, body) pairs over the large site's pages; bodies vary so nothing is cached anywhere."""
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    pages = SandboxControl(url).fixtures()["webflow"]["large_page_ids"]
    return [
        (pages[n % len(pages)], {"seo": {"title": f"Bench title {n}", "description": f"Bench description {n}"},
                                 "openGraph": {"title": f"OG {n}", "titleCopied": False}})
        for n in range(calls)
    ]


def _hook_variant(work: list[tuple[str, dict[str, Any]]]) -> tuple[Callable[[int], None], Any]:
    from airflow_provider_pagemeta.hooks.webflow import WebflowHook

    hook = WebflowHook()

    def run(round_no: int) -> None:
        for page_id, body in _slice(work, round_no):
            hook.update_page_settings(page_id, seo=body["seo"], open_graph=body["openGraph"])

    return run, hook


def _raw_variant(url: str, work: list[tuple[str, dict[str, Any]]]) -> tuple[Callable[[int], None], Any]:
    """What the hook sends, byte for byte, with none of its machinery; the response is parsed like the hook does."""
    import requests

    from airflow_provider_pagemeta.core.hook import USER_AGENT
    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    headers = {"Authorization": f"Bearer {SANDBOX_TOKENS['webflow']}", "Content-Type": "application/json"}
    base = f"{url}/webflow/v2/pages/"

    def run(round_no: int) -> None:
        for page_id, body in _slice(work, round_no):
            data = json.dumps(body, separators=(",", ":")).encode()
            response = session.put(base + page_id, data=data, headers=headers, timeout=30)
            response.raise_for_status()
            response.json()

    return run, session


def _sdk_variant(url: str, work: list[tuple[str, dict[str, Any]]]) -> tuple[Callable[[int], None], Any]:
    """The official SDK pointed at the sandbox through its ``environment`` (base URL ends in ``/v2``)."""
    from webflow import Webflow
    from webflow.environment import WebflowEnvironment
    from webflow.resources.pages import PageMetadataWriteOpenGraph, PageMetadataWriteSeo

    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    base = f"{url}/webflow/v2"
    client = Webflow(access_token=SANDBOX_TOKENS["webflow"],
                     environment=WebflowEnvironment(base=base, data_api=base, content_delivery_api=base))

    def run(round_no: int) -> None:
        for page_id, body in _slice(work, round_no):
            og = body["openGraph"]
            client.pages.update_page_settings(
                page_id, seo=PageMetadataWriteSeo(**body["seo"]),
                open_graph=PageMetadataWriteOpenGraph(title=og["title"], title_copied=og["titleCopied"]),
            )

    return run, client


def _slice(work: list[tuple[str, dict[str, Any]]], round_no: int) -> list[tuple[str, dict[str, Any]]]:
    start = (round_no * ROUND) % len(work)
    return work[start:start + ROUND]


def _compare(url: str, calls: int, other: str) -> dict[str, Any]:
    configure(url)
    work = _workload(url, max(calls, ROUND))
    hook_run, hook = _hook_variant(work)
    other_run, _client = _raw_variant(url, work) if other == "raw" else _sdk_variant(url, work)
    for run in (hook_run, other_run):  # warm-up: connection set-up, imports, the connection lookup
        run(0)
    rounds = max(1, calls // ROUND)
    walls = interleaved({"hook": hook_run, other: other_run}, rounds)
    hook.close()
    ratios = [h / o for h, o in zip(walls["hook"], walls[other], strict=True)]
    return {
        "ratio": median(walls["hook"]) / median(walls[other]),
        "calls_per_variant": rounds * ROUND,
        "rounds": rounds,
        "hook_round_median_s": round(median(walls["hook"]), 4),
        f"{other}_round_median_s": round(median(walls[other]), 4),
        "hook_us_per_call": round(median(walls["hook"]) / ROUND * 1e6, 1),
        f"{other}_us_per_call": round(median(walls[other]) / ROUND * 1e6, 1),
        "per_round_ratios": [round(r, 3) for r in ratios],
    }


def bench_b1(url: str, smoke: bool) -> dict[str, Any]:
    figures = _compare(url, ROUND if smoke else 1000, "raw")
    ratio = figures.pop("ratio")
    return result(ratio, "<= 1.15", None if smoke else ratio <= 1.15, **figures)


def bench_b8(url: str, smoke: bool) -> dict[str, Any]:
    figures = _compare(url, ROUND if smoke else 1000, "sdk")
    ratio = figures.pop("ratio")
    return result(ratio, "<= 1.0", None if smoke else ratio <= 1.0, **figures)
