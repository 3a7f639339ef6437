"""The verdicts of an e2e run: each check turns evidence gathered from outside Airflow into named rows.

A check is a function ``check_x(verdict, ctx)`` that adds one or more ``(name, passed, detail)`` rows;
``CHECKS`` lists them in the order the summary prints them, and the exit code is ``verdict.passed``.
Adding a check is one function here and one entry in ``CHECKS``; what it may look at is in ``Context``
(the sandbox's request log and URL, the running Airflow, what the monitor saw, the file tree). The
pure judgements behind the checks live in ``evidence.py``, where they are unit-tested.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scripts.e2e import evidence, object_store
from scripts.e2e import feature_evidence as fe
from scripts.e2e.airflow_api import Airflow, Observed
from scripts.e2e.hitl import Approval
from scripts.e2e.layout import Tree
from scripts.e2e.object_store import (  # the change journal in the S3 bucket
    check_s3_apply_lines,
    check_s3_failed_try,
    check_s3_objects,
    check_s3_restore,
    check_s3_tokens,
    check_s3_workers,
)
from scripts.e2e.services import WORKERS

#: The DAG whose ButterCMS wait must go through the triggerer, and the trigger class it must use there.
DEFERRING_DAG = "buttercms_publish"
TRIGGER_CLASS = "ButterCMSPageUpdateTrigger"
BULK_DAG = "webflow_seo_refresh"
#: The refresh a person approves (the harness, through the REST API) before it is applied and published.
REVIEWED_DAG = "seo_refresh_reviewed"
#: The query-picked Buildin bulk refresh, and the filter its query must send.
QUERY_DAG = "buildin_query_refresh"
QUERY_FILTER = {"property": "SEO status", "select": {"equals": "needs refresh"}}
PUBLISH_OPERATOR = "WebflowPublishSiteOperator"


@dataclass
class Verdict:
    """Named checks with pass/fail and a one-line detail each; the exit code is ``all(passed)``."""

    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str = "") -> None:
        self.rows.append((name, passed, detail))

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.rows)


@dataclass
class Context:
    """Everything a check may look at, gathered once the runs are over."""

    tree: Tree
    dags: Path
    ids: list[str]  # every DAG file in the folder
    import_errors: dict[str, str]
    observed: Observed
    airflow: Airflow
    sandbox_url: str
    log_entries: list[dict[str, Any]]
    #: The Human-in-the-loop tasks the harness answered, with what it saw when it did.
    approvals: list[Approval] = field(default_factory=list)
    #: The sandbox's seconds between two successful publishes of one site (Webflow: 60).
    webflow_publish_interval: float = 60.0
    #: The sandbox's Webflow rate-limit window (seconds), to describe a 429.
    webflow_rate_window: float = 60.0

    @property
    def runnable(self) -> list[str]:
        return [i for i in self.ids if i not in self.import_errors]

    def task_log_files(self, dag_id: str) -> list[Path]:
        return evidence.files_under(self.tree.home / "logs" / f"dag_id={dag_id}")

    def task_log_text(self, dag_id: str, task_id: str) -> str:
        """Every log file of one task (all tries and map indexes), the worker's and none of a trigger's."""
        return "\n".join(p.read_text(errors="replace") for p in self.task_log_files(dag_id)
                         if f"task_id={task_id}" in str(p) and ".trigger." not in p.name)


# ------------------------------------------------------------------------------------ the checks


def check_runs(verdict: Verdict, ctx: Context) -> None:
    """Every DAG imported, and each run ended ``success``; a failure names its unsuccessful tasks."""
    for dag_id in ctx.ids:
        if dag_id in ctx.import_errors:
            first = ctx.import_errors[dag_id].strip().splitlines()[-1:]
            verdict.add(f"run {dag_id}", False, f"import error: {first[0] if first else '?'}")
            continue
        _run_id, state = ctx.observed.runs.get(dag_id, ("", "not created"))
        detail = state
        if state != "success":
            failed = [f"{t}[{m}]={s}" for d, t, m, s, _ in ctx.airflow.task_states() if d == dag_id and s != "success"]
            where = ctx.tree.home / "logs" / f"dag_id={dag_id}"
            detail += f"; tasks not successful: {', '.join(failed) or 'none'}; logs: {where}"
        verdict.add(f"run {dag_id}", state == "success", detail)


def check_writes(verdict: Verdict, ctx: Context) -> None:
    """Each DAG that uses a CMS's operators must have writes on that CMS, all answered 2xx (or tolerated)."""
    for dag_id in ctx.runnable:
        used = evidence.cms_used_by_dag((ctx.dags / f"{dag_id}.py").read_text())
        for cms, kinds in sorted(used.items()):
            if "operators" not in kinds:
                continue
            ok_writes = [e for e in ctx.log_entries if evidence.cms_of(e) == cms and evidence.is_write(e)
                         and evidence.is_2xx(int(e["status"]))]
            bad = evidence.bad_writes(ctx.log_entries, cms)
            passed = bool(ok_writes) and not bad
            verdict.add(f"writes {dag_id} -> {cms}", passed,
                        f"{len(ok_writes)} 2xx write(s)" + (f"; non-2xx: {bad[:5]}" if bad else ""))


