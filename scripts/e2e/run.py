"""`make e2e`: every example DAG on a real multi-process Airflow (PostgreSQL, Redis, CeleryExecutor, triggerer).

``airflow dags test`` runs a DAG in one process and runs triggers inline, which hides the faults that
reach users in production: a trigger that does not serialise or import in a separate triggerer,
hook state that does not survive a hop between workers, a sync connection lookup inside the
triggerer's event loop, two workers writing to one rate-limited CMS at once. This script builds the
production shape on one machine from Debian and PyPI packages only, runs every DAG in
``dags_examples/`` through it, then judges the result from outside Airflow (the sandbox's request
log and state, the metadata DB, the log files) and stops everything it started, whatever happens.

Everything lives under ``.e2e/`` (gitignored) and is rebuilt on each run, so a run never depends on
the previous one.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness_checks as checks  # noqa: E402 - the harness's own modules live beside this file
from harness_procs import ServiceGroup, free_port, wait_for  # noqa: E402

ROOT = HERE.parent.parent
E2E = ROOT / ".e2e"
LOGS = E2E / "logs"
HOME = E2E / "airflow"
PGDATA = E2E / "pgdata"
PGSOCK = E2E / "pgsock"
REDISDIR = E2E / "redis"
PIDFILE = E2E / "pgids.json"
BIN = Path(sys.executable).parent
CONSTRAINTS = ROOT / "constraints.txt"
E2E_CONSTRAINTS = HERE / "constraints-e2e.txt"
TERMINAL = {"success", "failed"}
#: The DAG whose ButterCMS wait must go through the triggerer, and the trigger class it must use there.
DEFERRING_DAG = "buttercms_publish"
TRIGGER_CLASS = "ButterCMSPageUpdateTrigger"
BULK_DAG = "webflow_seo_refresh"
WORKERS = ("e2e-worker-1", "e2e-worker-2")


@dataclass
class Ports:
    """Free loopback ports for every server, picked once per run so parallel runs cannot collide."""

    postgres: int = field(default_factory=free_port)
    redis: int = field(default_factory=free_port)
    sandbox: int = field(default_factory=free_port)
    api: int = field(default_factory=free_port)
    worker_logs: int = field(default_factory=free_port)
    trigger_logs: int = field(default_factory=free_port)


@dataclass
class Observed:
    """What the monitor saw while the DAGs ran (the DB forgets transient states like ``deferred``)."""

    runs: dict[str, tuple[str, str]] = field(default_factory=dict)  # dag_id -> (run_id, state)
    deferred: set[tuple[str, str]] = field(default_factory=set)  # (dag_id, task_id) seen deferred
    triggers: set[tuple[str, int | None]] = field(default_factory=set)  # (classpath, triggerer job id)
    run_seconds: float = 0.0


def log(message: str) -> None:
    """Progress on stdout, timestamped relative to the start so slow phases stand out."""
    print(f"[e2e {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


STARTED = time.monotonic()


# --------------------------------------------------------------------------------------------- setup


def run_logged(name: str, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 600,
               user: str | None = None) -> None:
    """Run a one-shot command with its output in ``.e2e/logs/<name>.log``; fail loudly with the log's tail."""
    log_path = LOGS / f"{name}.log"
    with open(log_path, "ab") as out:
        done = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, user=user, cwd=E2E, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{name} failed (exit {done.returncode}); tail of {log_path}:\n{tail}")


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: PATH first (e.g. /usr/local/bin), then Debian's layout."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(re.sub(r"\D", "", p.parent.name)
                                                                                    or 0), reverse=True)
    candidates.extend(versions)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def ensure_system_packages() -> Path:
    """Install PostgreSQL and Redis from Debian when missing (one ``apt-get update``), return PostgreSQL's bin."""
    missing = []
    if find_pg_bin() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if missing:
        if os.geteuid() != 0:
            raise RuntimeError(f"missing {', '.join(missing)} and not root: apt-get install -y {' '.join(missing)}")
        log(f"installing {', '.join(missing)} from Debian")
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        run_logged("apt", ["apt-get", *lock, "update", "-qq"], env=apt_env, timeout=900)
        run_logged("apt", ["apt-get", *lock, "install", "-y", "-qq", *missing], env=apt_env, timeout=900)
    pg_bin = find_pg_bin()
    if pg_bin is None or shutil.which("redis-server") is None:
        raise RuntimeError("PostgreSQL or Redis still missing after apt-get install")
    return pg_bin


