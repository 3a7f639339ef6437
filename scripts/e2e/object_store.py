"""The change journal on a real object store: an S3 API on loopback, and the checks of what it holds.

In ``make e2e`` both Celery workers share one disk, so a local journal proves nothing about workers
on different machines. This module starts an S3-compatible server (moto in server mode, from PyPI)
on a free loopback port, makes a versioned bucket, and points every Airflow component's
``[pagemeta] journal_dir`` at ``s3://<conn>@<bucket>/journal``, the connection ``CONN_ID`` being an
``aws`` connection whose ``endpoint_url`` is that server: the way a deployment points the journal at
S3 (or, with another connection type, at GCS or Azure).

The DAG ``journal_across_workers`` (``dags/``, linked into the run's DAG folder) applies a bulk change
on one worker and restores it on the other. Before it runs, ``prepare`` reads the pages it changes
(the values a restore must bring back) and makes one write in the middle answer 401, so the first
try of ``apply`` fails part-way. Afterwards the ``check_*`` functions judge from outside Airflow,
with boto3 against the server and HTTP against the sandbox: the journal objects and their lines,
what the failed try uploaded (the bucket keeps every version), the pages read back, which worker ran
which task, and that no token is in any object. The pure parts are unit-tested
(``tests/scripts/test_e2e_object_store.py``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.e2e.layout import Tree
from scripts.e2e.procs import ServiceGroup, free_port, wait_for
from scripts.e2e.services import WORKERS

if TYPE_CHECKING:
    from scripts.e2e.checks import Context, Verdict

BUCKET = "pagemeta-e2e-journal"
PREFIX = "journal"
#: The Airflow connection the journal URI names (``s3://<conn>@<bucket>``): without one in the URI,
#: ``ObjectStoragePath`` uses no Airflow connection at all, only boto3's own environment.
CONN_ID = "pagemeta_journal_s3"
JOURNAL_DIR = f"s3://{CONN_ID}@{BUCKET}/{PREFIX}"
#: moto accepts any credentials; these are what the connection and the checks sign with.
ACCESS_KEY, SECRET_KEY, REGION = "e2e-access-key", "e2e-secret-key", "us-east-1"
#: Extra DAGs of the run (linked into its DAG folder next to ``dags_examples/``).
DAGS = Path(__file__).resolve().parent / "dags"
DAG_ID = "journal_across_workers"
#: ``apply`` runs on the first worker's queue, ``restore`` on the second's (see the DAG).
APPLY_WORKER, RESTORE_WORKER = WORKERS
#: The page of ``apply`` whose first write answers 401 (the middle of ``PAGE_IDS``).
FAULT_PAGE = 1491
#: Where ``prepare`` leaves what the checks need (the server's port, the pages as they were).
STATE_FILE = "object-store.json"
_HAMGAM_WRITE = re.compile(r"^/hamgam/api/pages/base/(\d+)/meta/")
_WORKLOAD = re.compile(r"Executing workload in Celery: (.*)$", re.MULTILINE)


def dag_module() -> Any:
    """The DAG file's module (its page ids and values), loaded from its path as Airflow does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"e2e_{DAG_ID}", DAGS / f"{DAG_ID}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class S3Server:
    """The S3 API on ``127.0.0.1:port``, as the checks and Airflow's connection reach it."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def connection(self) -> dict[str, Any]:
        """The ``aws`` connection ``CONN_ID``: key and secret as login and password, the server in the extra."""
        return {"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY,
                "extra": {"endpoint_url": self.url, "region_name": REGION}}

    def airflow_env(self) -> dict[str, str]:
        """What every Airflow component needs to write and read the journal in the bucket."""
        return {f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(self.connection()),
                "AIRFLOW__PAGEMETA__JOURNAL_DIR": JOURNAL_DIR}


def start(group: ServiceGroup, tree: Tree) -> S3Server:
    """moto's S3 in server mode, and a bucket that keeps every version of an object."""
    server = S3Server(free_port())
    service = group.start("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(server.port)],
                          env=dict(os.environ), cwd=tree.root)
    client = server.client()
    wait_for("s3 (moto)", lambda: client.list_buckets() is not None, 60, alive=service.alive)
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    _save(tree, {"port": server.port})
    return server


def prepare(tree: Tree, sandbox_url: str) -> None:
    """Before the DAGs run: read the pages ``apply`` will change, and make its first write to
    ``FAULT_PAGE`` answer 401 (an injected fault, which the write checks do not count against the run)."""
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    pages = {str(page_id): read_page(sandbox_url, page_id) for page_id in dag_module().PAGE_IDS}
    SandboxControl(sandbox_url).fault(method="PATCH", path=f"/hamgam/api/pages/base/{FAULT_PAGE}/meta/*",
                                      status=401, body={"detail": "Invalid token."}, count=1)
    _save(tree, {**_load(tree), "before": pages})