def check_bulk(verdict: Verdict, ctx: Context) -> None:
    """No 429 from the sandbox's Webflow rate limit, and no failed page in the bulk refresh."""
    throttled, publish_429 = fe.webflow_429s(ctx.log_entries)
    context = fe.webflow_429_context(ctx.log_entries, ctx.webflow_rate_window) if throttled else []
    verdict.add("webflow rate limit respected", throttled == 0,
                f"{throttled} x 429 on /webflow/ page writes and reads (publish-limit 429s judged apart: "
                f"{publish_429})" + (f"; every Webflow 429: {context}" if context else ""))
    if BULK_DAG in ctx.runnable:
        summaries = [v for v in ctx.airflow.return_values(BULK_DAG) if isinstance(v, dict) and "failed" in v]
        failed = sum(int(v.get("failed", 0)) for v in summaries)
        shown = "; ".join(f"total={v.get('total')} updated={v.get('updated')} unchanged={v.get('unchanged')} "
                          f"failed={v.get('failed')} requests={v.get('requests')}" for v in summaries)
        verdict.add("bulk refresh: no failed page", failed == 0,
                    f"{len(summaries)} bulk summary(ies): {shown}" if summaries
                    else "no bulk summary in XCom (the DAG is still the single-page version)")


def check_webflow_state(verdict: Verdict, ctx: Context) -> None:
    """Read every written Webflow page back through the API: its SEO/Open Graph/title are what was last sent."""
    import requests

    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS, SandboxControl

    latest = evidence.last_successful_writes(ctx.log_entries, "webflow")
    pages = {k: v for k, v in latest.items() if re.fullmatch(r"/webflow/v2/pages/[0-9a-f]{24}", k[0])}
    if not pages:
        return
    # The request log is already captured; lift the limit so our own reads cannot meet a 429.
    SandboxControl(ctx.sandbox_url).config(webflow_rate_limit=1_000_000)
    problems = []
    headers = {"Authorization": f"Bearer {SANDBOX_TOKENS['webflow']}"}
    for (path, query), body in pages.items():
        expected = {k: v for k, v in body.items() if k in ("seo", "openGraph", "title")}
        current = requests.get(f"{ctx.sandbox_url}{path}" + (f"?{query}" if query else ""), headers=headers,
                               timeout=10)
        if current.status_code != 200:
            problems.append(f"{path}: GET {current.status_code}")
            continue
        problems.extend(f"{path}: {p}" for p in evidence.subset_mismatches(expected, current.json()))
    verdict.add("webflow state holds the writes", not problems,
                f"{len(pages)} page(s) read back" + (f"; differing: {problems[:5]}" if problems else ""))