def ensure_python_packages() -> None:
    """Celery provider + psycopg2 into the venv, pinned by our file and by the project's (nothing pinned moves)."""
    uv = BIN / "uv"
    pkgs = ["apache-airflow-providers-celery", "psycopg2-binary", "asyncpg"]
    if uv.exists():
        argv = [str(uv), "pip", "install", "-q", "--python", sys.executable, "-c", str(CONSTRAINTS),
                "-c", str(E2E_CONSTRAINTS), *pkgs]
    else:
        argv = [sys.executable, "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), "-c", str(E2E_CONSTRAINTS),
                *pkgs]
    run_logged("pip-install", argv, timeout=900)


def postgres_user() -> str | None:
    """A non-root account for PostgreSQL (initdb refuses root); ``None`` when we are not root already."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pagemeta-e2e"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "pagemeta-e2e"],
                   check=True)
    return "pagemeta-e2e"


def kill_previous_run() -> None:
    """A run killed with SIGKILL cannot clean up: stop its process groups before wiping its data."""
    if not PIDFILE.exists():
        return
    for pgid in json.loads(PIDFILE.read_text()):
        try:
            os.killpg(int(pgid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    time.sleep(1)


def fresh_tree() -> None:
    """Start from nothing: a leftover DB or log from an earlier run must not make this one pass."""
    kill_previous_run()
    shutil.rmtree(E2E, ignore_errors=True)
    for folder in (LOGS, HOME, PGDATA, PGSOCK, REDISDIR):
        folder.mkdir(parents=True, exist_ok=True)


def hand_over(pg_user: str | None) -> None:
    """PostgreSQL's folders must belong to the account it runs as."""
    if pg_user:
        for folder in (PGDATA, PGSOCK):
            shutil.chown(folder, pg_user, pg_user)


def record_pgids(group: ServiceGroup) -> None:
    PIDFILE.write_text(json.dumps([s.pgid for s in group.services]))


# ------------------------------------------------------------------------------------------ services


def start_postgres(group: ServiceGroup, pg_bin: Path, pg_user: str | None, port: int) -> None:
    run_logged("initdb", [str(pg_bin / "initdb"), "-D", str(PGDATA), "-U", "airflow", "--auth=trust", "-E", "UTF8",
                          "--locale=C", "--no-sync"], user=pg_user, timeout=120)
    service = group.start("postgres", [
        str(pg_bin / "postgres"), "-D", str(PGDATA), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={PGSOCK}",
        "-c", "max_connections=200", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
    ], env=dict(os.environ), cwd=E2E, user=pg_user, stop_signal=signal.SIGINT)  # SIGINT = fast shutdown
    record_pgids(group)
    wait_for("postgres", lambda: _pg_connect(port, "postgres") is not None, 60, alive=service.alive)
    conn = _pg_connect(port, "postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE airflow")
    conn.close()


def _pg_connect(port: int, dbname: str = "airflow") -> Any:
    import psycopg2  # installed by ensure_python_packages, after this module is imported

    return psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname=dbname, connect_timeout=3)


def start_redis(group: ServiceGroup, port: int) -> None:
    service = group.start("redis", [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(REDISDIR), "--save", "",
        "--appendonly", "no",
    ], env=dict(os.environ), cwd=E2E)
    record_pgids(group)
    wait_for("redis", lambda: _redis_ping(port), 30, alive=service.alive)


def _redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


def start_sandbox(group: ServiceGroup, port: int, args: argparse.Namespace) -> None:
    """The sandbox as its own process, like a remote CMS: every Airflow process reaches it over TCP."""
    import requests

    service = group.start("sandbox", [
        sys.executable, "-m", "airflow_provider_pagemeta.sandbox", "--port", str(port),
        "--webflow-rate-limit", str(args.webflow_rate_limit), "--webflow-rate-window", str(args.webflow_rate_window),
        "--buttercms-apply-delay", str(args.buttercms_apply_delay),
    ], env=dict(os.environ), cwd=ROOT)
    record_pgids(group)
    url = f"http://127.0.0.1:{port}/_sandbox/fixtures"
    wait_for("sandbox", lambda: requests.get(url, timeout=2).ok, 60, alive=service.alive)


