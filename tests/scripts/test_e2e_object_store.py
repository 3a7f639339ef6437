"""Unit tests of the e2e harness's object-store half (``scripts/e2e/object_store.py``): the pure
judgements behind its checks, the run's DAG folder, and the e2e-only DAG's wiring to the workers.

The S3 server, the bucket and the DAG run itself are exercised by ``make e2e``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.e2e import object_store, provision, services
from scripts.e2e.layout import Tree
from scripts.e2e.object_store import Version


def jsonl(*entries: dict[str, object]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in entries).encode()


def entry(page: int, status: str = "applied", try_number: int = 1) -> dict[str, object]:
    return {"cms": "hamgam", "page": {"page_id": page}, "changes": {}, "status": status, "try_number": try_number}


def logged(method: str, page: int, status: int, fault: bool = False) -> dict[str, object]:
    row: dict[str, object] = {"method": method, "path": f"/hamgam/api/pages/base/{page}/meta/7/", "status": status}
    if fault:
        row["fault"] = True
    return row


def test_page_writes_splits_the_log_at_the_injected_401() -> None:
    log = [
        logged("GET", 1481, 200),
        logged("PATCH", 1481, 200),
        logged("PATCH", 38, 200),  # another DAG's page
        logged("PATCH", 1482, 500),  # not a landed write
        logged("PATCH", 1483, 401),  # a real 401 is not the injected one
        logged("PATCH", 1491, 401, fault=True),
        logged("PATCH", 1491, 200),
        logged("POST", 1492, 201),
    ]
    assert object_store.page_writes(log, range(1481, 1501)) == ({1481}, 1491)
    assert object_store.page_writes(log[:2], range(1481, 1501)) == ({1481}, None)


def test_last_version_of_try_is_the_newest_holding_only_that_try() -> None:
    found = [
        Version("k", "v1", jsonl(entry(1))),
        Version("k", "v2", jsonl(entry(1), entry(2, "failed"))),
        Version("k", "v3", jsonl(entry(1), entry(2, "failed"), entry(2, try_number=2))),
    ]
    assert object_store.last_version_of_try(found, 1) is found[1]
    assert object_store.last_version_of_try(found, 2) is found[2]
    assert object_store.last_version_of_try(found[2:], 1) is None


def test_expected_changes_are_hamgam_text_values() -> None:
    assert object_store.expected_changes({"meta_title": "Old", "og_image": None}, {"meta_title": "New"}) == {
        "meta.meta_title": {"old": {"text": "Old"}, "new": {"text": "New"}}}


def test_workers_of_reads_celery_workload_lines() -> None:
    line = ("[2026-12-01 16:40:01] {celery_executor_utils.py:290} INFO - [0f3c] Executing workload in Celery: "
            "token='x' ti=TaskInstance(id=UUID('0199'), task_id='{task}', dag_id='{dag}', run_id='manual__1', "
            "try_number={n}, map_index=-1, queue='q') dag_rel_path=PurePosixPath('a.py')\n")

    def text(*rows: tuple[str, str, int]) -> str:
        return "".join(line.replace("{task}", t).replace("{dag}", d).replace("{n}", str(n)) for t, d, n in rows)

    logs = {"w1": text(("apply", "journal_across_workers", 1), ("apply", "journal_across_workers", 2),
                       ("apply", "other_dag", 1)),
            "w2": text(("restore", "journal_across_workers", 1))}
    assert object_store.workers_of(logs, "journal_across_workers") == {
        ("apply", 1): {"w1"}, ("apply", 2): {"w1"}, ("restore", 1): {"w2"}}


def test_token_leaks_name_the_object_version_and_the_token() -> None:
    clean = Version("journal/a.jsonl", "v1", b'{"error": "401: ***"}\n')
    leaky = Version("journal/b.jsonl", "v7", b'{"error": "sent hg-token-123 oops"}\n')
    assert object_store.token_leaks([clean, leaky], {"hamgam": "hg-token-123"}) == ["journal/b.jsonl (v7): hamgam"]


def test_task_key_finds_one_task_journal_of_the_dag() -> None:
    keys = ["journal/journal_across_workers/manual__1/apply.jsonl",
            "journal/journal_across_workers/manual__1/restore.jsonl",
            "journal/content_migration/manual__1/apply.jsonl"]
    assert object_store.task_key(keys, "apply") == keys[0]
    assert object_store.task_key(keys, "publish") is None
    assert object_store.task_key([*keys, "journal/journal_across_workers/manual__2/apply.jsonl"], "apply") is None


def test_describe_lists_each_object_with_versions_and_statuses() -> None:
    found = {"journal/d/r/apply.jsonl": [Version("journal/d/r/apply.jsonl", "v1", jsonl(entry(1))),
                                         Version("journal/d/r/apply.jsonl", "v2",
                                                 jsonl(entry(1), entry(2, "failed"), entry(3)))]}
    [line] = object_store.describe(found)
    assert line.startswith(f"s3://{object_store.BUCKET}/journal/d/r/apply.jsonl ")
    assert line.endswith("2 version(s), 2 applied, 1 failed")


def test_the_journal_dir_names_its_connection_and_the_env_carries_both(tmp_path: Path) -> None:
    server = object_store.S3Server(45678)
    env = server.airflow_env()
    assert env["AIRFLOW__PAGEMETA__JOURNAL_DIR"] == f"s3://{object_store.CONN_ID}@{object_store.BUCKET}/journal"
    conn = json.loads(env[f"AIRFLOW_CONN_{object_store.CONN_ID.upper()}"])
    assert conn["conn_type"] == "aws" and conn["extra"]["endpoint_url"] == "http://127.0.0.1:45678"


def test_the_e2e_dag_pins_apply_and_restore_to_the_two_workers() -> None:
    module = object_store.dag_module()
    dag = module.journal_across_workers()
    assert {t.task_id: t.queue for t in dag.tasks} == {"apply": services.WORKERS[0], "restore": services.WORKERS[1]}
    assert dag.task_dict["apply"].retries == 1
    assert dag.task_dict["restore"].upstream_task_ids == {"apply"}  # through apply.output
    assert object_store.FAULT_PAGE in module.PAGE_IDS
    assert module.PAGE_IDS[0] < object_store.FAULT_PAGE < module.PAGE_IDS[-1]  # pages land before it, some after


def test_dags_folder_links_every_source_entry_but_the_skipped_dags(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    (examples / "data").mkdir(parents=True)
    (examples / "data" / "record.json").write_text("{}")
    (examples / "__pycache__").mkdir()
    for name in ("a.py", "skipped.py"):
        (examples / name).write_text("")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "b.py").write_text("")
    tree = Tree(tmp_path / ".e2e", tmp_path / "pg")
    folder = provision.dags_folder(tree, [examples, extra], skip=("skipped",))
    assert sorted(p.name for p in folder.iterdir()) == ["a.py", "b.py", "data"]
    assert (folder / "data" / "record.json").read_text() == "{}"
    assert (folder / "b.py").resolve() == (extra / "b.py").resolve()
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "a.py").write_text("")
    with pytest.raises(RuntimeError, match=r"a\.py is in two DAG folders"):
        provision.dags_folder(tree, [tmp_path / "again"])


def test_project_pin_reads_constraints_txt() -> None:
    pin = provision.project_pin("python-dateutil")
    assert pin.startswith("python-dateutil==")
    assert pin in provision.CONSTRAINTS.read_text().splitlines()
    with pytest.raises(RuntimeError, match="pins no not-a-package"):
        provision.project_pin("not-a-package")


def test_an_injected_fault_is_not_a_bad_write_but_a_real_401_is() -> None:
    from scripts.e2e import evidence

    log = [logged("PATCH", 1491, 401, fault=True), logged("PATCH", 1483, 401)]
    assert evidence.bad_writes(log, "hamgam") == ["PATCH /hamgam/api/pages/base/1483/meta/7/ -> 401"]
