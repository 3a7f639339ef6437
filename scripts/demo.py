"""`make demo`: run every example DAG twice against a local sandbox and say what each run changed.

Prepares a SQLite Airflow home under ``.airflow/``, starts the sandbox as a subprocess on a free
port, points ``AIRFLOW_CONN_*`` at it, then runs each DAG in ``dags_examples/`` twice with
``dag.test()`` (the second run shows that a rerun changes nothing). Everything runs in this one
Airflow process: Airflow is imported and the DAG folder parsed once, instead of once per run as 14
``airflow dags test`` commands did (each paid ~20 s of start-up for 1-6 s of work). Runs stay
sequential on purpose: several examples touch the same demo pages (``content_migration`` and
``hamgam_meta_sync`` both write page 38), so each run's slice of the sandbox's request log is exactly
what that run sent, and the rerun proves the DAG idempotent rather than racing another DAG.

The console gets one block per DAG: for each run its outcome, its tasks' states, its change journal,
what the sandbox received (writes per CMS, the first few), and for Webflow whether it published (the
publish requests, or why the publish task was skipped) and what is now live (a few of the pages the
run wrote, read back from the sandbox's live view and compared with the staged value the API reads).
Each run's complete output (Airflow's and the tasks' logs) goes to ``.airflow/demo/<dag>-<run>.log``.
The change journals go to ``.airflow/demo/journal/`` (``[pagemeta] journal_dir``, set for this
process only), and the end writes their HTML report, ``.airflow/demo/report.html``, for a browser.
Journals, logs and report of a previous ``make demo`` are removed first. The exit code is non-zero
when any run fails, times out, or any DAG file does not import. The sandbox is stopped whatever
happens.

Adding an example DAG needs no change here: every DAG Airflow's parser finds in the folder is run.
A DAG file may declare what its demo runs need in a module-level ``DEMO`` mapping (read only
by this script, so the DAG's behaviour does not change)::

    DEMO = {"conf": {"dry_run": False}, "timeout": 300,
            "respond": {"approve_refresh": {"chosen_options": ["Approve"]}}}

``conf`` is passed to both runs as the run's conf (it overrides ``params`` defaults); ``timeout``
bounds each run in seconds (default ``RUN_TIMEOUT``); ``respond`` answers Human-in-the-loop tasks by
task id (``chosen_options``, optional ``params_input``): ``dag.test()`` keeps such a task waiting for
an answer from outside, which the demo gives as the HITL REST API would for a user, and without one
the run times out. Sandbox settings the demo wants
(``SANDBOX_SETTINGS``) are passed as the matching ``--flag`` only when the installed sandbox has
that setting, so a flag added to the sandbox later starts being used without an edit here.

``python scripts/demo.py DAG_ID ...`` runs only the DAGs named.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags_examples"
HOME = ROOT / ".airflow"
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
#: POSTs that only read: Buildin's database query (``POST /v2/databases/{id}/query``).
READ_POST = re.compile(r"/buildin/v\d+/databases/[^/]+/query")
#: Webflow's site publish (the v2 endpoint and the beta one the sandbox also serves).
PUBLISH = re.compile(r"/webflow/(?:v2|beta)/sites/(?P<site>[^/]+)/publish")
#: Webflow page-settings writes: one page, and the beta bulk endpoint.
WEBFLOW_PAGE_WRITE = re.compile(r"/webflow/v2/pages/(?P<page>[^/]+)")
WEBFLOW_BULK_WRITE = "/webflow/beta/pages"
#: The operator whose task decides whether a run goes live.
PUBLISH_TASK_TYPE = "WebflowPublishSiteOperator"
RUNS = ("first run", "rerun")
#: Seconds one run may take before it counts as failed (a DAG may ask for more in ``DEMO``).
RUN_TIMEOUT = 180.0
#: The name of the optional per-DAG declaration in a DAG file.
DEMO_ATTRIBUTE = "DEMO"
#: Writes listed per run (the rest are counted), and written Webflow pages checked live per run.
SHOWN_WRITES = 2
LIVE_PAGES = 2
#: Characters of a page value shown on the console.
VALUE_CHARS = 48
#: The field a live check shows, first one the run wrote wins (else the first field it wrote).
LIVE_FIELDS = ("seo.title", "seo.description", "openGraph.title", "openGraph.description", "title", "slug")

#: Sandbox settings for the demo, by ``SandboxConfig`` field. Webflow at an Enterprise-like 6,000
#: requests per minute, so the 240-page SEO refresh takes seconds (the pacing is the same as against
#: a 60/min Basic plan, only faster); a publish interval of one second once the sandbox has one.
SANDBOX_SETTINGS: dict[str, float] = {
    "webflow_rate_limit": 6000,
    "webflow_publish_interval": 1.0,
}

STARTED = time.monotonic()
T = TypeVar("T")


@dataclass(frozen=True)
class Setup:
    """The demo's folders: the DAGs it runs and the Airflow home it runs them in.

    Everything the demo writes is under ``home/demo``, which it owns: it is emptied at the start.
    """

    dags: Path = DAGS
    home: Path = HOME

    @property
    def run_logs(self) -> Path:
        """One file per run, plus ``setup.log`` (import, migration, parsing)."""
        return self.home / "demo"

    @property
    def journal(self) -> Path:
        """The runs' change journals (``[pagemeta] journal_dir`` of this process)."""
        return self.run_logs / "journal"

    @property
    def report(self) -> Path:
        """The HTML report of every journal of the demo's runs."""
        return self.run_logs / "report.html"


