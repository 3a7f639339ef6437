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
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from scripts.e2e import evidence as checks
from scripts.e2e import feature_evidence as fe
from scripts.e2e import provision
from scripts.e2e.airflow_api import Airflow, Observed
from scripts.e2e.hitl import Approval, Responder
from scripts.e2e.procs import ServiceGroup, group_members, kill_recorded_groups
from tests.hostile import serve


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


# ------------------------------------------- going live, the reviewed refresh, the Buildin query refresh

ORBIT = "fdd818cce66350fd1bd9cac3"
LARGE = "8a9643b5ea31a93596dd66de"
ABOUT, PRICING, CAREERS = "1a899e75168b8b70a16df7fa", "99d3d7a60dc4cf435f8e31c6", "aaf689f3bd64b47b4e1085f9"


def publish(site: str, status: int) -> dict[str, object]:
    return entry("POST", f"/webflow/v2/sites/{site}/publish", status, {"publishToWebflowSubdomain": True})


def put(page: str, body: dict[str, object], status: int = 200, locale: str = "") -> dict[str, object]:
    return entry("PUT", f"/webflow/v2/pages/{page}", status, body, {"localeId": locale} if locale else None)


GO_LIVE = [
    put(ABOUT, {"seo": {"title": "a1"}}),
    put(PRICING, {"seo": {"title": "p1"}}, 429),
    put(PRICING, {"seo": {"title": "p1"}}),
    publish(ORBIT, 202),
    publish(ORBIT, 429),
    put(ABOUT, {"seo": {"title": "a2"}, "slug": "ignored"}),
    publish(ORBIT, 202),
    put(CAREERS, {"title": "staged only"}),
    publish(LARGE, 400),
]


def test_webflow_429s_count_publishes_apart_from_the_rate_limit() -> None:
    assert fe.webflow_429s(GO_LIVE) == (1, 1)
    assert fe.publish_site(GO_LIVE[3]) == ORBIT and fe.publish_site(GO_LIVE[0]) is None
    assert fe.publish_site(entry("GET", f"/webflow/v2/sites/{ORBIT}/publish", 200)) is None


def test_each_webflow_429_is_described_with_the_requests_in_the_window_before_it() -> None:
    log = [{**e, "received_at": 1000.0 + i} for i, e in enumerate(GO_LIVE)]
    assert fe.webflow_429_context(log, window=2) == [
        f"PUT /webflow/v2/pages/{PRICING} at +1.0 s (#1; 1 webflow request(s) in the 2 s before)",
        f"POST /webflow/v2/sites/{ORBIT}/publish at +4.0 s (#4; 1 webflow request(s) in the 2 s before)",
    ]


def test_a_publish_429_before_any_publish_of_its_site_is_not_the_publish_limits() -> None:
    assert fe.publish_429s_without_a_publish_before(GO_LIVE) == 0
    assert fe.publish_429s_without_a_publish_before([publish(LARGE, 429), publish(LARGE, 202), publish(ORBIT, 429),
                                                     publish(LARGE, 429)]) == 2


def test_publishes_per_site_splits_2xx_429_and_other() -> None:
    table = fe.publishes_per_site(GO_LIVE)
    assert table == {ORBIT: {"2xx": 2, "429": 1}, LARGE: {"other": 1}}


def test_live_expectations_keep_the_last_write_of_each_page_published_after_it() -> None:
    published, staged = fe.live_expectations(GO_LIVE, {ABOUT: ORBIT, PRICING: ORBIT, CAREERS: ORBIT})
    # About's last write came before the second publish; its slug is not a live field.
    assert published == {(ABOUT, ""): {"seo": {"title": "a2"}}, (PRICING, ""): {"seo": {"title": "p1"}}}
    assert staged == [CAREERS]  # written after the last publish: visitors still see the old title
    # A page whose site is unknown, or whose site was never published after it, is staged only.
    assert fe.live_expectations(GO_LIVE, {PRICING: LARGE})[1] == [ABOUT, PRICING, CAREERS]


def test_page_writes_keep_locales_apart() -> None:
    log = [put(ABOUT, {"seo": {"title": "en"}}), put(ABOUT, {"seo": {"title": "fr"}}, locale="loc1")]
    assert fe.page_writes(log) == {(ABOUT, ""): (0, {"seo": {"title": "en"}}),
                                   (ABOUT, "loc1"): (1, {"seo": {"title": "fr"}})}


#: Task log lines as Airflow 3 writes them (JSON lines), from an e2e run.
PUBLISH_TASK_LOG = "\n".join(json.dumps(line) for line in [
    {"timestamp": "2026-12-01T16:33:00.100000Z", "level": "warning", "event":
     f"webflow: retrying in 12.0 s (attempt 1 of 6 failed): webflow publish_site (POST /webflow/v2/sites/{ORBIT}"
     "/publish) -> HTTP 429 [too_many_requests]: Too Many Requests"},
    {"timestamp": "2026-12-01T16:33:00.200000Z", "level": "warning", "event":
     f"webflow: retrying in 1.0 s (attempt 1 of 6 failed): webflow list_pages (GET /webflow/v2/sites/{ORBIT}"
     "/pages) -> HTTP 429 [too_many_requests]: Too Many Requests"},
    {"timestamp": "2026-12-01T16:33:12.500000Z", "level": "info", "event":
     f"Webflow published site {ORBIT} (scope site) to www.orbit-outfitters.com; lastPublished 2026-12-01T16:33:12Z"},
])


