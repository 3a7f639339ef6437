"""The deployment the e2e run builds: PostgreSQL, Redis, the sandbox, and Airflow's components.

Each ``start_*`` function starts one server (or one family) in the run's ``ServiceGroup`` and returns
once it answers, so ``run.py`` can start them in order. A new service (say an S3 server for the
journal) is a ``Ports`` field, one ``start_*`` function here, its variables in ``airflow_env`` when
Airflow must reach it, and one line in ``run.py``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from scripts.e2e.airflow_api import Airflow, metadata_db
from scripts.e2e.layout import ROOT, Tree, log
from scripts.e2e.procs import ServiceGroup, free_port, run_logged, wait_for

BIN = Path(sys.executable).parent
#: The Celery workers; the checks expect tasks on each of them. Each takes Airflow's default queue
#: and a queue named after itself, so a DAG can pin a task to one worker (``dags/journal_across_workers.py``).
WORKERS = ("e2e-worker-1", "e2e-worker-2")
DEFAULT_QUEUE = "default"  # Airflow's [operators] default_queue


@dataclass
class Ports:
    """Free loopback ports for every server, picked once per run so parallel runs cannot collide."""

    postgres: int = field(default_factory=free_port)
    redis: int = field(default_factory=free_port)
    sandbox: int = field(default_factory=free_port)
    api: int = field(default_factory=free_port)
    worker_logs: int = field(default_factory=free_port)
    trigger_logs: int = field(default_factory=free_port)

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api}"


# ---------------------------------------------------------------------------- backing servers


def start_postgres(group: ServiceGroup, tree: Tree, pg_bin: Path, pg_user: str | None, port: int) -> None:
    """A throw-away cluster (no fsync) with an ``airflow`` database; data and socket in ``tree.pg_scratch``.

    Its commands run with their working directory in that folder too: the checkout may be closed to
    the PostgreSQL account.
    """
    run_logged("initdb", [str(pg_bin / "initdb"), "-D", str(tree.pgdata), "-U", "airflow", "--auth=trust",
                          "-E", "UTF8", "--locale=C", "--no-sync"], tree.logs, cwd=tree.pg_scratch, user=pg_user,
               timeout=120)
    service = group.start("postgres", [
        str(pg_bin / "postgres"), "-D", str(tree.pgdata), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={tree.pgsock}",
        "-c", "max_connections=200", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
    ], env=dict(os.environ), cwd=tree.pg_scratch, user=pg_user, stop_signal=signal.SIGINT)  # SIGINT: fast shutdown
    wait_for("postgres", lambda: metadata_db(port, "postgres") is not None, 60, alive=service.alive)
    conn = metadata_db(port, "postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE airflow")
    conn.close()


def start_redis(group: ServiceGroup, tree: Tree, port: int) -> None:
    service = group.start("redis", [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tree.redis), "--save", "",
        "--appendonly", "no",
    ], env=dict(os.environ), cwd=tree.root)
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
        "--webflow-publish-interval", str(args.webflow_publish_interval),
    ], env=dict(os.environ), cwd=ROOT)
    url = f"http://127.0.0.1:{port}/_sandbox/fixtures"
    wait_for("sandbox", lambda: requests.get(url, timeout=2).ok, 60, alive=service.alive)


# ------------------------------------------------------------------------------------ Airflow


def airflow_env(tree: Tree, ports: Ports, dags: Path, window: float) -> dict[str, str]:
    """One environment for every Airflow component, so they agree on DB, broker, secrets and connections."""
    from airflow_provider_pagemeta.sandbox.control import connection_env

    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    db = f"airflow@127.0.0.1:{ports.postgres}/airflow"
    conns = connection_env(ports.sandbox_url)
    webflow = json.loads(conns["AIRFLOW_CONN_WEBFLOW_DEFAULT"])
    webflow["extra"] = {**webflow.get("extra", {}), "rate_limit_window": window}
    conns["AIRFLOW_CONN_WEBFLOW_DEFAULT"] = json.dumps(webflow)
    return {
        **base,
        **conns,
        "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
        "AIRFLOW_HOME": str(tree.home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",  # SQLAlchemy 2.1 defaults to psycopg 3
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports.api),
        "AIRFLOW__API__BASE_URL": ports.api_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{ports.api_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__FERNET_KEY": "",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.worker_logs),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.trigger_logs),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    }


def start_airflow(group: ServiceGroup, tree: Tree, env: dict[str, str], ports: Ports) -> Airflow:
    """Migrate the DB, then start each component as its own process (group) with its own log.

    Returns once the api-server answers (also an authenticated REST call), both workers are ready and
    the scheduler, triggerer and dag-processor report healthy.
    """
    airflow_bin = str(BIN / "airflow")
    airflow = Airflow(ports.api_url, ports.postgres)
    log("airflow db migrate")
    run_logged("db-migrate", [airflow_bin, "db", "migrate"], tree.logs, cwd=tree.root, env=env, timeout=600)
    component = functools.partial(group.start, env=env, cwd=tree.home, wave="airflow")  # stopped together
    api = component("api-server", [airflow_bin, "api-server", "--host", "127.0.0.1", "--port", str(ports.api),
                                   "--workers", "1"])
    component("scheduler", [airflow_bin, "scheduler"])
    component("dag-processor", [airflow_bin, "dag-processor"])
    component("triggerer", [airflow_bin, "triggerer"])
    host = socket.gethostname()
    workers = [component(name, [airflow_bin, "celery", "worker", "--celery-hostname", f"{name}@{host}",
                                "--queues", f"{DEFAULT_QUEUE},{name}", "--concurrency", "2", "--skip-serve-logs",
                                "--without-mingle", "--without-gossip"])
               for name in WORKERS]
    waited = wait_for("api-server", lambda: bool(airflow.health()), 180, 1.0, alive=api.alive)
    version = airflow.rest("GET", "version").get("version")
    log(f"api-server healthy after {waited:.0f} s (Airflow {version}; authenticated REST calls answered)")
    for worker in workers:
        wait_for(worker.name, functools.partial(_log_says, worker.log_path, " ready."), 180, 1.0, alive=worker.alive)
    log("both Celery workers ready")
    wait_for("scheduler+triggerer+dag-processor healthy", airflow.all_healthy, 180, 1.0)
    return airflow


def _log_says(path: Path, text: str) -> bool:
    return text in path.read_text(errors="replace")