def airflow_env(ports: Ports, dags: Path, window: float) -> dict[str, str]:
    """One environment for every Airflow component, so they agree on DB, broker, secrets and connections."""
    from airflow_provider_pagemeta.sandbox.control import connection_env

    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    db = f"airflow@127.0.0.1:{ports.postgres}/airflow"
    conns = connection_env(f"http://127.0.0.1:{ports.sandbox}")
    webflow = json.loads(conns["AIRFLOW_CONN_WEBFLOW_DEFAULT"])
    webflow["extra"] = {**webflow.get("extra", {}), "rate_limit_window": window}
    conns["AIRFLOW_CONN_WEBFLOW_DEFAULT"] = json.dumps(webflow)
    return {
        **base,
        **conns,
        "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",  # SQLAlchemy 2.1 defaults to psycopg 3
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports.api),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{ports.api}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports.api}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__FERNET_KEY": "",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.worker_logs),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.trigger_logs),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    }


def start_airflow(group: ServiceGroup, env: dict[str, str], ports: Ports) -> None:
    """Migrate the DB, then start each component as its own process (group) with its own log."""
    import requests

    airflow = str(BIN / "airflow")
    log("airflow db migrate")
    run_logged("db-migrate", [airflow, "db", "migrate"], env=env, timeout=600)
    api = group.start("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(ports.api),
                                     "--workers", "1"], env=env, cwd=HOME)
    group.start("scheduler", [airflow, "scheduler"], env=env, cwd=HOME)
    group.start("dag-processor", [airflow, "dag-processor"], env=env, cwd=HOME)
    group.start("triggerer", [airflow, "triggerer"], env=env, cwd=HOME)
    host = socket.gethostname()
    workers = [group.start(name, [airflow, "celery", "worker", "--celery-hostname", f"{name}@{host}",
                                  "--concurrency", "2", "--skip-serve-logs", "--without-mingle", "--without-gossip"],
                           env=env, cwd=HOME) for name in WORKERS]
    record_pgids(group)
    health = f"http://127.0.0.1:{ports.api}/api/v2/monitor/health"
    waited = wait_for("api-server", lambda: requests.get(health, timeout=3).ok, 180, 1.0, alive=api.alive)
    log(f"api-server healthy after {waited:.0f} s")
    for worker in workers:
        wait_for(worker.name, functools.partial(_log_says, worker.log_path, " ready."), 180, 1.0, alive=worker.alive)
    log("both Celery workers ready")
    wait_for("scheduler+triggerer+dag-processor healthy", lambda: _all_healthy(health), 180, 1.0)


def _log_says(path: Path, text: str) -> bool:
    return text in path.read_text(errors="replace")


def _all_healthy(url: str) -> bool:
    import requests

    body = requests.get(url, timeout=3).json()
    return all(body.get(part, {}).get("status") == "healthy"
               for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))


# --------------------------------------------------------------------------------------------- DAGs


def dag_ids(dags: Path) -> list[str]:
    return sorted(p.stem for p in dags.glob("*.py") if not p.name.startswith("_"))


def wait_parsed(port: int, ids: list[str], timeout: float) -> dict[str, str]:
    """Wait until every DAG is serialised or has an import error; return the import errors per DAG id."""
    errors: dict[str, str] = {}

    def done() -> bool:
        with _pg_connect(port) as conn, conn.cursor() as cur:
            cur.execute("SELECT dag_id FROM dag WHERE NOT is_stale")
            present = {row[0] for row in cur.fetchall()}
            cur.execute("SELECT filename, stacktrace FROM import_error")
            for filename, trace in cur.fetchall():
                errors[Path(filename).stem] = trace
        return all(i in present or i in errors for i in ids)

    wait_for("DAG parsing", done, timeout, 2.0)
    return {i: errors[i] for i in ids if i in errors}