@dataclass(frozen=True)
class LiveCheck:
    """One Webflow page a run wrote: one field's value live (what visitors see) and staged."""

    page_id: str
    field: str
    live: Any
    staged: Any
    #: Live equals staged on every field the live view has (title, slug, seo, openGraph).
    page_live: bool


@dataclass
class RunResult:
    """One run of one DAG: its outcome, and what the sandbox saw it send."""

    dag_id: str
    label: str
    ok: bool
    seconds: float
    state: str
    log_file: Path
    requests: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: ``task_id`` (``task_id[i]`` for a mapped one) -> its final state.
    tasks: dict[str, str] = dataclasses.field(default_factory=dict)
    #: The task ids of the DAG's Webflow publish tasks.
    publish_tasks: list[str] = dataclasses.field(default_factory=list)
    #: Journal entries by status (``applied``, ``planned``, ``failed``); None: no journal read.
    journal: dict[str, int] | None = None
    answers: list[str] = dataclasses.field(default_factory=list)
    live: list[LiveCheck] = dataclasses.field(default_factory=list)
    #: What could not be read back after the run (task states, journal, live view), and why.
    notes: list[str] = dataclasses.field(default_factory=list)


# ----------------------------------------------------------------------------------- pure helpers


def sandbox_flags(settings: Mapping[str, float], known: set[str]) -> list[str]:
    """``--flag value`` for every setting the installed sandbox knows (its ``SandboxConfig`` fields)."""
    argv: list[str] = []
    for name, value in settings.items():
        if name in known:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


@dataclass(frozen=True)
class DemoSpec:
    """What a DAG file declares for its demo runs in ``DEMO`` (all optional)."""

    conf: dict[str, Any] | None = None
    timeout: float = RUN_TIMEOUT
    #: Answers to Human-in-the-loop tasks by task id: ``{"chosen_options": [...], "params_input": {...}}``.
    respond: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


DEMO_KEYS = ("conf", "timeout", "respond")
ANSWER_KEYS = ("chosen_options", "params_input")