def test_publish_task_logs_give_the_waits_after_a_429_and_the_sites_published() -> None:
    assert fe.publish_retry_waits(PUBLISH_TASK_LOG) == [(ORBIT, 12.0)]  # the list_pages retry is not a publish
    [(site, when)] = fe.published_sites(PUBLISH_TASK_LOG)
    assert site == ORBIT and when is not None and when.second == 12
    assert fe.published_sites(f"Webflow published page {ABOUT} of site {LARGE} (scope page)") == [(LARGE, None)]


def test_closest_gap_between_publishes() -> None:
    from datetime import datetime, timedelta

    t0 = datetime(2026, 1, 1)
    assert fe.closest_gap([t0, None, t0 + timedelta(seconds=90), t0 + timedelta(seconds=61)]) == 29.0
    assert fe.closest_gap([t0, None]) is None


def test_waits_honoured_flags_bursts_and_ignored_retry_after() -> None:
    assert fe.waits_honoured([1.0, 30.0, 59.2, 60.0], 60) == []
    assert fe.waits_honoured([0.6, 61.0], 60) == [0.6, 61.0]  # a backoff burst; a fixed minute past the header


def test_changed_sums_updated_pages_of_applied_bulk_summaries_only() -> None:
    summaries = [{"total": 4, "updated": 4, "failed": 0, "dry_run": True},  # the plan: nothing written
                 {"total": 4, "updated": 3, "failed": 0}, {"total": 2, "updated": 0, "failed": 0},
                 None, "x", {"updated": 9}]  # not summaries
    assert fe.changed(summaries) == 3


PLAN = [
    {"page": {"page_id": ABOUT, "locale_id": None}, "status": "planned",
     "changes": {"seo.title": {"old": "About", "new": "About us"}, "seo.description": {"new": "Who"}}},
    {"page": {"page_id": PRICING, "locale_id": None}, "status": "planned",
     "changes": {"seo.title": {"old": "Pricing", "new": "Plans"}}},
]


def test_planned_values_and_nest_turn_journal_fields_into_a_write_body() -> None:
    planned = fe.planned_values(PLAN)
    assert planned == {ABOUT: {"seo.title": "About us", "seo.description": "Who"}, PRICING: {"seo.title": "Plans"}}
    assert fe.nest(planned[ABOUT]) == {"seo": {"title": "About us", "description": "Who"}}


def test_writes_carrying_find_the_plans_writes_and_whether_each_holds_all_of_it() -> None:
    log = [
        put(ABOUT, {"seo": {"title": "About | another DAG"}}),  # not the plan's values
        entry("GET", f"/webflow/v2/pages/{ABOUT}", 200, None),
        put(ABOUT, {"seo": {"title": "About us", "description": "Who"}}),
        put(PRICING, {"seo": {"title": "Plans", "description": "extra is fine"}}),
        put(CAREERS, {"seo": {"title": "Plans"}}),  # not a planned page
        put(ABOUT, {"seo": {"title": "About us"}}),  # only part of the plan
    ]
    assert fe.writes_carrying(log, fe.planned_values(PLAN)) == [(2, ABOUT, True), (3, PRICING, True),
                                                                 (5, ABOUT, False)]


DATABASE = "66666666-6666-4666-8666-666666666666"
P1, P2, P3 = (f"7777777{i}-0000-4000-8000-000000000000" for i in range(1, 4))


def patch(page: str, status: int, if_match: bool = True, body: object = None) -> dict[str, object]:
    row = entry("PATCH", f"/buildin/v2/pages/{page}", status, body if body is not None else {"properties": {}})
    row["headers"] = {"if-match": '"1"'} if if_match else {}
    return row


def test_buildin_query_is_a_read_and_page_traffic_counts_reads_writes_and_if_match() -> None:
    query = entry("POST", f"/buildin/v2/databases/{DATABASE}/query", 200, {"page_size": 100})
    assert not checks.is_write(query) and checks.is_write(patch(P1, 200))
    log = [query, entry("GET", f"/buildin/v2/pages/{P1}", 200), patch(P1, 409), entry("GET", f"/buildin/v2/pages/{P1}",
           200), patch(P1, 200), entry("GET", f"/buildin/v2/pages/{P2}", 200), patch(P2, 200, if_match=False),
           patch(P3, 500), entry("GET", "/buildin/v2/pages/11111111-1111-4111-8111-111111111111", 200)]
    traffic = fe.buildin_page_traffic(log, [P1, P2, P3])
    assert traffic == {P1: {"reads": 2, "writes_409": 1, "writes_2xx": 1},
                       P2: {"reads": 1, "writes_2xx": 1, "writes_without_if_match": 1},
                       P3: {"writes_other": 1}}
    assert fe.buildin_queries(log, DATABASE) == [query] and fe.buildin_queries(log, "other") == []
    assert fe.buildin_written_bodies(log, [P1, P3]) == [{"properties": {}}]