def trigger_all(env: dict[str, str], ids: list[str]) -> None:
    """Unpause then trigger every DAG; the triggers run side by side, as users' schedules would."""
    airflow = str(BIN / "airflow")
    pattern = "^(" + "|".join(re.escape(i) for i in ids) + ")$"
    run_logged("cli-unpause", [airflow, "dags", "unpause", "--treat-dag-id-as-regex", "-y", pattern], env=env,
               timeout=180)
    procs = []
    for dag_id in ids:
        out = open(LOGS / f"cli-trigger-{dag_id}.log", "wb")  # noqa: SIM115 - closed below
        procs.append((dag_id, out, subprocess.Popen([airflow, "dags", "trigger", dag_id], env=env, stdout=out,
                                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)))
    for dag_id, out, proc in procs:
        code = proc.wait(timeout=180)
        out.close()
        if code != 0:
            raise RuntimeError(f"airflow dags trigger {dag_id} failed; see {LOGS / f'cli-trigger-{dag_id}.log'}")


def monitor(port: int, ids: list[str], timeout: float, observed: Observed) -> None:
    """Poll the metadata DB until every run is finished, noting transient states the DB will not keep."""
    started = time.monotonic()
    deadline = started + timeout
    last_report = ""
    while True:
        with _pg_connect(port) as conn, conn.cursor() as cur:
            cur.execute("SELECT dag_id, run_id, state FROM dag_run WHERE dag_id = ANY(%s)", (ids,))
            for dag_id, run_id, state in cur.fetchall():
                observed.runs[dag_id] = (run_id, state)
            cur.execute("SELECT dag_id, task_id FROM task_instance WHERE state = 'deferred'")
            observed.deferred.update((d, t) for d, t in cur.fetchall())
            cur.execute("SELECT classpath, triggerer_id FROM trigger")
            observed.triggers.update((c, t) for c, t in cur.fetchall())
        states = {i: observed.runs.get(i, ("", "none"))[1] for i in ids}
        report = ", ".join(f"{i}={s}" for i, s in states.items())
        if report != last_report:
            log(f"runs: {report}")
            last_report = report
        if all(s in TERMINAL for s in states.values()):
            break
        if time.monotonic() > deadline:
            log(f"runs not finished within {timeout:.0f} s")
            break
        time.sleep(1.0)
    observed.run_seconds = time.monotonic() - started


# --------------------------------------------------------------------------------------------- checks


@dataclass
class Verdict:
    """Named checks with pass/fail and a one-line detail each; the exit code is ``all(passed)``."""

    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str = "") -> None:
        self.rows.append((name, passed, detail))

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.rows)


def task_states(port: int) -> list[tuple[str, str, int, str | None, int]]:
    with _pg_connect(port) as conn, conn.cursor() as cur:
        cur.execute("SELECT dag_id, task_id, map_index, state, try_number FROM task_instance "
                    "ORDER BY dag_id, task_id, map_index")
        return [tuple(row) for row in cur.fetchall()]


def return_values(port: int, dag_id: str) -> list[Any]:
    """The XCom return values of one DAG's tasks (JSON in Airflow 3's metadata DB)."""
    with _pg_connect(port) as conn, conn.cursor() as cur:
        cur.execute("SELECT value FROM xcom WHERE dag_id = %s AND key = 'return_value'", (dag_id,))
        values = []
        for (value,) in cur.fetchall():
            values.append(json.loads(value) if isinstance(value, str) else value)
        return values


def task_log_files(dag_id: str) -> list[Path]:
    return checks.files_under(HOME / "logs" / f"dag_id={dag_id}")


def check_runs(verdict: Verdict, observed: Observed, ids: list[str], import_errors: dict[str, str],
               port: int) -> None:
    for dag_id in ids:
        if dag_id in import_errors:
            first = import_errors[dag_id].strip().splitlines()[-1:]
            verdict.add(f"run {dag_id}", False, f"import error: {first[0] if first else '?'}")
            continue
        _run_id, state = observed.runs.get(dag_id, ("", "not created"))
        detail = state
        if state != "success":
            failed = [f"{t}[{m}]={s}" for d, t, m, s, _ in task_states(port) if d == dag_id and s != "success"]
            where = HOME / "logs" / f"dag_id={dag_id}"
            detail += f"; tasks not successful: {', '.join(failed) or 'none'}; logs: {where}"
        verdict.add(f"run {dag_id}", state == "success", detail)