def demo_spec(module: Any) -> DemoSpec:
    """The demo declaration of a DAG file's module (none: the defaults), checked strictly."""
    declared = getattr(module, DEMO_ATTRIBUTE, None) or {}
    if not isinstance(declared, Mapping):
        raise TypeError(f"{DEMO_ATTRIBUTE} must be a mapping, got {type(declared).__name__}")
    unknown = sorted(set(declared) - set(DEMO_KEYS))
    if unknown:
        raise ValueError(f"{DEMO_ATTRIBUTE} has unknown key(s) {', '.join(unknown)}; known: {', '.join(DEMO_KEYS)}")
    respond = {str(task): dict(answer) for task, answer in (declared.get("respond") or {}).items()}
    for task, answer in respond.items():
        bad = sorted(set(answer) - set(ANSWER_KEYS))
        if bad or not isinstance(answer.get("chosen_options", []), list):
            raise ValueError(f"{DEMO_ATTRIBUTE}['respond'][{task!r}] takes a list 'chosen_options' and a mapping "
                             f"'params_input'; got keys {sorted(answer)}")
    conf = declared.get("conf")
    return DemoSpec(dict(conf) if conf else None, float(declared.get("timeout", RUN_TIMEOUT)), respond)


def log_name(dag_id: str, label: str) -> str:
    return f"{dag_id}-{label.replace(' ', '-')}.log"


def counted(number: int, one: str, many: str = "") -> str:
    """``1 write``, ``3 writes``, ``2 publishes``."""
    return f"{number} {one if number == 1 else many or one + 's'}"


def is_read(request: Mapping[str, Any]) -> bool:
    """A request that changes nothing: the read methods, and POSTs that only query."""
    return request["method"] in READ_METHODS or (request["method"] == "POST"
                                                 and READ_POST.fullmatch(request["path"]) is not None)


def is_publish(request: Mapping[str, Any]) -> bool:
    return request["method"] == "POST" and PUBLISH.fullmatch(request["path"]) is not None


def describe(log: list[dict[str, Any]]) -> str:
    """What one run sent, from the sandbox's request log: writes per CMS and the first few writes.

    Publishes are counted apart (the publish line says what they did); a query is a read.
    """
    if not log:
        return "no request"
    publishes = sum(1 for r in log if is_publish(r))
    writes = [r for r in log if not is_read(r) and not is_publish(r)]
    per_cms = Counter(r["path"].split("/")[1] for r in writes)
    head = f"{counted(len(writes), 'write')}, {counted(len(log) - len(writes) - publishes, 'read')}"
    head += f", {counted(publishes, 'publish', 'publishes')}" if publishes else ""
    if per_cms:
        head += " — " + ", ".join(f"{cms}: {n}" for cms, n in sorted(per_cms.items()))
    lines = [head]
    for r in writes[:SHOWN_WRITES]:
        lines.append(f"  {r['method']} {r['path']} -> {r['status']}")
    if len(writes) > SHOWN_WRITES:
        lines.append(f"  ... and {len(writes) - SHOWN_WRITES} more")
    return "\n".join(lines)


def tasks_text(states: Mapping[str, str]) -> str:
    """``tasks: 3 success, 2 skipped (a, b)``: every state counted, the unusual ones named."""
    if not states:
        return "no task ran"
    by_state: dict[str, list[str]] = {}
    for task, state in states.items():
        by_state.setdefault(state, []).append(task)
    parts = []
    for state, tasks in sorted(by_state.items(), key=lambda item: (item[0] != "success", item[0])):
        names = "" if state == "success" else f" ({', '.join(tasks[:3])}{', ...' if len(tasks) > 3 else ''})"
        parts.append(f"{len(tasks)} {state}{names}")
    return "tasks: " + ", ".join(parts)


def journal_text(counts: Mapping[str, int] | None) -> str:
    """``journal: 3 applied``; a run that changed no page leaves no journal line at all."""
    if counts is None:
        return ""
    if not counts:
        return "journal: no page changed"
    return "journal: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def publish_text(log: list[dict[str, Any]], states: Mapping[str, str], publish_tasks: list[str]) -> str | None:
    """Whether a run published: the publish requests the sandbox received and the publish tasks'
    states. None when the run neither published nor has a publish task (nothing to say)."""
    sent = [r for r in log if is_publish(r)]
    task_states = ", ".join(f"{task} {state_of(states, task)}" for task in publish_tasks)
    if sent:
        calls = ", ".join(f"{r['method']} {r['path']} -> {r['status']}{publish_targets(r.get('body'))}"
                          for r in sent)
        verb = "published" if any(200 <= int(r["status"] or 0) < 300 for r in sent) else "publish FAILED"
        return f"{verb}: {calls}" + (f"; {task_states}" if task_states else "")
    if not publish_tasks:
        return None
    if all(state_of(states, task) == "skipped" for task in publish_tasks):
        return f"no publish: nothing changed ({task_states})"
    return f"no publish ({task_states})"