def test_request_floor_of_a_query_picked_buildin_refresh() -> None:
    assert fe.request_floor(167, 0) == 2 + 2 * 167
    assert fe.request_floor(100, 1) == 1 + 200 + 2
    assert fe.request_floor(0, 0) == 1  # the query that found nothing


# ------------------------------------------------------------------------ the HITL responder


RUN = "manual__2026-12-01T16:31:34.256243+00:00"


class HitlApi:
    """The api-server's HITL endpoints as the responder uses them, over a real socket; it can fail a
    listing once, and lose the reply to an answer it took."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, object]] = []
        self.fail_next_listing = False
        self.lose_next_reply = False

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self
        detail_path = f"/api/v2/dags/reviewed/dagRuns/{RUN}/taskInstances/review/-1/hitlDetails"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _send(self, body: object, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/auth/token":
                    self._send({"access_token": "t0ken"})
                elif self.headers["Authorization"] != "Bearer t0ken":
                    self._send({"detail": "unauthorized"}, 401)
                elif self.path == detail_path:
                    self._send({"response_received": bool(api.patches), "chosen_options": ["Approve"]})
                elif self.path == "/api/v2/dags/reviewed/dagRuns/~/hitlDetails?response_received=false":
                    if api.fail_next_listing:
                        api.fail_next_listing = False
                        self._send({"detail": "busy"}, 503)
                        return
                    pending = [] if api.patches else [
                        {"subject": "Apply?", "body": "**Change journal:** 4 page(s)",
                         "task_instance": {"dag_id": "reviewed", "dag_run_id": RUN, "task_id": "review",
                                           "map_index": -1, "state": "awaiting_input"}}]
                    self._send({"hitl_details": pending, "total_entries": len(pending)})
                else:
                    self._send({"detail": self.path}, 404)

            def do_PATCH(self) -> None:
                length = int(self.headers["Content-Length"])
                api.patches.append((self.path, json.loads(self.rfile.read(length))))
                if api.lose_next_reply:
                    api.lose_next_reply = False
                    self._send({"detail": "the proxy lost it"}, 502)
                    return
                self._send({"chosen_options": ["Approve"], "responded_by_user": {"name": "admin"}})

        return Handler


def responder_for(url: str, approval: Approval, states: dict[str, str]) -> Responder:
    log_length = iter(range(100, 200))
    return Responder(Airflow(url, 0), [approval], lambda: next(log_length),
                     lambda dag_id, run_id, task_id: states.get(task_id), note=lambda _m: None)


def test_responder_answers_once_the_task_waits_and_the_other_dag_has_ended() -> None:
    api = HitlApi()
    with serve(api.handler()) as url:
        approval = Approval("reviewed", "review", "Approve", after=("other",))
        states = {"review": "running"}
        responder = responder_for(url, approval, states)
        observed = Observed(runs={"reviewed": (RUN, "running"), "other": ("o", "running")})
        responder(observed)  # the task still runs: not yet waiting
        assert approval.pending_at is None and api.patches == []
        states["review"] = "awaiting_input"
        responder(observed)  # waiting, but the other DAG still writes the same pages
        assert approval.pending_at is not None and api.patches == [] and not approval.answered
        observed.runs["other"] = ("o", "success")
        api.fail_next_listing = True
        responder(observed)  # the api-server is busy: noted, tried again at the next poll
        assert approval.errors and "503" in approval.errors[0] and not approval.answered
        responder(observed)
        responder(observed)  # answered already: nothing more is sent
    assert api.patches == [(f"/api/v2/dags/reviewed/dagRuns/{RUN}/taskInstances/review/-1/hitlDetails",
                            {"chosen_options": ["Approve"]})]
    assert approval.answered and approval.run_id == RUN and approval.log_index == 100
    assert approval.detail["subject"] == "Apply?" and len(approval.errors) == 1


def test_responder_does_not_answer_twice_when_the_reply_to_its_answer_was_lost() -> None:
    api = HitlApi()
    api.lose_next_reply = True
    with serve(api.handler()) as url:
        approval = Approval("reviewed", "review")
        responder = responder_for(url, approval, {"review": "awaiting_input"})
        observed = Observed(runs={"reviewed": (RUN, "running")})
        responder(observed)  # the answer lands, its reply does not
        assert len(api.patches) == 1 and not approval.answered and "502" in approval.errors[0]
        responder(observed)  # reads the detail: answered already, so nothing is sent again
    assert len(api.patches) == 1 and approval.answer == {"chosen_options": ["Approve"]}
    assert approval.log_index == 100  # the position before the first (and only) answer