def check_writes(verdict: Verdict, log_entries: list[dict[str, Any]], dags: Path, ids: list[str]) -> None:
    """Each DAG that uses a CMS's operators must have writes on that CMS, all answered 2xx (or tolerated)."""
    for dag_id in ids:
        used = checks.cms_used_by_dag((dags / f"{dag_id}.py").read_text())
        for cms, kinds in sorted(used.items()):
            if "operators" not in kinds:
                continue
            ok_writes = [e for e in log_entries if checks.cms_of(e) == cms and checks.is_write(e)
                         and checks.is_2xx(int(e["status"]))]
            bad = checks.bad_writes(log_entries, cms)
            passed = bool(ok_writes) and not bad
            verdict.add(f"writes {dag_id} -> {cms}", passed,
                        f"{len(ok_writes)} 2xx write(s)" + (f"; non-2xx: {bad[:5]}" if bad else ""))


def check_webflow_state(verdict: Verdict, log_entries: list[dict[str, Any]], sandbox: str) -> None:
    """Read every written Webflow page back through the API: its SEO/Open Graph/title are what was last sent."""
    import requests

    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    latest = checks.last_successful_writes(log_entries, "webflow")
    pages = {k: v for k, v in latest.items() if re.fullmatch(r"/webflow/v2/pages/[0-9a-f]{24}", k[0])}
    if not pages:
        return
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    # The request log is already captured; lift the limit so our own reads cannot meet a 429.
    SandboxControl(sandbox).config(webflow_rate_limit=1_000_000)
    problems = []
    headers = {"Authorization": f"Bearer {SANDBOX_TOKENS['webflow']}"}
    for (path, query), body in pages.items():
        expected = {k: v for k, v in body.items() if k in ("seo", "openGraph", "title")}
        current = requests.get(f"{sandbox}{path}" + (f"?{query}" if query else ""), headers=headers, timeout=10)
        if current.status_code != 200:
            problems.append(f"{path}: GET {current.status_code}")
            continue
        problems.extend(f"{path}: {p}" for p in checks.subset_mismatches(expected, current.json()))
    verdict.add("webflow state holds the writes", not problems,
                f"{len(pages)} page(s) read back" + (f"; differing: {problems[:5]}" if problems else ""))


def check_deferral(verdict: Verdict, observed: Observed, ids: list[str], port: int) -> None:
    """The ButterCMS wait must leave the worker (deferred) and run in the triggerer process, not inline.

    Evidence from three places: the DB showed the task ``deferred`` (seen by the monitor) and its worker
    log says ``Pausing task as DEFERRED``; the trigger row was assigned to a triggerer job; and the
    trigger's own log lines sit in ``<task log>.trigger.<job id>.log``, the file the triggerer writes for
    the job it runs as, with ``job.job_type = TriggererJob`` for that id.
    """
    if DEFERRING_DAG not in ids:
        verdict.add("deferral", True, f"skipped: no {DEFERRING_DAG} DAG yet")
        return
    seen_db = sorted(t for d, t in observed.deferred if d == DEFERRING_DAG)
    marker = "Pausing task as DEFERRED"
    logs = task_log_files(DEFERRING_DAG)
    from_logs = sorted({_task_of(p) for p in logs if marker in p.read_text(errors="replace")})
    verdict.add("deferral: task deferred", bool(seen_db or from_logs),
                f"seen deferred in DB: {seen_db or 'none'}; task logs with '{marker}': {from_logs or 'none'}")
    trigger_logs = {p: int(m.group(1)) for p in logs if (m := re.search(r"\.log\.trigger\.(\d+)\.log$", p.name))
                    and TRIGGER_CLASS in p.read_text(errors="replace")}
    jobs = job_types(port, set(trigger_logs.values()) | {j for _, j in observed.triggers if j is not None})
    assigned = sorted({f"{c.rsplit('.', 1)[-1]} -> job {j} ({jobs.get(j, '?') if j else 'unassigned'})"
                       for c, j in observed.triggers if j is not None})
    in_triggerer = bool(trigger_logs) and all(jobs.get(j) == "TriggererJob" for j in trigger_logs.values())
    inline = [p.name for p in checks.files_under(LOGS, HOME / "logs") if "[DAG TEST]" in p.read_text(errors="replace")]
    verdict.add("deferral: trigger ran in the triggerer", in_triggerer and not inline,
                f"{TRIGGER_CLASS} log lines in {[p.name for p in trigger_logs] or 'no trigger log'} written by "
                f"job(s) {sorted({f'{j}={jobs.get(j)}' for j in trigger_logs.values()})}; trigger rows: "
                f"{assigned or 'none seen'}; inline trigger runs: {inline or 'none'}")