def check_deferral(verdict: Verdict, ctx: Context) -> None:
    """The ButterCMS wait must leave the worker (deferred) and run in the triggerer process, not inline.

    Evidence from three places: the DB showed the task ``deferred`` (seen by the monitor) and its worker
    log says ``Pausing task as DEFERRED``; the trigger row was assigned to a triggerer job; and the
    trigger's own log lines sit in ``<task log>.trigger.<job id>.log``, the file the triggerer writes for
    the job it runs as, with ``job.job_type = TriggererJob`` for that id.
    """
    if DEFERRING_DAG not in ctx.runnable:
        verdict.add("deferral", True, f"skipped: no {DEFERRING_DAG} DAG yet")
        return
    observed = ctx.observed
    seen_db = sorted(t for d, t in observed.deferred if d == DEFERRING_DAG)
    marker = "Pausing task as DEFERRED"
    logs = ctx.task_log_files(DEFERRING_DAG)
    from_logs = sorted({_task_of(p) for p in logs if marker in p.read_text(errors="replace")})
    verdict.add("deferral: task deferred", bool(seen_db or from_logs),
                f"seen deferred in DB: {seen_db or 'none'}; task logs with '{marker}': {from_logs or 'none'}")
    trigger_logs = {p: int(m.group(1)) for p in logs if (m := re.search(r"\.log\.trigger\.(\d+)\.log$", p.name))
                    and TRIGGER_CLASS in p.read_text(errors="replace")}
    jobs = ctx.airflow.job_types(set(trigger_logs.values()) | {j for _, j in observed.triggers if j is not None})
    assigned = sorted({f"{c.rsplit('.', 1)[-1]} -> job {j} ({jobs.get(j, '?') if j else 'unassigned'})"
                       for c, j in observed.triggers if j is not None})
    in_triggerer = bool(trigger_logs) and all(jobs.get(j) == "TriggererJob" for j in trigger_logs.values())
    inline = [p.name for p in evidence.files_under(ctx.tree.logs, ctx.tree.home / "logs")
              if "[DAG TEST]" in p.read_text(errors="replace")]
    verdict.add("deferral: trigger ran in the triggerer", in_triggerer and not inline,
                f"{TRIGGER_CLASS} log lines in {[p.name for p in trigger_logs] or 'no trigger log'} written by "
                f"job(s) {sorted({f'{j}={jobs.get(j)}' for j in trigger_logs.values()})}; trigger rows: "
                f"{assigned or 'none seen'}; inline trigger runs: {inline or 'none'}")


def _task_of(path: Path) -> str:
    found = re.search(r"task_id=([^/]+)", str(path))
    return found.group(1) if found else path.name


def check_workers(verdict: Verdict, ctx: Context) -> None:
    """Both Celery workers must have run tasks, or the run proved nothing about state across workers."""
    per_worker = {name: evidence.tasks_received((ctx.tree.logs / f"{name}.log").read_text(errors="replace"))
                  for name in WORKERS}
    verdict.add("tasks spread over both workers", all(per_worker.values()),
                ", ".join(f"{name}: {n} task(s)" for name, n in per_worker.items()))


def check_tokens(verdict: Verdict, ctx: Context) -> None:
    """No sandbox token verbatim in any Airflow or service log."""
    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    files = evidence.files_under(ctx.tree.home / "logs", ctx.tree.logs)
    leaks = evidence.find_tokens(files, SANDBOX_TOKENS)
    verdict.add("no token in any log", not leaks,
                f"{len(files)} log file(s) scanned" + (f"; leaks: {leaks}" if leaks else ""))

# ------------------------------------------------------------- going live, review, query-picked bulk


def _token_headers(cms: str) -> dict[str, str]:
    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    return {"Authorization": f"Bearer {SANDBOX_TOKENS[cms]}"}


def webflow_sites(ctx: Context, page_ids: Iterable[str]) -> dict[str, str]:
    """Each page's site, read through the API (the request log is captured: the limit is lifted first)."""
    import requests

    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    SandboxControl(ctx.sandbox_url).config(webflow_rate_limit=1_000_000)
    sites: dict[str, str] = {}
    with requests.Session() as session:
        for page in sorted(set(page_ids)):
            answer = session.get(f"{ctx.sandbox_url}/webflow/v2/pages/{page}", headers=_token_headers("webflow"),
                                 timeout=10)
            if answer.ok:
                sites[page] = str(answer.json().get("siteId"))
    return sites


