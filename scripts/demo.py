"""`make demo`: run every example DAG twice against a local sandbox and say what each run changed.

Prepares a SQLite Airflow home under ``.airflow/``, starts the sandbox as a subprocess on a free
port, points ``AIRFLOW_CONN_*`` at it, then runs each DAG in ``dags_examples/`` twice with
``dag.test()`` (the second run shows that a rerun changes nothing). Everything runs in this one
Airflow process: Airflow is imported and the DAG folder parsed once, instead of once per run as 14
``airflow dags test`` commands did (each paid ~20 s of start-up for 1-6 s of work). Runs stay
sequential on purpose: several examples touch the same demo pages (``content_migration`` and
``hamgam_meta_sync`` both write page 38), so each run's slice of the sandbox's request log is exactly
what that run sent, and the rerun proves the DAG idempotent rather than racing another DAG.

Each run's complete output (Airflow's and the tasks' logs) goes to ``.airflow/demo/<dag>-<run>.log``;
the console gets one line per run and a summary from the sandbox's request log. The exit code is
non-zero when any run fails, times out, or any DAG file does not import. The sandbox is stopped
whatever happens.

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
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags_examples"
HOME = ROOT / ".airflow"
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
RUNS = ("first run", "rerun")
#: Seconds one run may take before it counts as failed (a DAG may ask for more in ``DEMO``).
RUN_TIMEOUT = 180.0
#: The name of the optional per-DAG declaration in a DAG file.
DEMO_ATTRIBUTE = "DEMO"

#: Sandbox settings for the demo, by ``SandboxConfig`` field. Webflow at an Enterprise-like 6,000
#: requests per minute, so the 240-page SEO refresh takes seconds (the pacing is the same as against
#: a 60/min Basic plan, only faster); a publish interval of one second once the sandbox has one.
SANDBOX_SETTINGS: dict[str, float] = {
    "webflow_rate_limit": 6000,
    "webflow_publish_interval": 1.0,
}

STARTED = time.monotonic()


@dataclass(frozen=True)
class Setup:
    """The demo's folders: the DAGs it runs and the Airflow home it runs them in."""

    dags: Path = DAGS
    home: Path = HOME

    @property
    def run_logs(self) -> Path:
        """One file per run, plus ``setup.log`` (import, migration, parsing)."""
        return self.home / "demo"


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


def describe(log: list[dict[str, Any]]) -> str:
    """What one run sent, from the sandbox's request log: writes per CMS and the first few writes."""
    writes = [r for r in log if r["method"] not in READ_METHODS]
    reads = len(log) - len(writes)
    per_cms = Counter(r["path"].split("/")[1] for r in writes)
    head = f"{len(writes)} write(s), {reads} read(s)"
    if per_cms:
        head += " — " + ", ".join(f"{cms}: {n}" for cms, n in sorted(per_cms.items()))
    lines = [head]
    for r in writes[:4]:
        lines.append(f"      {r['method']} {r['path']} -> {r['status']}")
    if len(writes) > 4:
        lines.append(f"      ... and {len(writes) - 4} more")
    return "\n".join(lines)


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
    """Set before Airflow is imported: its home, the DAG folder, and connections to the sandbox."""
    from airflow_provider_pagemeta.sandbox.control import connection_env

    return {
        "AIRFLOW_HOME": str(setup.home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(setup.dags),
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
def answering(dag_id: str, answers: Mapping[str, Mapping[str, Any]]) -> Iterator[None]:
    """While the block runs, answer the DAG's declared Human-in-the-loop tasks as they start waiting.

    ``dag.test()`` parks such a task and waits for an answer from outside (the UI or the HITL REST
    API); here a thread of this process gives the answer the DAG file declares in ``DEMO``.
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


def run_once(dag: Any, spec: DemoSpec, log_file: Path) -> tuple[bool, str]:
    """One ``dag.test()``, its whole output in ``log_file``; ``(succeeded, final state)``."""
    state = "failed"
    with output_to(log_file):
        deadline = Deadline(spec.timeout)
        try:
            with time_limit(spec.timeout) as deadline, answering(dag.dag_id, spec.respond):
                run = dag.test(run_conf=spec.conf)
            state = str(getattr(run.state, "value", run.state))
        except RunTimeout:
            pass  # reported below
        except Exception:  # any error is this run's failure, reported with its traceback
            state = "error"
            traceback.print_exc()
        if deadline.expired:
            state = "timed out"
            print(f"[demo] the run took longer than {spec.timeout:.0f} s and was stopped", flush=True)
    return state == "success", state


def run_all(setup: Setup, dags: dict[str, Any], dag_ids: list[str], control: Any) -> list[RunResult]:
    """Each DAG twice, one after the other, each run's requests read back from the sandbox's log."""
    results: list[RunResult] = []
    for dag_id in dag_ids:
        dag = dags[dag_id]
        spec = demo_spec(module_of(dag))
        for label in RUNS:
            since = len(control.requests())
            started = time.monotonic()
            log_file = setup.run_logs / log_name(dag_id, label)
            ok, state = run_once(dag, spec, log_file)
            result = RunResult(dag_id, label, ok, time.monotonic() - started, state, log_file,
                               control.requests(since=since))
            results.append(result)
            status = "ok" if ok else f"FAILED ({state}; see {shown(log_file)})"
            console(f"{dag_id:<28} {label:<9} {status} in {result.seconds:.1f} s")
    return results


# ----------------------------------------------------------------------------------- the story


def report(setup: Setup, results: list[RunResult], import_errors: dict[str, str]) -> int:
    print("\nWhat each run changed (from the sandbox's request log):")
    for r in results:
        print(f"  {r.dag_id} ({r.label}, {'ok' if r.ok else 'FAILED: ' + r.state}): {describe(r.requests)}")
    failed = [f"{r.dag_id} ({r.label})" for r in results if not r.ok]
    failed += [f"{stem} (import error: {trace.strip().splitlines()[-1] if trace.strip() else '?'})"
               for stem, trace in sorted(import_errors.items())]
    print(f"\nPer-run logs: {shown(setup.run_logs)}/")
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
    for old in setup.run_logs.glob("*.log"):
        old.unlink()
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