def job_types(port: int, job_ids: set[int]) -> dict[int, str]:
    """``job.job_type`` per id: tells a TriggererJob from a scheduler or an inline ``dags test`` run."""
    if not job_ids:
        return {}
    with _pg_connect(port) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, job_type FROM job WHERE id = ANY(%s)", (sorted(job_ids),))
        return {int(i): str(t) for i, t in cur.fetchall()}


def _task_of(path: Path) -> str:
    found = re.search(r"task_id=([^/]+)", str(path))
    return found.group(1) if found else path.name


def check_bulk(verdict: Verdict, log_entries: list[dict[str, Any]], port: int, ids: list[str]) -> int:
    """No failed page in the bulk refresh, and no 429 from the sandbox's Webflow rate limit."""
    throttled = checks.count_429(log_entries, "webflow")
    verdict.add("webflow rate limit respected", throttled == 0, f"{throttled} x 429 on /webflow/")
    if BULK_DAG in ids:
        summaries = [v for v in return_values(port, BULK_DAG) if isinstance(v, dict) and "failed" in v]
        failed = sum(int(v.get("failed", 0)) for v in summaries)
        shown = "; ".join(f"total={v.get('total')} updated={v.get('updated')} unchanged={v.get('unchanged')} "
                          f"failed={v.get('failed')} requests={v.get('requests')}" for v in summaries)
        verdict.add("bulk refresh: no failed page", failed == 0,
                    f"{len(summaries)} bulk summary(ies): {shown}" if summaries
                    else "no bulk summary in XCom (the DAG is still the single-page version)")
    return throttled


def check_workers(verdict: Verdict) -> dict[str, int]:
    """Both Celery workers must have run tasks, or the run proved nothing about state across workers."""
    per_worker = {name: checks.tasks_received((LOGS / f"{name}.log").read_text(errors="replace")) for name in WORKERS}
    verdict.add("tasks spread over both workers", all(per_worker.values()),
                ", ".join(f"{name}: {n} task(s)" for name, n in per_worker.items()))
    return per_worker


def check_tokens(verdict: Verdict) -> None:
    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    files = checks.files_under(HOME / "logs", LOGS)
    leaks = checks.find_tokens(files, SANDBOX_TOKENS)
    verdict.add("no token in any log", not leaks, f"{len(files)} log file(s) scanned" + (f"; leaks: {leaks}"
                                                                                         if leaks else ""))


# -------------------------------------------------------------------------------------------- summary


