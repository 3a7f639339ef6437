"""Unit tests of the e2e harness's pure helpers (``scripts/e2e/``).

The full ``make e2e`` takes minutes and needs PostgreSQL and Redis, so it is not part of ``make
test``; these tests make sure the judgements it bases its exit code on (429 counting, write checks,
read-back comparison, token scan, process-group scan) and its housekeeping (PostgreSQL's folder
outside the checkout, the cleanup after a killed run) are right, in milliseconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from scripts.e2e import evidence as checks
from scripts.e2e import provision
from scripts.e2e.procs import ServiceGroup, group_members, kill_recorded_groups


def entry(method: str, path: str, status: int, body: object = None, query: object = None) -> dict[str, object]:
    return {"method": method, "path": path, "status": status, "body": body, "query": query or {}, "headers": {}}


LOG = [
    entry("GET", "/webflow/v2/sites/s1/pages", 200),
    entry("PUT", "/webflow/v2/pages/aaa", 200, {"seo": {"title": "old"}}),
    entry("PUT", "/webflow/v2/pages/aaa", 429, {"seo": {"title": "x"}}),
    entry("PUT", "/webflow/v2/pages/aaa", 200, {"seo": {"title": "new"}}),
    entry("PATCH", "/buildin/v2/pages/p1", 409, {}),
    entry("PATCH", "/buildin/v2/pages/p1", 200, {"properties": {}}),
    entry("POST", "/hamgam/api/pages/base/1/meta/", 400, {"key": "k"}),
]


def test_count_429_counts_only_the_named_cms() -> None:
    assert checks.count_429(LOG, "webflow") == 1
    assert checks.count_429(LOG, "buildin") == 0


def test_requests_per_cms_splits_reads_writes_and_2xx() -> None:
    table = checks.requests_per_cms(LOG)
    assert table["webflow"] == {"requests": 4, "reads": 1, "writes": 3, "writes_2xx": 2, "429": 1}
    assert table["buildin"]["writes_2xx"] == 1


def test_bad_writes_tolerates_429_and_buildin_409_but_not_a_400() -> None:
    assert checks.bad_writes(LOG, "webflow") == []
    assert checks.bad_writes(LOG, "buildin") == []
    assert checks.bad_writes(LOG, "hamgam") == ["POST /hamgam/api/pages/base/1/meta/ -> 400"]


def test_last_successful_writes_keeps_the_last_2xx_body_per_page() -> None:
    latest = checks.last_successful_writes(LOG, "webflow")
    assert latest == {("/webflow/v2/pages/aaa", ""): {"seo": {"title": "new"}}}


def test_subset_mismatches_names_dotted_paths_and_ignores_extra_keys() -> None:
    current = {"seo": {"title": "new", "description": "d"}, "id": "aaa"}
    assert checks.subset_mismatches({"seo": {"title": "new"}}, current) == []
    assert checks.subset_mismatches({"seo": {"title": "other", "x": 1}}, current) == ["seo.title", "seo.x"]
    assert checks.subset_mismatches({"seo": {"title": "t"}}, {"seo": None}) == ["seo"]


def test_cms_used_by_dag_separates_operator_and_hook_imports() -> None:
    source = (
        "from airflow_provider_pagemeta.operators.webflow import WebflowUpdatePageOperator\n"
        "from airflow_provider_pagemeta.hooks.buttercms import ButterCMSHook\n"
        "from airflow_provider_pagemeta.core.paths import segment\n"
    )
    assert checks.cms_used_by_dag(source) == {"webflow": {"operators"}, "buttercms": {"hooks"}}


def test_find_tokens_reports_file_and_token_name(tmp_path: Path) -> None:
    clean = tmp_path / "a.log"
    clean.write_text("Authorization: ***\n")
    leaky = tmp_path / "sub" / "b.log"
    leaky.parent.mkdir()
    leaky.write_text("sent wf-secret-token-123456789012 oops\n")
    files = checks.files_under(tmp_path, tmp_path / "missing")
    assert files == [clean, leaky]
    assert checks.find_tokens(files, {"webflow": "wf-secret-token-123456789012"}) == [f"{leaky}: webflow"]


def test_tasks_received_counts_celery_receipts() -> None:
    text = (
        "[info] Task execute_workload[15b626a2-0272-4770-82b8-af0f638fc529] received [celery.worker.strategy]\n"
        "[info] Task execute_workload[15b626a2-0272-4770-82b8-af0f638fc529] succeeded in 1.2s\n"
        "[info] Task airflow.providers.celery.executors.celery_executor_utils.execute_workload[8fc0-23bc] received\n"
    )
    assert checks.tasks_received(text) == 2


def wait_members(pgid: int, count: int) -> list[int]:
    """Poll (bounded) until the group has ``count`` live members: the child needs a moment to fork."""
    members: list[int] = []
    for _ in range(100):
        members = group_members(pgid)
        if len(members) >= count:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    return members


def test_service_group_stops_a_whole_process_group_including_children(tmp_path: Path) -> None:
    group = ServiceGroup(tmp_path)
    # The backgrounded child is what a leader-only kill would leave behind.
    service = group.start("shell", ["bash", "-c", "sleep 300 & wait"], env={"PATH": "/usr/bin:/bin"})
    assert len(wait_members(service.pgid, 2)) == 2
    assert group.stop_all(grace=5) == []
    assert group_members(service.pgid) == []
    assert service.proc.returncode is not None


def test_service_group_escalates_to_sigkill(tmp_path: Path) -> None:
    group = ServiceGroup(tmp_path)
    service = group.start("stubborn", ["bash", "-c", "trap '' TERM; sleep 300; true"], env={"PATH": "/usr/bin:/bin"},
                          stop_signal=signal.SIGTERM)
    assert len(wait_members(service.pgid, 2)) == 2
    assert group.stop_all(grace=0.5) == []
    assert service.proc.returncode == -signal.SIGKILL


# ------------------------------------------------------------------------------- provisioning


def test_reachable_by_others_needs_every_folder_on_the_way_open(tmp_path: Path) -> None:
    inner = tmp_path / "owner-only" / "inside"
    inner.mkdir(parents=True)
    (tmp_path / "owner-only").chmod(0o700)
    try:
        assert provision.reachable_by_others(Path("/tmp"))
        assert not provision.reachable_by_others(inner)
    finally:
        (tmp_path / "owner-only").chmod(0o755)


def test_fresh_tree_puts_postgres_outside_the_checkout_and_cleans_up_a_killed_run(tmp_path: Path) -> None:
    root = tmp_path / ".e2e"
    first = provision.fresh_tree(root)
    try:
        assert first.root == root and first.logs.is_dir() and first.home.is_dir()
        assert first.pgdata.is_dir() and first.pgsock.is_dir()
        assert root not in first.pg_scratch.parents
        assert provision.reachable_by_others(first.pg_scratch.parent)
        assert provision.is_pg_scratch(first.pg_scratch)
        (first.logs / "stale.log").write_text("from the killed run")
        # A run killed with SIGKILL leaves its tree and its PostgreSQL folder: the next run removes both.
        second = provision.fresh_tree(root)
        try:
            assert not first.pg_scratch.exists()
            assert not (second.logs / "stale.log").exists()
            assert second.scratch_note.read_text() == str(second.pg_scratch)
            provision.remove_tree_scratch(second)
            assert not second.pg_scratch.exists() and not second.scratch_note.exists()
        finally:
            provision.remove_pg_scratch(second.pg_scratch)
    finally:
        provision.remove_pg_scratch(first.pg_scratch)


def test_is_pg_scratch_refuses_paths_it_did_not_make(tmp_path: Path) -> None:
    assert not provision.is_pg_scratch(Path("/"))
    assert not provision.is_pg_scratch(Path("/tmp"))
    assert not provision.is_pg_scratch(tmp_path / "pagemeta-e2e-pg-x" / "deeper")
    assert not provision.is_pg_scratch(Path("/etc/pagemeta-e2e-pg-x"))
    assert provision.is_pg_scratch(Path("/tmp/pagemeta-e2e-pg-abc"))


def test_a_recorded_group_of_a_killed_run_is_stopped(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgids.json"
    group = ServiceGroup(tmp_path, pidfile=pidfile)
    service = group.start("orphan", ["bash", "-c", "sleep 300 & wait"], env={"PATH": "/usr/bin:/bin"})
    try:
        assert len(wait_members(service.pgid, 2)) == 2
        assert json.loads(pidfile.read_text()) == [service.pgid]
        kill_recorded_groups(pidfile)  # what the next run does before wiping the tree
        service.proc.wait(timeout=10)
        assert service.proc.returncode == -signal.SIGKILL
        assert wait_members_gone(service.pgid) == []
        assert not pidfile.exists()
    finally:
        group.stop_all(grace=1)


def wait_members_gone(pgid: int) -> list[int]:
    members = group_members(pgid)
    for _ in range(100):
        if not members:
            break
        subprocess.run(["sleep", "0.05"], check=True)
        members = group_members(pgid)
    return members


def test_checks_are_listed_once_each() -> None:
    from scripts.e2e import checks as verdicts

    names = [c.__name__ for c in verdicts.CHECKS]
    assert len(names) == len(set(names))
    assert all(name.startswith("check_") for name in names)
    assert {n for n in dir(verdicts) if n.startswith("check_")} == set(names)


def test_a_wave_stops_together_and_before_what_was_started_earlier(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    journal.touch()

    def script(name: str, linger: float) -> list[str]:
        return ["bash", "-c", f"trap 'echo {name} term >> {journal}; sleep {linger}; echo {name} done >> {journal};"
                f" exit 0' TERM; sleep 300 & wait"]

    group = ServiceGroup(tmp_path)
    env = {"PATH": "/usr/bin:/bin"}
    first = group.start("db", script("db", 0), env=env)
    members = [group.start(name, script(name, 2), env=env, wave="airflow") for name in ("api", "worker")]
    for service in (first, *members):
        assert len(wait_members(service.pgid, 2)) == 2
    assert [[s.name for s in wave] for wave in group._waves()] == [["worker", "api"], ["db"]]
    assert group.stop_all(grace=20) == []
    lines = journal.read_text().split("\n")[:-1]
    # Both wave members were asked before either finished; the earlier service only after both.
    assert sorted(lines[:2]) == ["api term", "worker term"]
    assert sorted(lines[2:4]) == ["api done", "worker done"]
    assert lines[4:] == ["db term", "db done"]