def check_webflow_live(verdict: Verdict, ctx: Context) -> None:
    """Visitors see what was written: every page whose site was published after its last write shows
    that write on the live site (``/_sandbox/webflow/live/{page}``), and no written page is left staged."""
    import requests

    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    written = fe.page_writes(ctx.log_entries)
    if not written:
        return
    site_of = webflow_sites(ctx, {page for page, _ in written})
    published, staged = fe.live_expectations(ctx.log_entries, site_of)
    control = SandboxControl(ctx.sandbox_url)
    problems: list[str] = []
    for (page, locale), expected in published.items():
        try:
            live = control.webflow_live(page, locale or None)
        except requests.HTTPError as exc:
            problems.append(f"{page}: live view {exc}")
            continue
        problems.extend(f"{page}: live {where}" for where in evidence.subset_mismatches(expected, live))
    sites = Counter(site_of.get(page, "?") for page, _ in published)
    verdict.add("webflow live holds the published writes", bool(published) and not problems and not staged,
                f"{len(published)} page(s) published after their last write read back live ("
                + ", ".join(f"site {site}: {n}" for site, n in sorted(sites.items()))
                + f"); {len(staged)} written page(s) left staged only" + (f": {staged[:5]}" if staged else "")
                + (f"; differing: {problems[:5]}" if problems else ""))


def _publish_tasks(ctx: Context) -> list[tuple[str, str, str | None]]:
    """``(dag_id, task_id, state)`` of every publish task of a runnable DAG."""
    return [(d, t, s) for d, t, _m, s in ctx.airflow.tasks_of_operator(PUBLISH_OPERATOR) if d in ctx.runnable]


def _webflow_updated(ctx: Context, dag_id: str) -> int:
    """Pages the DAG's Webflow bulk tasks updated (dry runs excluded), from their XCom summaries."""
    tasks = sorted({t for d, t, _m, _s in ctx.airflow.tasks_of_operator("WebflowBulkUpdatePagesOperator")
                    if d == dag_id})
    return fe.changed(v for task in tasks for v in ctx.airflow.task_return_values(dag_id, task))


def check_publishes(verdict: Verdict, ctx: Context) -> None:
    """A refresh run that changed pages published their site exactly once; one that changed none did not
    publish (skipped, no request). Per site, the sandbox's successful publishes are exactly those."""
    tasks = _publish_tasks(ctx)
    by_site: dict[str, list[tuple[str, datetime | None]]] = {}
    for dag_id, task_id, state in tasks:
        updated = _webflow_updated(ctx, dag_id)
        sites = fe.published_sites(ctx.task_log_text(dag_id, task_id))
        for site, when in sites:
            by_site.setdefault(site, []).append((dag_id, when))
        ok = (state == "success" and len(sites) == 1) if updated else (state == "skipped" and not sites)
        verdict.add(f"publish {dag_id}", ok,
                    f"{updated} page(s) updated -> {task_id} {state}, published "
                    + (", ".join(f"site {s}" for s, _w in sites) + f" ({len(sites)} time(s))" if sites else "nothing"))
    table = fe.publishes_per_site(ctx.log_entries)
    wrong = sorted(site for site in set(table) | set(by_site)
                   if (counts := table.get(site, Counter()))["2xx"] != len(by_site.get(site, [])) or counts["other"])
    shown = [_site_publishes(site, counts, by_site.get(site, [])) for site, counts in sorted(table.items())]
    detail = "; ".join(shown) + (f"; mismatched: {wrong}" if wrong else "")
    verdict.add("webflow publishes: one per changed run and site", bool(tasks) and not wrong,
                detail or "no publish request logged")


def _site_publishes(site: str, counts: Counter[str], runs: list[tuple[str, datetime | None]]) -> str:
    gap = fe.closest_gap(when for _d, when in runs)
    return (f"site {site}: {counts['2xx']} x 2xx for {len(runs)} changed run(s) "
            f"({', '.join(sorted(d for d, _w in runs)) or 'none'}), {counts['429']} x 429, {counts['other']} other"
            + (f", closest two {gap:.0f} s apart" if gap is not None else ""))