def read_page(sandbox_url: str, page_id: int) -> dict[str, str | None]:
    """A Hamgam page's text meta through the API, as anyone with the token reads it."""
    import requests

    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    answer = requests.get(f"{sandbox_url}/hamgam/api/pages/base/{page_id}/meta/", params={"limit": 100},
                          headers={"Authorization": f"Token {SANDBOX_TOKENS['hamgam']}"}, timeout=10)
    answer.raise_for_status()
    return {row["key"]: row["value_text"] for row in answer.json()["results"]}


def _save(tree: Tree, state: Mapping[str, Any]) -> None:
    (tree.root / STATE_FILE).write_text(json.dumps(state, indent=1))


def _load(tree: Tree) -> dict[str, Any]:
    path = tree.root / STATE_FILE
    return dict(json.loads(path.read_text())) if path.exists() else {}


# ------------------------------------------------------------------- reading the bucket


@dataclass(frozen=True)
class Version:
    """One stored version of an object, oldest first within its key."""

    key: str
    version_id: str
    data: bytes


def versions(server: S3Server) -> dict[str, list[Version]]:
    """Every version of every object under ``PREFIX``, by key, oldest first (S3 lists a key's
    versions newest first; ``LastModified`` has only a second's resolution to sort by)."""
    client = server.client()
    found: dict[str, list[Version]] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/"):
        for meta in page.get("Versions", []):
            body = client.get_object(Bucket=BUCKET, Key=meta["Key"], VersionId=meta["VersionId"])["Body"].read()
            found.setdefault(meta["Key"], []).insert(0, Version(meta["Key"], meta["VersionId"], body))
    return dict(sorted(found.items()))


def lines(data: bytes) -> list[dict[str, Any]]:
    """A journal object's entries (JSON Lines)."""
    return [json.loads(raw) for raw in data.decode("utf-8").splitlines() if raw.strip()]


def task_key(keys: Iterable[str], task_id: str) -> str | None:
    """The key of ``DAG_ID``'s journal of one task (``journal/<dag>/<run>/<task>.jsonl``)."""
    wanted = [k for k in keys if k.startswith(f"{PREFIX}/{DAG_ID}/") and k.endswith(f"/{task_id}.jsonl")]
    return wanted[0] if len(wanted) == 1 else None


# ------------------------------------------------------------------------- pure judgements