def print_summary(verdict: Verdict, observed: Observed, log_entries: list[dict[str, Any]], throttled: int,
                  timings: dict[str, float]) -> None:
    print("\n" + "=" * 100)
    print("E2E SUMMARY  (PostgreSQL + Redis + CeleryExecutor x2 workers + triggerer + dag-processor + api-server)")
    print("DAG runs:")
    for dag_id, (run_id, state) in sorted(observed.runs.items()):
        print(f"  {dag_id:<28} {state:<8} {run_id}")
    print(f"Deferred tasks seen: {sorted(observed.deferred) or 'none'}")
    print(f"Triggers seen (classpath, triggerer job): {sorted(observed.triggers, key=str) or 'none'}")
    print("Requests per CMS (sandbox log):")
    for cms, counts in checks.requests_per_cms(log_entries).items():
        print(f"  {cms:<10} " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"429s received on /webflow/: {throttled}")
    print("Timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    print("Checks:")
    for name, ok, detail in verdict.rows:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    print(f"RESULT: {'PASS' if verdict.passed else 'FAIL'}")
    print("=" * 100)


# ----------------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dags-folder", type=Path, default=ROOT / "dags_examples")
    parser.add_argument("--webflow-rate-limit", type=int, default=60,
                        help="sandbox Webflow requests per window: 240 pages at 60 per 15 s take about a minute")
    parser.add_argument("--webflow-rate-window", type=float, default=15.0, help="sandbox Webflow window (s)")
    parser.add_argument("--buttercms-apply-delay", type=float, default=20.0,
                        help="seconds before a ButterCMS 202 becomes readable: longer than the gap between the "
                             "publish task and the sensor's first check, so the sensor must defer")
    parser.add_argument("--run-timeout", type=float, default=600.0, help="bound on waiting for the DAG runs (s)")
    return parser.parse_args()


@contextmanager
def stopped_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit so the ``finally`` that stops the servers always runs."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        log(f"interrupted by {signal.Signals(signum).name}")
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute(args: argparse.Namespace, group: ServiceGroup, timings: dict[str, float]) -> int:
    dags = args.dags_folder.resolve()
    ids = dag_ids(dags)
    log(f"DAGs: {', '.join(ids) or 'none'}")
    fresh_tree()
    pg_bin = ensure_system_packages()
    ensure_python_packages()
    timings["install"] = time.monotonic() - STARTED
    pg_user = postgres_user()
    hand_over(pg_user)
    ports = Ports()
    log(f"postgres ({pg_bin}, user {pg_user or 'current'}) on {ports.postgres}, redis on {ports.redis}")
    start_postgres(group, pg_bin, pg_user, ports.postgres)
    start_redis(group, ports.redis)
    start_sandbox(group, ports.sandbox, args)
    sandbox = f"http://127.0.0.1:{ports.sandbox}"
    log(f"sandbox on {sandbox} (webflow {args.webflow_rate_limit} req / {args.webflow_rate_window:g} s)")
    env = airflow_env(ports, dags, args.webflow_rate_window)
    start_airflow(group, env, ports)
    import_errors = wait_parsed(ports.postgres, ids, 240)
    log(f"DAGs parsed ({len(import_errors)} import error(s))")
    timings["start-up"] = time.monotonic() - STARTED - timings["install"]
    runnable = [i for i in ids if i not in import_errors]
    observed = Observed()
    if runnable:
        log("unpausing and triggering")
        trigger_all(env, runnable)
        log(f"triggered {len(runnable)} DAG(s)")
        monitor(ports.postgres, runnable, args.run_timeout, observed)
    timings["dag runs"] = observed.run_seconds
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    log_entries = SandboxControl(sandbox).requests()
    verdict = Verdict()
    check_runs(verdict, observed, ids, import_errors, ports.postgres)
    check_writes(verdict, log_entries, dags, runnable)
    throttled = check_bulk(verdict, log_entries, ports.postgres, runnable)
    check_webflow_state(verdict, log_entries, sandbox)
    check_deferral(verdict, observed, runnable, ports.postgres)
    check_workers(verdict)
    check_tokens(verdict)
    timings["total"] = time.monotonic() - STARTED
    print_summary(verdict, observed, log_entries, throttled, timings)
    return 0 if verdict.passed else 1


def main() -> int:
    args = parse_args()
    group = ServiceGroup(LOGS)
    timings: dict[str, float] = {}
    code = 1
    with stopped_on_signals():
        try:
            code = execute(args, group, timings)
        except Exception as exc:
            log(f"ERROR: {type(exc).__name__}: {exc}")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish even on a second Ctrl-C
            log("stopping every service")
            leftovers = group.stop_all()
            PIDFILE.unlink(missing_ok=True)
            if leftovers:
                log(f"LEFTOVER processes: {leftovers}")
                code = 1
            else:
                log(f"stopped {len(group.services)} service(s); no process of ours left running")
    log(f"exit {code} after {time.monotonic() - STARTED:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
