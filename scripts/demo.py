"""`make demo`: run every example DAG against a local sandbox and say what each changed.

Prepares a SQLite Airflow home under ``.airflow/``, starts the sandbox as a subprocess on a free
port, points ``AIRFLOW_CONN_*`` at it, runs each DAG in ``dags_examples/`` twice with
``airflow dags test`` (the second run shows that a rerun changes nothing), prints a summary from
the sandbox's request log, and stops the sandbox whatever happens.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

from airflow_provider_pagemeta.sandbox.control import SandboxControl, connection_env
from airflow_provider_pagemeta.sandbox.server import free_port

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags_examples"
HOME = ROOT / ".airflow"
BIN = Path(sys.executable).parent
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def airflow_env(sandbox_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        **connection_env(sandbox_url),
    }


#: The demo's Webflow limit: an Enterprise-like 6,000 requests per minute, so the 240-page SEO
#: refresh takes seconds. The pacing is the same as against a 60/min Basic plan, only faster.
DEMO_WEBFLOW_RATE_LIMIT = 6000


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    log = open(HOME / "sandbox.log", "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_pagemeta.sandbox", "--port", str(port),
         "--webflow-rate-limit", str(DEMO_WEBFLOW_RATE_LIMIT)],
        stdout=log, stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the sandbox exited early; see {HOME / 'sandbox.log'}")
        try:
            if requests.get(url + "/", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the sandbox did not answer on {url} within {timeout} s")


def describe(log: list[dict]) -> str:
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


def main() -> int:
    HOME.mkdir(exist_ok=True)
    dag_ids = sorted(p.stem for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = airflow_env(url)
    print(f"Airflow home: {HOME}  (SQLite)")
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    proc = start_sandbox(port)
    results: list[tuple[str, str, bool, float, str]] = []
    try:
        wait_ready(url, proc)
        control = SandboxControl(url)
        print(f"Sandbox: {url}  (controls: {url}/_sandbox/requests)")
        if not dag_ids:
            print("No example DAGs in dags_examples/ yet.")
        for dag_id in dag_ids:
            for attempt in ("first run", "rerun"):
                since = len(control.requests())
                started = time.monotonic()
                done = subprocess.run(
                    [str(BIN / "airflow"), "dags", "test", dag_id], env=env, capture_output=True, text=True
                )
                elapsed = time.monotonic() - started
                ok = done.returncode == 0
                log_file = HOME / f"demo-{dag_id}-{attempt.replace(' ', '-')}.log"
                log_file.write_text(done.stdout + done.stderr)
                results.append((dag_id, attempt, ok, elapsed, describe(control.requests(since=since))))
                status = "ok" if ok else f"FAILED (see {log_file.relative_to(ROOT)})"
                print(f"  {dag_id:<28} {attempt:<9} {status} in {elapsed:.1f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("\nWhat each run changed (from the sandbox's request log):")
    for dag_id, attempt, ok, _elapsed, summary in results:
        print(f"  {dag_id} ({attempt}, {'ok' if ok else 'FAILED'}): {summary}")
    failed = [f"{d} ({a})" for d, a, ok, _, _ in results if not ok]
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
        return 1
    print(f"\nAll {len(results)} runs succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