def check_publish_limit(verdict: Verdict, ctx: Context) -> None:
    """Publishes that met the one-publish-per-interval limit (several DAGs publish one site) were waited
    out as the hook does: each 429 answered by one logged wait of its Retry-After, then a publish."""
    _others, publish_429 = fe.webflow_429s(ctx.log_entries)
    early = fe.publish_429s_without_a_publish_before(ctx.log_entries)
    tasks = _publish_tasks(ctx)
    waits = [(dag_id, site, seconds) for dag_id, task_id, _s in tasks
             for site, seconds in fe.publish_retry_waits(ctx.task_log_text(dag_id, task_id))]
    interval = ctx.webflow_publish_interval
    off = fe.waits_honoured([seconds for _d, _site, seconds in waits], interval)
    unfinished = sorted(d for d, _t, s in tasks if s not in ("success", "skipped"))
    passed = len(waits) == publish_429 and not early and not off and not unfinished
    context = [] if passed else fe.webflow_429_context(ctx.log_entries, ctx.webflow_rate_window)
    verdict.add("webflow publish limit waited out", passed,
                f"{publish_429} publish 429(s) from the one-publish-per-{interval:g}-s limit (sandbox "
                f"--webflow-publish-interval {interval:g}; Webflow's is 60 s), {early} before any publish of "
                f"their site (the rate limit's); {len(waits)} wait(s) in the publish tasks' logs: "
                + (", ".join(f"{d} {s:.0f} s" for d, _site, s in waits) or "none")
                + f" (each the Retry-After, 1-{math.ceil(interval)} s)"
                + (f"; outside that: {off}" if off else "")
                + (f"; publish tasks not done: {unfinished}" if unfinished else "")
                + (f"; every Webflow 429: {context}" if context else ""))


