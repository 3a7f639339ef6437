"""The verdicts of an e2e run: each check turns evidence gathered from outside Airflow into named rows.

A check is a function ``check_x(verdict, ctx)`` that adds one or more ``(name, passed, detail)`` rows;
``CHECKS`` lists them in the order the summary prints them, and the exit code is ``verdict.passed``.
Adding a check is one function here and one entry in ``CHECKS``; what it may look at is in ``Context``
(the sandbox's request log and URL, the running Airflow, what the monitor saw, the file tree). The
pure judgements behind the checks live in ``evidence.py``, where they are unit-tested.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.e2e import evidence, object_store
from scripts.e2e.airflow_api import Airflow, Observed
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

    @property
    def runnable(self) -> list[str]:
        return [i for i in self.ids if i not in self.import_errors]

    def task_log_files(self, dag_id: str) -> list[Path]:
        return evidence.files_under(self.tree.home / "logs" / f"dag_id={dag_id}")


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
    throttled = evidence.count_429(ctx.log_entries, "webflow")
    verdict.add("webflow rate limit respected", throttled == 0, f"{throttled} x 429 on /webflow/")
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


#: Every check, in the order the summary prints them.
CHECKS: tuple[Callable[[Verdict, Context], None], ...] = (
    check_runs,
    check_writes,
    check_bulk,
    check_webflow_state,
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
    print(f"429s received on /webflow/: {evidence.count_429(ctx.log_entries, 'webflow')}")
    print(f"Journal objects ({object_store.JOURNAL_DIR}):")
    print("\n".join(f"  {line}" for line in object_store.summary_lines(ctx)) or "  none")
    print("Timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    print("Checks:")
    for name, ok, detail in verdict.rows:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    print(f"RESULT: {'PASS' if verdict.passed else 'FAIL'}")
    print("=" * 100)