def expected_changes(before: Mapping[str, str | None], after: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """A Hamgam journal's ``changes`` for text keys going from ``before`` to ``after``."""
    return {f"meta.{key}": {"old": {"text": before[key]}, "new": {"text": value}} for key, value in after.items()}


def page_writes(log: Sequence[Mapping[str, Any]], pages: Iterable[int]) -> tuple[set[int], int | None]:
    """Pages of ``pages`` with a 2xx write before the first injected 401, and that 401's page
    (from the sandbox's request log, in order)."""
    wanted = set(pages)
    landed: set[int] = set()
    for entry in log:
        found = _HAMGAM_WRITE.match(str(entry["path"]))
        if not found or entry["method"] in ("GET", "HEAD") or int(found.group(1)) not in wanted:
            continue
        page, status = int(found.group(1)), int(entry["status"])
        if status == 401 and entry.get("fault"):
            return landed, page
        if 200 <= status < 300:
            landed.add(page)
    return landed, None


def last_version_of_try(found: Sequence[Version], try_number: int) -> Version | None:
    """The newest version whose lines all come from tries up to ``try_number``: what that try left."""
    chosen = None
    for version in found:
        if all(entry.get("try_number", 0) <= try_number for entry in lines(version.data)):
            chosen = version
    return chosen


def workers_of(worker_logs: Mapping[str, str], dag_id: str) -> dict[tuple[str, int], set[str]]:
    """``(task_id, try_number) -> workers`` that executed it, from each Celery worker's log
    (Airflow's ``Executing workload in Celery: <workload>`` line names the task instance)."""
    ran: dict[tuple[str, int], set[str]] = {}
    for worker, text in worker_logs.items():
        for workload in _WORKLOAD.findall(text):
            if f"dag_id='{dag_id}'" not in workload:
                continue
            task = re.search(r"task_id='([^']+)'", workload)
            attempt = re.search(r"try_number=(\d+)", workload)
            if task and attempt:
                ran.setdefault((task.group(1), int(attempt.group(1))), set()).add(worker)
    return ran


def token_leaks(objects: Iterable[Version], tokens: Mapping[str, str]) -> list[str]:
    """``key (version): token name`` for every stored version holding a token verbatim."""
    return [f"{v.key} ({v.version_id}): {name}" for v in objects for name, token in tokens.items()
            if token.encode() in v.data]


def describe(found: Mapping[str, Sequence[Version]]) -> list[str]:
    """One summary line per object: its URI, size, versions and lines by status."""
    described = []
    for key, stored in found.items():
        latest = stored[-1]
        statuses: dict[str, int] = {}
        for entry in lines(latest.data):
            statuses[str(entry.get("status"))] = statuses.get(str(entry.get("status")), 0) + 1
        counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "empty"
        described.append(f"s3://{BUCKET}/{key}  {len(latest.data)} B, {len(stored)} version(s), {counts}")
    return described


# ------------------------------------------------------------------------------ the checks


def _server(ctx: Context) -> S3Server | None:
    port = _load(ctx.tree).get("port")
    return S3Server(int(port)) if port else None


def _stored(ctx: Context) -> dict[str, list[Version]]:
    """The bucket's objects, read once: the runs are over, nothing writes to it any more."""
    server = _server(ctx)
    return _versions_at(server.port) if server is not None else {}


@functools.cache
def _versions_at(port: int) -> dict[str, list[Version]]:
    return versions(S3Server(port))


def check_s3_objects(verdict: Verdict, ctx: Context) -> None:
    """The bucket holds the journals: ``DAG_ID``'s apply and restore, and every line of every
    object is a journal entry the provider's reader accepts."""
    from airflow_provider_pagemeta.journal.reader import check_entry

    stored = _stored(ctx)
    bad = []
    total = 0
    for key, found in stored.items():
        for number, entry in enumerate(lines(found[-1].data), start=1):
            total += 1
            try:
                check_entry(entry, f"{key} line {number}")
            except Exception as exc:
                bad.append(str(exc))
    mine = [task_key(stored, task) for task in ("apply", "restore")]
    dags = sorted({key.split("/")[1] for key in stored})
    verdict.add("s3 journal: objects in the bucket", all(mine) and not bad and bool(stored),
                f"{len(stored)} object(s), {total} line(s), from DAGs {dags}; {DAG_ID}: {mine}"
                + (f"; malformed: {bad[:3]}" if bad else ""))


def check_s3_apply_lines(verdict: Verdict, ctx: Context) -> None:
    """``apply``'s journal as it ends: every page applied once with its exact old and new values,
    the first try's 401 as one ``failed`` line, the retry's lines marked with its try."""
    stored = _stored(ctx)
    key = task_key(stored, "apply")
    before = _load(ctx.tree).get("before", {})
    name = "s3 journal: apply lines (status, page, old/new)"
    if key is None or not before:
        verdict.add(name, False, f"no apply journal ({key}) or no snapshot of the pages")
        return
    module = dag_module()
    entries = lines(stored[key][-1].data)
    problems = []
    applied: dict[int, int] = {}
    for entry in entries:
        page = int(entry["page"]["page_id"])
        if entry["status"] == "applied":
            applied[page] = applied.get(page, 0) + 1
            if entry["changes"] != expected_changes(before[str(page)], module.new_meta(page)):
                problems.append(f"page {page}: changes {entry['changes']}")
        elif entry["status"] != "failed" or page != FAULT_PAGE or entry.get("try_number") != 1:
            problems.append(f"unexpected {entry['status']} line for page {page} (try {entry.get('try_number')})")
    if sorted(applied) != list(module.PAGE_IDS) or any(n != 1 for n in applied.values()):
        problems.append(f"applied pages {sorted(applied)} (counts {set(applied.values())})")
    tries = sorted({int(entry.get("try_number", 0)) for entry in entries})
    failed = [(e["page"]["page_id"], (e.get("error") or "")[:160]) for e in entries if e["status"] == "failed"]
    verdict.add(name, not problems and len(failed) == 1 and tries == [1, 2],
                f"{key}: {len(entries)} line(s), {len(applied)} page(s) applied, failed: {failed}, tries {tries}"
                + (f"; problems: {problems[:3]}" if problems else ""))


def check_s3_failed_try(verdict: Verdict, ctx: Context) -> None:
    """The first try failed part-way and still uploaded its journal: the version it left lists
    exactly the pages whose writes the sandbox answered before the 401, and that page as failed.
    The retry (its result in XCom) wrote only the rest: the pages that landed read as unchanged."""
    stored = _stored(ctx)
    key = task_key(stored, "apply")
    name = "s3 journal: the failed try uploaded what landed"
    if key is None:
        verdict.add(name, False, "no apply journal")
        return
    first = last_version_of_try(stored[key], 1)
    landed, fault_page = page_writes(ctx.log_entries, dag_module().PAGE_IDS)
    if first is None:
        verdict.add(name, False, f"no version of {key} holds only the first try's lines")
        return
    entries = lines(first.data)
    journaled = {int(e["page"]["page_id"]) for e in entries if e["status"] == "applied"}
    failed = [int(e["page"]["page_id"]) for e in entries if e["status"] == "failed"]
    retry = [v for v in ctx.airflow.return_values(DAG_ID) if isinstance(v, dict) and "restored" not in v]
    result = retry[0] if len(retry) == 1 else {}
    total = len(dag_module().PAGE_IDS)
    passed = (fault_page == FAULT_PAGE and bool(landed) and journaled == landed and failed == [FAULT_PAGE]
              and len(stored[key]) > 1 and result.get("unchanged") == len(landed)
              and result.get("updated") == total - len(landed))
    agree = "the same pages" if journaled == landed else f"journal {sorted(journaled)} vs sandbox {sorted(landed)}"
    verdict.add(name, passed,
                f"version {first.version_id} (of {len(stored[key])}): {len(journaled)} applied + failed {failed}; "
                f"sandbox: 2xx writes to {len(landed)} page(s) before the 401 on page {fault_page} ({agree}); "
                f"the retry: updated={result.get('updated')} unchanged={result.get('unchanged')} of {total}")


def check_s3_restore(verdict: Verdict, ctx: Context) -> None:
    """Every old value is back (each page read through the sandbox's API), the restore's own
    journal in the bucket says so, and its result counts every page restored, no conflict."""
    state = _load(ctx.tree)
    before = state.get("before", {})
    module = dag_module()
    now = {str(page): read_page(ctx.sandbox_url, page) for page in module.PAGE_IDS}
    differing = [page for page, meta in now.items() if meta != before.get(page)]
    stored = _stored(ctx)
    key = task_key(stored, "restore")
    entries = lines(stored[key][-1].data) if key else []
    wrong = []
    for entry in entries:
        page = int(entry["page"]["page_id"])
        written = module.new_meta(page)
        restored = {name: before.get(str(page), {}).get(name) for name in written}
        if entry["status"] != "applied" or entry["changes"] != expected_changes(written, restored):
            wrong.append(page)
    summaries = [v for v in ctx.airflow.return_values(DAG_ID) if isinstance(v, dict) and "restored" in v]
    result = summaries[0] if len(summaries) == 1 else {}
    passed = (bool(before) and not differing and len(entries) == len(module.PAGE_IDS) and not wrong
              and result.get("restored") == len(module.PAGE_IDS) and result.get("conflicts") == 0)
    verdict.add("s3 journal: restore put back every old value", passed,
                f"{len(now) - len(differing)}/{len(now)} page(s) read back as before the run"
                f"{f' (differing: {differing[:5]})' if differing else ''}; {key}: {len(entries)} line(s)"
                f"{f', wrong: {wrong[:5]}' if wrong else ''}; result: restored={result.get('restored')} "
                f"conflicts={result.get('conflicts')} not_restorable={result.get('not_restorable')}")


def check_s3_workers(verdict: Verdict, ctx: Context) -> None:
    """``apply`` (both tries) ran on one worker and ``restore`` on the other, from their logs."""
    logs = {name: (ctx.tree.logs / f"{name}.log").read_text(errors="replace") for name in WORKERS}
    ran = workers_of(logs, DAG_ID)
    apply_on = set().union(*(w for (task, _), w in ran.items() if task == "apply"))
    restore_on = set().union(*(w for (task, _), w in ran.items() if task == "restore"))
    tries = sorted(attempt for task, attempt in ran if task == "apply")
    verdict.add("s3 journal: apply and restore on different workers",
                apply_on == {APPLY_WORKER} and restore_on == {RESTORE_WORKER} and tries == [1, 2],
                f"apply tries {tries} on {sorted(apply_on) or 'none'}, restore on {sorted(restore_on) or 'none'}")


def check_s3_tokens(verdict: Verdict, ctx: Context) -> None:
    """No sandbox token in any version of any object in the bucket."""
    from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

    every = [v for found in _stored(ctx).values() for v in found]
    leaks = token_leaks(every, SANDBOX_TOKENS)
    verdict.add("s3 journal: no token in any object", bool(every) and not leaks,
                f"{len(every)} object version(s) scanned" + (f"; leaks: {leaks}" if leaks else ""))


def summary_lines(ctx: Context) -> list[str]:
    """The objects in the bucket, for the run's summary."""
    try:
        return describe(_stored(ctx))
    except Exception as exc:  # the summary must print even when the server is gone
        return [f"(cannot list s3://{BUCKET}: {type(exc).__name__}: {exc})"]