def _journal_of(ctx: Context, dag_id: str, task_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The journal URI a task's XCom names, and its entries (read as a user would, from that URI)."""
    from airflow_provider_pagemeta.journal import read_journal

    values = [v for v in ctx.airflow.task_return_values(dag_id, task_id) if isinstance(v, dict)]
    uri = next((str(v["journal"]) for v in values if v.get("journal")), "")
    if not uri:
        raise LookupError(f"{dag_id}.{task_id}: no journal URI in its XCom")
    return uri, read_journal(uri)


def check_reviewed(verdict: Verdict, ctx: Context) -> None:
    """The reviewed refresh: planned, approved through the REST API, then exactly the plan applied,
    journaled and published; nothing written while it waited."""
    if REVIEWED_DAG not in ctx.runnable:
        verdict.add("review", True, f"skipped: no {REVIEWED_DAG} DAG")
        return
    approval = next((a for a in ctx.approvals if a.dag_id == REVIEWED_DAG), None)
    if approval is None or not approval.answered or approval.log_index is None:
        verdict.add("review answered through the REST API", False,
                    "not answered" + (f" (seen waiting at {approval.pending_at:.0f} s)" if approval and
                                      approval.pending_at is not None else "")
                    + (f"; failed calls: {approval.errors[-3:]}" if approval and approval.errors else ""))
        return
    body = str(approval.detail.get("body") or "")
    after = f" once {', '.join(approval.after)} had ended" if approval.after else ""
    verdict.add("review answered through the REST API",
                approval.answer.get("chosen_options") == [approval.option] and "**Change journal:**" in body,
                f"{approval.task_id} of run {approval.run_id} pending at {approval.pending_at or 0:.0f} s, answered "
                f"{approval.answer.get('chosen_options')} at {approval.answered_at or 0:.0f} s{after}; the approver "
                f"read a {len(body.splitlines())}-line Markdown report"
                + (f"; {len(approval.errors)} failed call(s) tried again: {approval.errors[-3:]}" if approval.errors
                   else ""))
    try:
        plan_uri, plan = _journal_of(ctx, REVIEWED_DAG, "plan")
        apply_uri, applied = _journal_of(ctx, REVIEWED_DAG, "apply")
    except Exception as exc:
        verdict.add("review: journal holds the planned and applied entries", False, f"{type(exc).__name__}: {exc}")
        return
    planned = fe.planned_values(e for e in plan if e.get("status") == "planned")
    _judge_review_journal(verdict, approval, plan_uri, plan, apply_uri, applied, planned)
    _judge_review_writes(verdict, ctx, approval, planned)


def _judge_review_journal(verdict: Verdict, approval: Approval, plan_uri: str, plan: list[dict[str, Any]],
                          apply_uri: str, applied: list[dict[str, Any]], planned: dict[str, dict[str, Any]]) -> None:
    statuses = Counter(str(e.get("status")) for e in plan), Counter(str(e.get("status")) for e in applied)
    runs = {str(e.get("run_id")) for e in plan + applied}
    same_new = fe.planned_values(e for e in applied if e.get("status") == "applied") == planned
    ok = (bool(planned) and set(statuses[0]) == {"planned"} and set(statuses[1]) == {"applied"}
          and len(applied) == len(planned) and same_new and runs == {approval.run_id})
    verdict.add("review: journal holds the planned and applied entries", ok,
                f"plan {dict(statuses[0])} in {plan_uri}; apply {dict(statuses[1])} in {apply_uri}; applied new "
                f"values {'==' if same_new else '!='} planned; run id(s) {sorted(runs)}")


def _judge_review_writes(verdict: Verdict, ctx: Context, approval: Approval,
                         planned: dict[str, dict[str, Any]]) -> None:
    index = approval.log_index or 0
    carrying = fe.writes_carrying(ctx.log_entries, planned)
    before = [(i, page) for i, page, _all in carrying if i < index]
    after = [(i, page, held) for i, page, held in carrying if i >= index]
    verdict.add("review: nothing written before the approval", bool(planned) and not before,
                f"{len(before)} write(s) carrying the plan's values among the {index} request(s) logged before the "
                f"answer" + (f": {before[:5]}" if before else ""))
    pages = sorted(page for _i, page, _held in after)
    partial = sorted(page for _i, page, held in after if not held)
    verdict.add("review: apply wrote exactly the planned pages", pages == sorted(planned) and not partial,
                f"{len(planned)} planned page(s); {len(after)} write(s) after the answer, to "
                f"{len(set(pages))} distinct page(s)" + ("" if pages == sorted(planned) else f" {pages}")
                + (f"; missing planned values: {partial}" if partial else "; each with every planned value"))
    site_of = webflow_sites(ctx, planned)
    sites = sorted(set(site_of.values()))
    last = max((i for i, _page, _held in after), default=len(ctx.log_entries))
    publishes = [i for i, e in enumerate(ctx.log_entries) if i > last and fe.publish_site(e) in sites
                 and evidence.is_2xx(int(e["status"] or 0))]
    states = {t: s for d, t, s in _publish_tasks(ctx) if d == REVIEWED_DAG}
    verdict.add("review: published after the apply", bool(after) and len(sites) == 1 and bool(publishes)
                and set(states.values()) == {"success"},
                f"site {', '.join(sites) or '?'}: {len(publishes)} successful publish(es) after the apply's last write "
                f"(log position {last}" + (f" -> {publishes[0]}" if publishes else "") + f"); publish task(s) {states}")


def check_buildin_query(verdict: Verdict, ctx: Context) -> None:
    """The query-picked Buildin refresh wrote exactly the flagged pages, at the request floor."""
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    if QUERY_DAG not in ctx.runnable:
        verdict.add("buildin query refresh", True, f"skipped: no {QUERY_DAG} DAG")
        return
    fixtures = SandboxControl(ctx.sandbox_url).fixtures()["buildin"]
    [(database, rows)] = fixtures["database_page_ids"].items()
    flagged = sorted(fixtures["needs_refresh_page_ids"])
    queries = fe.buildin_queries(ctx.log_entries, database)
    bodies_ok = all(q.get("body", {}).get("filter") == QUERY_FILTER and q["body"].get("page_size") == 100
                    and evidence.is_2xx(int(q["status"] or 0)) for q in queries)
    expected = max(1, math.ceil(len(flagged) / 100))
    verdict.add("buildin query refresh: pages picked by the query", bodies_ok and len(queries) == expected,
                f"{len(queries)} query request(s) to database {database} (expected {expected} for {len(flagged)} "
                f"flagged of {len(rows)} pages), filter {QUERY_FILTER}"
                + ("" if bodies_ok else "; a query differed or failed"))
    _judge_buildin_writes(verdict, ctx, database, rows, flagged, len(queries))


def _judge_buildin_writes(verdict: Verdict, ctx: Context, database: str, rows: list[str], flagged: list[str],
                          queries: int) -> None:
    import requests

    traffic = fe.buildin_page_traffic(ctx.log_entries, rows)
    written = sorted(p for p, c in traffic.items() if c["writes_2xx"])
    conflicts = sum(c["writes_409"] for c in traffic.values())
    odd = sorted(p for p, c in traffic.items() if c["writes_2xx"] != 1 or c["writes_other"]
                 or c["writes_without_if_match"] or c["reads"] != 1 + c["writes_409"])
    sent = queries + sum(c["reads"] + c["writes_2xx"] + c["writes_409"] + c["writes_other"] for c in traffic.values())
    marked = sum(1 for body in fe.buildin_written_bodies(ctx.log_entries, rows)
                 if (body.get("properties") or {}).get("SEO status") == {"select": {"name": "ok"}}
                 and (body["properties"].get("Meta description") or {}).get("rich_text"))
    summary = next((v for v in ctx.airflow.task_return_values(QUERY_DAG, "fill_meta_descriptions")
                    if isinstance(v, dict)), {})
    answer = requests.post(f"{ctx.sandbox_url}/buildin/v2/databases/{database}/query", timeout=10,
                           headers=_token_headers("buildin"), json={"filter": QUERY_FILTER, "page_size": 100})
    left = len(answer.json().get("results") or []) if answer.ok else -1
    floor = fe.request_floor(len(flagged), conflicts)
    ok = (written == flagged and not odd and sent == floor and marked == len(written) and left == 0
          and summary.get("updated") == len(flagged) and summary.get("failed") == 0)
    verdict.add("buildin query refresh: writes", ok,
                f"{len(written)} page(s) written (the {len(flagged)} flagged: {written == flagged}), each once with "
                f"If-Match, after 1 read ({conflicts} x 409); {sent} request(s) (floor {floor}: queries + 1 read + "
                f"1 write per page); {marked} marked ok with a meta description; summary "
                f"updated={summary.get('updated')} failed={summary.get('failed')}; {left} page(s) still flagged"
                + (f"; irregular: {odd[:5]}" if odd else ""))

#: Every check, in the order the summary prints them.
CHECKS: tuple[Callable[[Verdict, Context], None], ...] = (
    check_runs,
    check_writes,
    check_bulk,
    check_webflow_state,
    check_webflow_live,
    check_publishes,
    check_publish_limit,
    check_reviewed,
    check_buildin_query,
    check_deferral,
    check_workers,
    check_tokens,
    check_s3_objects,
    check_s3_apply_lines,
    check_s3_failed_try,
    check_s3_restore,
    check_s3_workers,
    check_s3_tokens,
)


def judge(ctx: Context) -> Verdict:
    verdict = Verdict()
    for check in CHECKS:
        check(verdict, ctx)
    return verdict


# ------------------------------------------------------------------------------------- summary


def print_summary(verdict: Verdict, ctx: Context, timings: dict[str, float]) -> None:
    observed = ctx.observed
    print("\n" + "=" * 100)
    print("E2E SUMMARY  (PostgreSQL + Redis + CeleryExecutor x2 workers + triggerer + dag-processor + api-server)")
    print("DAG runs:")
    for dag_id, (run_id, state) in sorted(observed.runs.items()):
        print(f"  {dag_id:<28} {state:<8} {run_id}")
    print(f"Deferred tasks seen: {sorted(observed.deferred) or 'none'}")
    print(f"Triggers seen (classpath, triggerer job): {sorted(observed.triggers, key=str) or 'none'}")
    print("Requests per CMS (sandbox log):")
    for cms, counts in evidence.requests_per_cms(ctx.log_entries).items():
        print(f"  {cms:<10} " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    others, publishes = fe.webflow_429s(ctx.log_entries)
    print(f"429s received on /webflow/: {others} on page writes and reads, {publishes} on publishes (the "
          f"one-publish-per-{ctx.webflow_publish_interval:g}-s limit of the sandbox; Webflow's is 60 s)")
    for approval in ctx.approvals:
        print(f"Human-in-the-loop: {approval.dag_id}.{approval.task_id} answered "
              f"{approval.answer.get('chosen_options') or 'never'} through the REST API"
              + (f" ({len(approval.errors)} failed call(s) tried again)" if approval.errors else ""))
    print(f"Journal objects ({object_store.JOURNAL_DIR}):")
    print("\n".join(f"  {line}" for line in object_store.summary_lines(ctx)) or "  none")
    print("Timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    print("Checks:")
    for name, ok, detail in verdict.rows:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    failed = [(name, detail) for name, ok, detail in verdict.rows if not ok]
    if failed:
        # Repeated last: a CI log that keeps only its tail must still name what failed, and why.
        print(f"FAILED CHECKS ({len(failed)} of {len(verdict.rows)}):")
        for name, detail in failed:
            print(f"  [FAIL] {name}: {detail}")
    print(f"RESULT: {'PASS' if verdict.passed else 'FAIL'}")
    print("=" * 100)