def state_of(states: Mapping[str, str], task: str) -> str:
    """A task's state; a mapped task's instances' states joined (``success/skipped``)."""
    if task in states:
        return states[task]
    mapped = sorted({state for name, state in states.items() if name.startswith(f"{task}[")})
    return "/".join(mapped) or "did not run"


def publish_targets(body: Any) -> str:
    """Where a publish request asked to go: `` (2 custom domains + webflow.io)``."""
    if not isinstance(body, Mapping):
        return ""
    targets = []
    if body.get("customDomains"):
        targets.append(counted(len(body["customDomains"]), "custom domain"))
    if body.get("publishToWebflowSubdomain") is True:
        targets.append("webflow.io")
    if body.get("pageId"):
        targets.append(f"page {body['pageId']} only")
    return f" ({' + '.join(targets)})" if targets else ""


def written_webflow_pages(log: list[dict[str, Any]]) -> list[tuple[str, str | None, dict[str, Any]]]:
    """``(page_id, locale_id, what was written)`` for every Webflow page a run wrote successfully,
    each page (and locale) once, in the order written; one-page PUTs and bulk PATCH entries alike."""
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in log:
        if not 200 <= int(r.get("status") or 0) < 300 or not isinstance(r.get("body"), Mapping):
            continue
        match = WEBFLOW_PAGE_WRITE.fullmatch(r["path"])
        if r["method"] == "PUT" and match:
            locale = (r.get("query") or {}).get("localeId")
            found.setdefault((match["page"], locale), dict(r["body"]))
        elif r["method"] == "PATCH" and r["path"] == WEBFLOW_BULK_WRITE:
            for entry in r["body"].get("pages") or []:
                if isinstance(entry, Mapping) and entry.get("id"):
                    body = {k: v for k, v in entry.items() if k not in ("id", "localeId")}
                    found.setdefault((str(entry["id"]), entry.get("localeId")), body)
    return [(page, locale, body) for (page, locale), body in found.items()]


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as ``{dotted.path: leaf}``."""
    if not isinstance(value, Mapping):
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(leaves(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def live_field(written: Mapping[str, Any]) -> str | None:
    """The field a live check shows for a page: the first of ``LIVE_FIELDS`` the run wrote."""
    fields = leaves(written)
    preferred = [name for name in LIVE_FIELDS if name in fields]
    return next(iter(preferred or fields), None)


def live_check(page_id: str, field: str, live: Mapping[str, Any], staged: Mapping[str, Any]) -> LiveCheck:
    """Compare a page as visitors see it with the page the API reads (staged), on ``live``'s keys."""
    live_leaves, staged_leaves = leaves(live), leaves(staged)
    page_live = all(staged_leaves.get(name) == value for name, value in live_leaves.items())
    return LiveCheck(page_id, field, live_leaves.get(field), staged_leaves.get(field), page_live)


def cut(value: Any, limit: int = VALUE_CHARS) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 2] + '…"'


def live_text(check: LiveCheck) -> str:
    """``<page> seo.title "..." = staged``, or the two values when live differs from staged."""
    head = f"{check.page_id} {check.field} {cut(check.live)}"
    if check.live == check.staged and check.page_live:
        return f"{head} = staged"
    if check.live == check.staged:
        return f"{head} = staged, but other fields are not live yet"
    return f"{head}, staged {cut(check.staged)}: NOT LIVE"


