"""Pure checks for the e2e harness: no processes, no network, so they can be unit-tested in milliseconds.

Each check looks at evidence gathered from outside Airflow (the sandbox's request log, log files,
the DAG sources) and returns findings as plain strings, so the runner can print them and decide
the exit code in one place.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CMSES = ("webflow", "buttercms", "hamgam", "buildin")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: POSTs that only read: Buildin's database query (its docs call it a read; it changes nothing).
READ_POSTS = re.compile(r"^/buildin/v\d+/databases/[^/]+/query$")
#: Statuses a write may legitimately get in a healthy run: Buildin's optimistic-concurrency 409 is
#: answered by re-reading and retrying, and 429s are judged separately by the rate-limit check.
TOLERATED_WRITE_STATUSES = {"buildin": {409}}

_MODULE_REF = re.compile(r"airflow_provider_pagemeta\.(operators|hooks|sensors|triggers)\.(\w+)")


def cms_of(entry: Mapping[str, Any]) -> str:
    """The CMS a logged request went to: the first path segment (``/webflow/v2/...`` -> ``webflow``)."""
    return str(entry["path"]).split("/")[1]


def is_write(entry: Mapping[str, Any]) -> bool:
    method = str(entry["method"]).upper()
    return method not in READ_METHODS and not (method == "POST" and READ_POSTS.match(str(entry["path"])))


def is_2xx(status: int) -> bool:
    return 200 <= status < 300


def cms_used_by_dag(source: str) -> dict[str, set[str]]:
    """Which provider modules of which CMS a DAG file imports, e.g. ``{"webflow": {"operators"}}``.

    A DAG that imports a CMS's operators is expected to write to it; one that only uses a hook may
    just read, so the write check applies to operator imports only.
    """
    used: dict[str, set[str]] = {}
    for kind, cms in _MODULE_REF.findall(source):
        if cms in CMSES:
            used.setdefault(cms, set()).add(kind)
    return used


def requests_per_cms(log: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Reads, writes and 2xx writes per CMS, for the summary."""
    table: dict[str, Counter[str]] = {}
    for entry in log:
        counts = table.setdefault(cms_of(entry), Counter())
        counts["requests"] += 1
        if is_write(entry):
            counts["writes"] += 1
            counts["writes_2xx"] += is_2xx(int(entry["status"]))
        else:
            counts["reads"] += 1
        counts["429"] += int(entry["status"]) == 429
    return {cms: dict(counts) for cms, counts in sorted(table.items())}


def count_429(log: Iterable[Mapping[str, Any]], cms: str = "webflow") -> int:
    """429 answers the sandbox gave on one CMS: the provider's pacing should keep this at zero."""
    return sum(1 for e in log if cms_of(e) == cms and int(e["status"]) == 429)


def bad_writes(log: Iterable[Mapping[str, Any]], cms: str) -> list[str]:
    """Writes to ``cms`` answered with anything but 2xx, 429 (judged apart) or a tolerated status.
    An answer the harness injected (a sandbox fault, logged with ``"fault": true``) is the run's
    doing, not the provider's, and is judged by the check that injected it."""
    tolerated = TOLERATED_WRITE_STATUSES.get(cms, set()) | {429}
    return [
        f"{e['method']} {e['path']} -> {e['status']}"
        for e in log
        if cms_of(e) == cms and is_write(e) and not is_2xx(int(e["status"])) and int(e["status"]) not in tolerated
        and not e.get("fault")
    ]


def last_successful_writes(log: Iterable[Mapping[str, Any]], cms: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The body of the last 2xx write per (path, query) on ``cms``: what the CMS must show now."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for e in log:
        if cms_of(e) == cms and is_write(e) and is_2xx(int(e["status"])) and isinstance(e.get("body"), dict):
            latest[(str(e["path"]), _query_string(e.get("query")))] = e["body"]
    return latest


def _query_string(query: Any) -> str:
    if isinstance(query, Mapping):
        return "&".join(f"{k}={v}" for k, v in sorted(query.items()))
    return str(query or "")


def subset_mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Dotted paths where ``actual`` does not contain ``expected`` (dicts by key, everything else whole).

    A write body is "held" by the CMS when every value it sent reads back the same; extra keys the
    CMS adds (ids, timestamps) do not matter.
    """
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [where or "."]
        found = []
        for key, value in expected.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in actual:
                found.append(path)
            else:
                found.extend(subset_mismatches(value, actual[key], path))
        return found
    return [] if expected == actual else [where or "."]


def find_tokens(paths: Iterable[Path], tokens: Mapping[str, str]) -> list[str]:
    """``file: token name`` for every log file that contains a token value verbatim."""
    leaks: list[str] = []
    needles = {name: value.encode() for name, value in tokens.items()}
    for path in paths:
        try:
            content = path.read_bytes()
        except OSError:
            continue
        leaks.extend(f"{path}: {name}" for name, needle in needles.items() if needle in content)
    return leaks


def files_under(*roots: Path) -> list[Path]:
    """Every regular file below the given folders (missing folders are skipped)."""
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


_RECEIVED = re.compile(r"Task \S*execute_workload\[[0-9a-f-]+\] received")


def tasks_received(worker_log: str) -> int:
    """How many Airflow workloads one Celery worker took from the broker, read from its log."""
    return len(_RECEIVED.findall(worker_log))
