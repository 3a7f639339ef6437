"""Pure judgements behind the e2e checks of going live, review before apply, and query-picked bulk.

Like ``evidence.py``: no processes, no network, unit-tested in ``tests/scripts/test_e2e_harness.py``.
They read the sandbox's request log (one entry per request, oldest first; order is the clock the
judgements use: "before the approval" is "before the log position the harness noted when it
answered"; ``received_at`` only describes a failure), task log text, and change journal entries.

- Webflow publish: which site a publish went to, 429s of the publish limit apart from the general
  rate limit's, which pages were published after their last write (their live view must show it),
  and what the publish tasks' own logs say (published which site, waited how long after a 429).
- Reviewed refresh: the writes that carry a plan's new values, and whether each carries all of them.
- Buildin query refresh: the requests per database page (reads, writes, 409s, ``If-Match``).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from scripts.e2e.evidence import cms_of, is_2xx, is_write

PUBLISH_PATH = re.compile(r"^/webflow/(?:v2|beta)/sites/([0-9a-f]{24})/publish$")
PAGE_PATH = re.compile(r"^/webflow/v2/pages/([0-9a-f]{24})$")
BUILDIN_PAGE_PATH = re.compile(r"^/buildin/v2/pages/([^/]+)$")
#: What the hook's retry logs after a publish met the publish limit (``core.hook._log_retry``).
_PUBLISH_RETRY = re.compile(r"webflow: retrying in ([0-9.]+) s \(attempt \d+ of \d+ failed\): webflow publish_site "
                            r"\(POST \S*?/sites/([0-9a-f]{24})/publish\) -> HTTP 429")
#: What ``WebflowPublishSiteOperator`` logs after a successful publish.
_PUBLISHED = re.compile(r"Webflow published (?:page [0-9a-f]{24} of )?site ([0-9a-f]{24})")


def _status(entry: Mapping[str, Any]) -> int:
    return int(entry["status"] or 0)


# ------------------------------------------------------------------------------ Webflow publish


def publish_site(entry: Mapping[str, Any]) -> str | None:
    """The site a logged request published, or None when it is not a publish."""
    found = PUBLISH_PATH.match(str(entry["path"]))
    return found.group(1) if found and str(entry["method"]).upper() == "POST" else None


def webflow_429s(log: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """``(others, publishes)``: Webflow 429s on anything but a publish, and on publishes.

    Publishes have a limit of their own (one successful publish per site per interval): several
    DAGs publishing one site meet it by design and wait it out, so those 429s are expected. Every
    other 429 means the provider's pacing let a request through past the rate limit.
    """
    others = publishes = 0
    for entry in log:
        if cms_of(entry) != "webflow" or _status(entry) != 429:
            continue
        if publish_site(entry) is None:
            others += 1
        else:
            publishes += 1
    return others, publishes


def webflow_429_context(log: Sequence[Mapping[str, Any]], window: float) -> list[str]:
    """One line per Webflow 429: what was refused, when (seconds after the first logged request), and
    how many Webflow requests the sandbox had received in the ``window`` before it (the budget's use).
    Printed with a failed rate-limit check, so a rare 429 can be explained from the CI log alone."""
    stamps = [float(e.get("received_at") or 0.0) for e in log]
    start = min((t for t in stamps if t), default=0.0)
    lines = []
    for index, entry in enumerate(log):
        if cms_of(entry) != "webflow" or _status(entry) != 429:
            continue
        at = stamps[index]
        recent = sum(1 for e, t in zip(log[:index], stamps[:index], strict=True)
                     if cms_of(e) == "webflow" and at - window < t <= at)
        lines.append(f"{entry['method']} {entry['path']} at +{at - start:.1f} s (#{index}; {recent} webflow "
                     f"request(s) in the {window:g} s before)")
    return lines


def publish_429s_without_a_publish_before(log: Iterable[Mapping[str, Any]]) -> int:
    """Publish 429s of a site no successful publish of that site came before: not the publish limit's
    (it counts from the last successful publish), so the general rate limit's, which pacing must avoid."""
    published: set[str] = set()
    unexplained = 0
    for entry in log:
        site = publish_site(entry)
        if site is None:
            continue
        if is_2xx(_status(entry)):
            published.add(site)
        elif _status(entry) == 429 and site not in published:
            unexplained += 1
    return unexplained


def publishes_per_site(log: Iterable[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """Per site: publishes answered ``2xx``, ``429`` and ``other``."""
    table: dict[str, Counter[str]] = {}
    for entry in log:
        site = publish_site(entry)
        if site is None:
            continue
        status = _status(entry)
        table.setdefault(site, Counter())["2xx" if is_2xx(status) else "429" if status == 429 else "other"] += 1
    return table


def page_writes(log: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """Per (page id, locale id or ""): log position and body of its last 2xx page-settings write."""
    latest: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for index, entry in enumerate(log):
        found = PAGE_PATH.match(str(entry["path"]))
        if found and is_write(entry) and is_2xx(_status(entry)) and isinstance(entry.get("body"), dict):
            query = entry.get("query") or {}
            locale = str(query.get("localeId", "")) if isinstance(query, Mapping) else ""
            latest[(found.group(1), locale)] = (index, entry["body"])
    return latest


def published_after(log: Sequence[Mapping[str, Any]], site: str, index: int) -> bool:
    """Whether a publish of ``site`` succeeded after log position ``index``."""
    return any(publish_site(e) == site and is_2xx(_status(e)) for e in log[index + 1:])


def live_expectations(log: Sequence[Mapping[str, Any]], site_of: Mapping[str, str]
                      ) -> tuple[dict[tuple[str, str], dict[str, Any]], list[str]]:
    """What visitors must see now: ``(published, staged_only)``.

    ``published``: per (page id, locale), the visible fields (``seo``, ``openGraph``, ``title``) of its
    last write, for pages whose site was published after that write; their live view must hold them.
    ``staged_only``: pages whose last write no publish followed (live still shows the older values).
    A page missing from ``site_of`` (its site unknown) counts as staged only.
    """
    published: dict[tuple[str, str], dict[str, Any]] = {}
    staged: list[str] = []
    for (page, locale), (index, body) in sorted(page_writes(log).items()):
        site = site_of.get(page)
        if site is not None and published_after(log, site, index):
            published[(page, locale)] = {k: v for k, v in body.items() if k in ("seo", "openGraph", "title")}
        else:
            staged.append(page)
    return published, staged


def publish_retry_waits(task_log: str) -> list[tuple[str, float]]:
    """``(site, seconds)`` per wait the hook logged after a publish met the limit (a 429)."""
    return [(site, float(seconds)) for seconds, site in _PUBLISH_RETRY.findall(task_log)]


def published_sites(task_log: str) -> list[tuple[str, datetime | None]]:
    """``(site, when)`` per publish a publish task's log reports, ``when`` from the log line's timestamp
    (Airflow 3 writes task logs as JSON lines; None for a line without one)."""
    found: list[tuple[str, datetime | None]] = []
    for line in task_log.splitlines():
        match = _PUBLISHED.search(line)
        if match is None:
            continue
        try:
            stamp = json.loads(line).get("timestamp")
            when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
        except (ValueError, AttributeError):
            when = None
        found.append((match.group(1), when))
    return found


def closest_gap(times: Iterable[datetime | None]) -> float | None:
    """Seconds between the two closest of the given moments (None with fewer than two known)."""
    known = sorted(t for t in times if t is not None)
    gaps = [(b - a).total_seconds() for a, b in pairwise(known)]
    return min(gaps) if gaps else None


def waits_honoured(waits: Iterable[float], interval: float) -> list[float]:
    """The waits that cannot be the Retry-After of the publish limit: under 1 s or over the interval.

    The sandbox answers a publish within ``interval`` of the last one with ``Retry-After`` =
    ceil(seconds left), at least 1, so a client that waits what it is told waits in [1, ceil(interval)]:
    a shorter wait is a retry burst, a longer one ignored the header (e.g. a fixed minute).
    """
    return [w for w in waits if not 1.0 <= w <= math.ceil(interval)]


def changed(summaries: Iterable[Any]) -> int:
    """Pages a DAG's bulk results say were updated (dry runs excluded): its publish is due when > 0."""
    return sum(int(s.get("updated") or 0) for s in summaries
               if isinstance(s, Mapping) and "updated" in s and "failed" in s and not s.get("dry_run"))


# ---------------------------------------------------------------------------- reviewed refresh


def nest(dotted: Mapping[str, Any]) -> dict[str, Any]:
    """``{"seo.title": v}`` -> ``{"seo": {"title": v}}``: a journal's field paths as a write body."""
    body: dict[str, Any] = {}
    for path, value in dotted.items():
        *parents, leaf = path.split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return body


def _at(body: Any, path: str) -> tuple[bool, Any]:
    node = body
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def planned_values(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per page id: ``{field: new}`` of a journal's entries (the last entry of a page wins)."""
    values: dict[str, dict[str, Any]] = {}
    for entry in entries:
        page = str((entry.get("page") or {}).get("page_id"))
        values[page] = {field: change.get("new") for field, change in (entry.get("changes") or {}).items()}
    return values


def writes_carrying(log: Sequence[Mapping[str, Any]], planned: Mapping[str, Mapping[str, Any]]
                    ) -> list[tuple[int, str, bool]]:
    """``(log position, page id, carries all)`` for each Webflow page write carrying a planned new value.

    A write carries the plan when its body holds at least one of the page's planned ``new`` values
    (the plan's values are the review's own, so another DAG's write does not); ``carries all`` says
    whether it holds every one of them, as the apply of an approved plan must.
    """
    found: list[tuple[int, str, bool]] = []
    for index, entry in enumerate(log):
        match = PAGE_PATH.match(str(entry["path"]))
        if not match or not is_write(entry) or match.group(1) not in planned:
            continue
        wanted = planned[match.group(1)]
        held = [_at(entry.get("body"), f) == (True, v) for f, v in wanted.items()]
        if any(held):
            found.append((index, match.group(1), all(held)))
    return found


# ------------------------------------------------------------------------ Buildin query refresh


def buildin_page_traffic(log: Iterable[Mapping[str, Any]], page_ids: Iterable[str]) -> dict[str, Counter[str]]:
    """Per page (of ``page_ids``) with any request: ``reads``, ``writes_2xx``, ``writes_409``,
    ``writes_other`` and ``writes_without_if_match``."""
    wanted = set(page_ids)
    table: dict[str, Counter[str]] = {}
    for entry in log:
        match = BUILDIN_PAGE_PATH.match(str(entry["path"]))
        if not match or match.group(1) not in wanted:
            continue
        counts = table.setdefault(match.group(1), Counter())
        if not is_write(entry):
            counts["reads"] += 1
            continue
        status = _status(entry)
        counts["writes_2xx" if is_2xx(status) else "writes_409" if status == 409 else "writes_other"] += 1
        if "if-match" not in (entry.get("headers") or {}):
            counts["writes_without_if_match"] += 1
    return table


def buildin_written_bodies(log: Iterable[Mapping[str, Any]], page_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The bodies of the 2xx writes to the given Buildin pages, in order."""
    wanted = set(page_ids)
    return [e["body"] for e in log if isinstance(e.get("body"), dict) and is_write(e) and is_2xx(_status(e))
            and (m := BUILDIN_PAGE_PATH.match(str(e["path"]))) is not None and m.group(1) in wanted]


def buildin_queries(log: Iterable[Mapping[str, Any]], database_id: str) -> list[Mapping[str, Any]]:
    """The database query requests of one Buildin database, in order."""
    path = f"/buildin/v2/databases/{database_id}/query"
    return [e for e in log if e["path"] == path and str(e["method"]).upper() == "POST"]


def request_floor(pages: int, conflicts: int, page_size: int = 100) -> int:
    """Requests a query-picked Buildin bulk update needs at the floor: ceil(pages / page_size) queries
    (at least one), one read and one write per page, and one more read and write per 409."""
    return max(1, math.ceil(pages / page_size)) + 2 * pages + 2 * conflicts