def run_lines(result: RunResult) -> list[str]:
    """One run's part of its DAG's block."""
    status = "ok" if result.ok else f"FAILED ({result.state}; see {shown(result.log_file)})"
    head = f"{result.label:<9} {status} in {result.seconds:.1f} s; {tasks_text(result.tasks)}"
    journal = journal_text(result.journal)
    lines = [head + (f"; {journal}" if journal else "")]
    lines += [f"  {answer}" for answer in result.answers]
    received = describe(result.requests).splitlines()
    lines.append(f"  received: {received[0]}")
    lines += [f"  {line}" for line in received[1:]]
    published = publish_text(result.requests, result.tasks, result.publish_tasks)
    if published:
        lines.append(f"  {published}")
    for number, check in enumerate(result.live):
        lines.append(f"  {'live now:' if number == 0 else '':<9} {live_text(check)}")
    lines += [f"  {note}" for note in result.notes]
    return lines


def dag_block(dag_id: str, results: list[RunResult]) -> str:
    """The console block of one DAG: its runs, indented under its id."""
    return "\n".join([dag_id, *(f"  {line}" for r in results for line in run_lines(r))])


def console(message: str) -> None:
    print(f"[demo {time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


def shown(path: Path) -> str:
    """A path as the user best reads it: relative to the checkout when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# ------------------------------------------------------------------------------- the sandbox


def start_sandbox(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """The sandbox as its own process, as a remote CMS would be; its output in ``log_path``."""
    from airflow_provider_pagemeta.sandbox.state import SandboxConfig  # light: a dataclass

    known = {f.name for f in dataclasses.fields(SandboxConfig)}
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_pagemeta.sandbox", "--port", str(port),
         *sandbox_flags(SANDBOX_SETTINGS, known)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the sandbox exited early; see {shown(log_path)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/", timeout=1).ok:
                return
        time.sleep(0.1)
    raise SystemExit(f"the sandbox did not answer on {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ------------------------------------------------------------------------ Airflow, in-process


def airflow_environment(setup: Setup, sandbox_url: str) -> dict[str, str]:
    """Set before Airflow is imported: its home, the DAG folder, the journal directory, and
    connections to the sandbox."""
    from airflow_provider_pagemeta.sandbox.control import connection_env

    return {
        "AIRFLOW_HOME": str(setup.home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(setup.dags),
        # The demo's own journal directory, whatever the user's environment or airflow.cfg says.
        "AIRFLOW__PAGEMETA__JOURNAL_DIR": str(setup.journal),
        **connection_env(sandbox_url),
    }


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``path`` for a while.

    At the descriptor level, so Airflow's log handlers, task ``print``s and anything a library writes
    land in the run's file whatever Python object they hold for the console.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class RunTimeout(BaseException):
    """A run went past its bound. A ``BaseException``, so Airflow's ``except Exception`` cannot swallow it."""


@dataclass
class Deadline:
    """Set by ``time_limit`` once its bound has passed, so the run is reported as timed out even when
    Airflow turned the interruption into an ordinary task failure."""

    seconds: float
    expired: bool = False


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[Deadline]:
    """Raise ``RunTimeout`` in the main thread after ``seconds``, and again every second until the block ends.

    A timer thread sends SIGUSR1 to the main thread: that interrupts a blocking call too, and unlike
    SIGALRM it is not re-armed and cancelled by Airflow's own DAG-import timeout inside ``dag.test()``.
    Repeating matters: the task runner catches the first interruption as the task's failure, and
    ``dag.test()`` would go on to the next task.
    """
    deadline = Deadline(seconds)
    finished = threading.Event()

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise RunTimeout(f"the run took longer than {seconds:.0f} s")

    def watch(main: int) -> None:
        if finished.wait(seconds):
            return
        deadline.expired = True
        while not finished.is_set():
            signal.pthread_kill(main, signal.SIGUSR1)
            finished.wait(1.0)

    previous = signal.signal(signal.SIGUSR1, expire)
    watcher = threading.Thread(target=watch, args=(threading.get_ident(),), name="demo-deadline", daemon=True)
    watcher.start()
    try:
        yield deadline
    finally:
        finished.set()
        watcher.join()
        signal.signal(signal.SIGUSR1, previous)


def prepare_airflow(setup: Setup) -> tuple[dict[str, Any], dict[str, str]]:
    """Import Airflow, migrate the SQLite DB (a no-op once done) and parse the DAG folder, once.

    Returns the DAGs by id and the import errors by file stem.
    """
    with output_to(setup.run_logs / "setup.log"):
        from airflow.dag_processing.dagbag import DagBag
        from airflow.utils import db

        db.upgradedb()
        bag = DagBag(str(setup.dags), bundle_path=setup.dags, bundle_name="dags-folder")
    errors = {Path(file).stem: str(trace) for file, trace in bag.import_errors.items()}
    return dict(bag.dags), errors


def module_of(dag: Any) -> Any:
    """The module the DAG parser loaded the DAG's file as (it keeps it in ``sys.modules``)."""
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == dag.fileloc:
            return module
    return None


def answer_waiting(dag_id: str, answers: Mapping[str, Mapping[str, Any]], since: datetime) -> list[str]:
    """Answer the declared Human-in-the-loop tasks of ``dag_id`` that wait for input in a run begun after
    ``since``, as the HITL REST API does for a user, so ``dag.test()`` resumes them. Returns what it did.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    done: list[str] = []
    with create_session() as session:
        waiting = session.execute(
            select(TaskInstance, HITLDetail)
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
            .where(TaskInstance.dag_id == dag_id, TaskInstance.task_id.in_(list(answers)),
                   TaskInstance.state == TaskInstanceState.AWAITING_INPUT, DagRun.run_after >= since,
                   HITLDetail.responded_at.is_(None))
        ).all()
        for ti, detail in waiting:
            answer = answers[ti.task_id]
            chosen = [str(option) for option in answer.get("chosen_options", [])]
            invalid = sorted(set(chosen) - set(detail.options or []))
            if invalid:
                done.append(f"{ti.task_id}: NOT answered, {invalid} not among the options {detail.options}")
                continue
            detail.responded_by = {"id": "make-demo", "name": "make demo"}
            detail.responded_at = datetime.now(timezone.utc)
            detail.chosen_options = chosen
            detail.params_input = dict(answer.get("params_input", {}))
            session.add(detail)
            handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
            done.append(f"{ti.task_id}: answered {chosen}")
    return done


@contextlib.contextmanager
def answering(dag_id: str, answers: Mapping[str, Mapping[str, Any]], given: list[str]) -> Iterator[None]:
    """While the block runs, answer the DAG's declared Human-in-the-loop tasks as they start waiting.

    ``dag.test()`` parks such a task and waits for an answer from outside (the UI or the HITL REST
    API); here a thread of this process gives the answer the DAG file declares in ``DEMO``. What it
    did is appended to ``given`` (and printed to the run's log).
    """
    if not answers:
        yield
        return
    since = datetime.now(timezone.utc)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.5):
            try:
                for line in answer_waiting(dag_id, answers, since):
                    given.append(f"Human-in-the-loop {line}")
                    print(f"[demo] Human-in-the-loop: {line}", flush=True)
            except Exception:  # reported in the run's log; the run's deadline still bounds it
                traceback.print_exc()

    thread = threading.Thread(target=poll, name="demo-hitl", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def run_once(dag: Any, spec: DemoSpec, log_file: Path, given: list[str]) -> tuple[bool, str, str | None]:
    """One ``dag.test()``, its whole output in ``log_file``; ``(succeeded, final state, run id)``.

    The run id is None when no run was created (an error before, or a timeout before it returned
    and no run of the DAG began after this call).
    """
    state = "failed"
    run_id: str | None = None
    called = datetime.now(timezone.utc)
    with output_to(log_file):
        deadline = Deadline(spec.timeout)
        try:
            with time_limit(spec.timeout) as deadline, answering(dag.dag_id, spec.respond, given):
                run = dag.test(run_conf=spec.conf)
            state = str(getattr(run.state, "value", run.state))
            run_id = str(run.run_id)
        except RunTimeout:
            pass  # reported below
        except Exception:  # any error is this run's failure, reported with its traceback
            state = "error"
            traceback.print_exc()
        if deadline.expired:
            state = "timed out"
            print(f"[demo] the run took longer than {spec.timeout:.0f} s and was stopped", flush=True)
        if run_id is None:
            run_id = latest_run_id(dag.dag_id, called)
    return state == "success", state, run_id


def latest_run_id(dag_id: str, since: datetime) -> str | None:
    """The newest run of ``dag_id`` created after ``since`` (a run ``dag.test()`` did not return)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.execute(select(DagRun.run_id).where(DagRun.dag_id == dag_id, DagRun.run_after >= since)
                                .order_by(DagRun.id.desc()).limit(1)).scalar()
    return str(found) if found else None


def task_states(dag: Any, run_id: str) -> dict[str, str]:
    """Each task's final state in the run (``task[i]`` for a mapped task's instances), in DAG order."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state)
                               .where(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run_id)).all()
    order = {task_id: number for number, task_id in enumerate(dag.task_ids)}
    rows = sorted(rows, key=lambda row: (order.get(row[0], len(order)), row[0], row[1]))
    return {(task if index < 0 else f"{task}[{index}]"): str(getattr(state, "value", state) or "no state")
            for task, index, state in rows}


def journal_counts(dag_id: str, run_id: str) -> dict[str, int] | None:
    """The run's journal entries by status; None when the run wrote no journal at all."""
    from airflow_provider_pagemeta.journal import read_journal, run_journal_dir
    from airflow_provider_pagemeta.journal.location import local_path

    uri = run_journal_dir(dag_id, run_id)
    if not any(local_path(uri).rglob("*.jsonl")):
        return None
    return dict(Counter(str(entry.get("status")) for entry in read_journal(uri)))


def live_checks(control: Any, log: list[dict[str, Any]]) -> list[LiveCheck]:
    """The first Webflow pages the run wrote, as visitors see them and as the API reads them."""
    import requests

    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    headers = {"Authorization": f"Bearer {SANDBOX_TOKENS['webflow']}", "Accept": "application/json"}
    checks: list[LiveCheck] = []
    for page_id, locale_id, written in written_webflow_pages(log)[:LIVE_PAGES]:
        field = live_field(written)
        if field is None:
            continue
        live = control.webflow_live(page_id, locale_id)
        staged = requests.get(f"{control.cms_url('webflow')}/v2/pages/{page_id}", headers=headers, timeout=10,
                              params={"localeId": locale_id} if locale_id else None)
        staged.raise_for_status()
        checks.append(live_check(page_id, field, live, staged.json()))
    return checks


def observe(result: RunResult, dag: Any, run_id: str | None, control: Any) -> None:
    """What the run left behind: task states, journal, and (for Webflow writes) the live pages.

    A failure here is a note on the run, not the end of the demo: the run itself already happened.
    """
    result.publish_tasks = [t.task_id for t in dag.tasks if getattr(t, "task_type", "") == PUBLISH_TASK_TYPE]

    def attempt(name: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except Exception as exc:  # shown on the console; the run's outcome stands
            result.notes.append(f"{name}: not read ({type(exc).__name__}: {exc})")
            return None

    if run_id is not None:
        result.tasks = attempt("tasks", lambda: task_states(dag, run_id)) or {}
        result.journal = attempt("journal", lambda: journal_counts(dag.dag_id, run_id))
    result.live = attempt("live now", lambda: live_checks(control, result.requests)) or []


def run_all(setup: Setup, dags: dict[str, Any], dag_ids: list[str], control: Any) -> list[RunResult]:
    """Each DAG twice, one after the other, each run's requests read back from the sandbox's log;
    one block per DAG on the console once both its runs are done."""
    results: list[RunResult] = []
    for dag_id in dag_ids:
        dag = dags[dag_id]
        spec = demo_spec(module_of(dag))
        runs: list[RunResult] = []
        for label in RUNS:
            since = len(control.requests())
            started = time.monotonic()
            log_file = setup.run_logs / log_name(dag_id, label)
            given: list[str] = []
            ok, state, run_id = run_once(dag, spec, log_file, given)
            result = RunResult(dag_id, label, ok, time.monotonic() - started, state, log_file,
                               control.requests(since=since), answers=given)
            observe(result, dag, run_id, control)
            runs.append(result)
        console(dag_block(dag_id, runs))
        results += runs
    return results


# ----------------------------------------------------------------------------------- the story


def write_html_report(setup: Setup) -> str:
    """The HTML report of every journal the demo's runs wrote, and a line saying where it is."""
    from airflow_provider_pagemeta.journal import read_journal, write_report

    if not any(setup.journal.rglob("*.jsonl")):
        return "Change report: no run wrote a journal."
    write_report(str(setup.journal), str(setup.report))
    entries = read_journal(str(setup.journal))
    pages = {(e.get("cms"), json.dumps(e.get("page"), sort_keys=True)) for e in entries}
    statuses = Counter(str(e.get("status")) for e in entries)
    counted = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    return (f"Change report (HTML, open it in a browser): {shown(setup.report)}\n"
            f"  {len(entries)} journal entries ({counted}) for {len(pages)} page(s); "
            f"journals in {shown(setup.journal)}/")


def report(setup: Setup, results: list[RunResult], import_errors: dict[str, str]) -> int:
    failed = [f"{r.dag_id} ({r.label})" for r in results if not r.ok]
    failed += [f"{stem} (import error: {trace.strip().splitlines()[-1] if trace.strip() else '?'})"
               for stem, trace in sorted(import_errors.items())]
    print()
    try:
        print(write_html_report(setup))
    except Exception as exc:  # the runs' verdict stands; say why there is no report
        print(f"Change report: not written ({type(exc).__name__}: {exc})")
        failed.append("the change report")
    print(f"Per-run logs: {shown(setup.run_logs)}/")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    if not results:
        print("No example DAGs to run.")
        return 0
    print(f"All {len(results)} runs succeeded in {time.monotonic() - STARTED:.0f} s.")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("dag_ids", nargs="*", help="run only these DAGs (default: every DAG in the folder)")
    parser.add_argument("--dags-folder", type=Path, default=DAGS, help="default: dags_examples/")
    parser.add_argument("--airflow-home", type=Path, default=HOME, help="SQLite Airflow home (default: .airflow/)")
    return parser.parse_args()


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    args = parse_args()
    setup = Setup(args.dags_folder.resolve(), args.airflow_home.resolve())
    setup.run_logs.mkdir(parents=True, exist_ok=True)
    for old in [*setup.run_logs.glob("*.log"), setup.report]:
        old.unlink(missing_ok=True)
    shutil.rmtree(setup.journal, ignore_errors=True)  # the report covers this demo's runs only
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox_log = setup.home / "sandbox.log"
    proc = start_sandbox(port, sandbox_log)  # first, so it boots while Airflow is imported below
    try:
        from airflow_provider_pagemeta.sandbox.control import SandboxControl

        os.environ.update(airflow_environment(setup, url))
        console(f"Airflow home: {shown(setup.home)} (SQLite); importing Airflow, parsing {shown(setup.dags)}/")
        dags, import_errors = prepare_airflow(setup)
        unknown = sorted(set(args.dag_ids) - set(dags))
        if unknown:
            raise SystemExit(f"no such DAG in {setup.dags}: {', '.join(unknown)}")
        dag_ids = sorted(args.dag_ids or dags)
        for stem, trace in sorted(import_errors.items()):
            console(f"{stem}: IMPORT ERROR {trace.strip().splitlines()[-1] if trace.strip() else ''}")
        wait_ready(url, proc, sandbox_log)
        console(f"Sandbox: {url}  (controls: {url}/_sandbox/requests); running {len(dag_ids)} DAG(s) twice")
        results = run_all(setup, dags, dag_ids, SandboxControl(url))
    finally:
        stop(proc)
    return report(setup, results, import_errors)


if __name__ == "__main__":
    exit_code = main()
    # Everything is written and the sandbox is stopped. Skip the interpreter's teardown of Airflow's
    # module graph, which takes several seconds and does nothing the user needs.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
