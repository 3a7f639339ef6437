"""Unit tests of the ``make demo`` runner's own parts (``scripts/demo.py``).

``make demo`` itself is the integration run (every example DAG twice through ``dag.test()``); these
tests hold the parts its verdict and its story rest on: a run's output really lands in that run's
file, a run that hangs is stopped at its bound, a DAG's ``DEMO`` declaration is read strictly,
sandbox flags are passed only when the sandbox has the setting, and what the console says about a
run (requests, publish, live pages, journal) follows from the sandbox's log and the run's state.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts import demo

ROOT = Path(__file__).resolve().parents[2]


CAPTURE_SCRIPT = """
import os, subprocess, sys
from pathlib import Path
from scripts import demo
with demo.output_to(Path(sys.argv[1])):
    print("from print")
    sys.stderr.write("from stderr\\n")
    os.write(1, b"from fd 1\\n")
    subprocess.run(["echo", "from a child"], check=True)
print("after")
"""


def test_output_to_captures_python_and_file_descriptor_writes_then_restores(tmp_path: Path) -> None:
    # In a process of its own: pytest's capture replaces sys.stdout, the demo's process does not.
    target = tmp_path / "run.log"
    done = subprocess.run([sys.executable, "-c", CAPTURE_SCRIPT, str(target)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    assert target.read_text().splitlines() == ["from print", "from stderr", "from fd 1", "from a child"]
    assert done.stdout == "after\n"
    assert done.stderr == ""


def test_time_limit_interrupts_a_blocking_call() -> None:
    started = time.monotonic()
    with pytest.raises(demo.RunTimeout, match="longer than 0 s"), demo.time_limit(0.3) as deadline:
        time.sleep(30)
    assert deadline.expired
    assert time.monotonic() - started < 10


def test_time_limit_interrupts_again_when_the_first_interruption_is_swallowed() -> None:
    started = time.monotonic()
    swallowed = 0
    with pytest.raises(demo.RunTimeout), demo.time_limit(0.2):
        while True:  # as Airflow's task runner does: the first interruption fails the task, then it goes on
            try:
                time.sleep(30)
            except demo.RunTimeout:
                swallowed += 1
                if swallowed > 1:
                    raise
    assert swallowed == 2
    assert time.monotonic() - started < 10


def test_time_limit_restores_the_signal_handler_it_replaced_and_stops_its_watcher() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    with demo.time_limit(60) as deadline:
        assert signal.getsignal(signal.SIGUSR1) is not before
    assert signal.getsignal(signal.SIGUSR1) is before
    assert not deadline.expired
    assert not [t for t in threading.enumerate() if t.name == "demo-deadline"]


def test_run_timeout_is_not_an_exception_airflow_would_swallow() -> None:
    assert not issubclass(demo.RunTimeout, Exception)


def test_demo_spec_defaults_and_declared_values() -> None:
    assert demo.demo_spec(None) == demo.DemoSpec(None, demo.RUN_TIMEOUT, {})
    assert demo.demo_spec(SimpleNamespace()) == demo.DemoSpec(None, demo.RUN_TIMEOUT, {})
    declared = SimpleNamespace(DEMO={"conf": {"dry_run": False}, "timeout": 30,
                                     "respond": {"approve": {"chosen_options": ["Approve"]}}})
    assert demo.demo_spec(declared) == demo.DemoSpec({"dry_run": False}, 30.0,
                                                     {"approve": {"chosen_options": ["Approve"]}})


def test_demo_spec_refuses_unknown_keys_and_non_mappings() -> None:
    with pytest.raises(ValueError, match=r"unknown key.*confs"):
        demo.demo_spec(SimpleNamespace(DEMO={"confs": {}}))
    with pytest.raises(TypeError, match="mapping"):
        demo.demo_spec(SimpleNamespace(DEMO=[("conf", {})]))
    with pytest.raises(ValueError, match=r"\['respond'\]\['approve'\] takes a list 'chosen_options'"):
        demo.demo_spec(SimpleNamespace(DEMO={"respond": {"approve": {"chosen_options": "Approve"}}}))
    with pytest.raises(ValueError, match=r"got keys \['choice'\]"):
        demo.demo_spec(SimpleNamespace(DEMO={"respond": {"approve": {"choice": ["Approve"]}}}))


def test_sandbox_flags_only_for_settings_the_sandbox_has() -> None:
    from dataclasses import fields

    from airflow_provider_pagemeta.sandbox.state import SandboxConfig

    known = {f.name for f in fields(SandboxConfig)}
    flags = demo.sandbox_flags({"webflow_rate_limit": 6000, "not_a_setting_yet": 1.0}, known)
    assert flags == ["--webflow-rate-limit", "6000"]


def test_every_demo_sandbox_flag_is_accepted_by_the_sandbox_command_line() -> None:
    from dataclasses import fields

    from airflow_provider_pagemeta.sandbox.__main__ import parse_args
    from airflow_provider_pagemeta.sandbox.state import SandboxConfig

    flags = demo.sandbox_flags(demo.SANDBOX_SETTINGS, {f.name for f in fields(SandboxConfig)})
    assert "--webflow-rate-limit" in flags
    parsed = parse_args(["--port", "1", *flags])
    assert parsed.webflow_rate_limit == 6000


def request(method: str, path: str, status: int = 200, body: object = None, query: dict | None = None) -> dict:
    """One entry of the sandbox's request log, as ``SandboxControl.requests()`` returns it."""
    return {"method": method, "path": path, "query": query or {}, "headers": {}, "body": body, "status": status}


SITE = "fdd818cce66350fd1bd9cac3"
PUBLISH = request("POST", f"/webflow/v2/sites/{SITE}/publish", 202,
                  {"customDomains": ["d1", "d2"], "publishToWebflowSubdomain": True})


def test_describe_counts_writes_per_cms_shows_the_first_two_and_counts_publishes_and_queries_apart() -> None:
    log = [request("GET", "/webflow/v2/sites/s/pages")]
    log += [request("PUT", f"/webflow/v2/pages/{i}") for i in range(5)]
    log += [request("POST", "/hamgam/api/pages/base/38/meta/", 201), PUBLISH]
    log += [request("POST", "/buildin/v2/databases/66666666-6666-4666-8666-666666666666/query")]
    text = demo.describe(log)
    assert text.splitlines() == [
        "6 writes, 2 reads, 1 publish — hamgam: 1, webflow: 5",
        "  PUT /webflow/v2/pages/0 -> 200",
        "  PUT /webflow/v2/pages/1 -> 200",
        "  ... and 4 more",
    ]
    assert demo.describe([request("GET", "/hamgam/api/pages/base/38/meta/")]) == "0 writes, 1 read"
    assert demo.describe([]) == "no request"


def test_reads_publishes_and_plurals() -> None:
    assert demo.is_read(request("POST", "/buildin/v2/databases/abc/query"))
    assert not demo.is_read(request("POST", "/buildin/v2/databases/abc/query/extra"))
    assert not demo.is_read(request("PATCH", "/buildin/v2/pages/abc"))
    assert demo.is_read(request("HEAD", "/webflow/v2/sites"))
    assert demo.is_publish(PUBLISH) and demo.is_publish(request("POST", f"/webflow/beta/sites/{SITE}/publish"))
    assert not demo.is_publish(request("GET", f"/webflow/v2/sites/{SITE}/publish"))
    assert [demo.counted(n, "publish", "publishes") for n in (0, 1, 2)] == ["0 publishes", "1 publish", "2 publishes"]


def test_tasks_text_counts_states_and_names_the_unusual_ones() -> None:
    states = {"a": "success", "b": "skipped", "c": "success", "d[0]": "failed", "e": "skipped",
              "f": "skipped", "g": "skipped"}
    assert demo.tasks_text(states) == "tasks: 2 success, 1 failed (d[0]), 4 skipped (b, e, f, ...)"
    assert demo.tasks_text({}) == "no task ran"


def test_journal_text() -> None:
    assert demo.journal_text(None) == ""
    assert demo.journal_text({}) == "journal: no page changed"
    assert demo.journal_text({"planned": 4, "applied": 4}) == "journal: 4 applied, 4 planned"


def test_publish_text_says_whether_a_run_published_and_why_not() -> None:
    published = demo.publish_text([request("PUT", "/webflow/v2/pages/p"), PUBLISH], {"publish": "success"},
                                  ["publish"])
    assert published == (f"published: POST /webflow/v2/sites/{SITE}/publish -> 202 "
                         "(2 custom domains + webflow.io); publish success")
    assert demo.publish_text([], {"publish": "skipped"}, ["publish"]) == "no publish: nothing changed (publish skipped)"
    assert demo.publish_text([], {"publish": "upstream_failed"}, ["publish"]) == "no publish (publish upstream_failed)"
    assert demo.publish_text([], {}, ["publish"]) == "no publish (publish did not run)"
    assert demo.publish_text([request("GET", "/webflow/v2/sites")], {"a": "success"}, []) is None
    refused = request("POST", f"/webflow/v2/sites/{SITE}/publish", 429, {"pageId": "p1", "customDomains": []})
    again = {**refused, "status": 202}
    assert demo.publish_text([refused, again], {"publish[0]": "success", "publish[1]": "skipped"}, ["publish"]) == (
        f"published: POST /webflow/v2/sites/{SITE}/publish -> 429 (page p1 only), "
        f"POST /webflow/v2/sites/{SITE}/publish -> 202 (page p1 only); publish skipped/success")
    assert demo.publish_text([refused], {"publish": "failed"}, ["publish"]).startswith("publish FAILED: ")


def test_written_webflow_pages_from_single_and_bulk_writes_each_once_successful_only() -> None:
    log = [
        request("PUT", "/webflow/v2/pages/p1", body={"seo": {"title": "T1"}}),
        request("PUT", "/webflow/v2/pages/p2", body={"title": "x"}, query={"localeId": "l2"}),
        request("PUT", "/webflow/v2/pages/p3", 400, body={"seo": {"title": ""}}),
        request("PUT", "/webflow/v2/pages/p1", body={"seo": {"title": "T1 again"}}),
        request("PATCH", "/webflow/beta/pages", body={"pages": [{"id": "p4", "localeId": "l4", "slug": "s"}, {}]}),
        request("GET", "/webflow/v2/pages/p5"),
        PUBLISH,
    ]
    assert demo.written_webflow_pages(log) == [
        ("p1", None, {"seo": {"title": "T1"}}), ("p2", "l2", {"title": "x"}), ("p4", "l4", {"slug": "s"})]


def test_live_field_prefers_the_seo_title_then_the_first_field_written() -> None:
    assert demo.live_field({"openGraph": {"title": "o"}, "seo": {"description": "d", "title": "t"}}) == "seo.title"
    assert demo.live_field({"seo": {"description": "d"}, "openGraph": {"title": "o"}}) == "seo.description"
    assert demo.live_field({"openGraph": {"titleCopied": False}}) == "openGraph.titleCopied"
    assert demo.live_field({}) is None
    assert demo.leaves({"a": {"b": 1, "c": {"d": None}}, "e": "x"}) == {"a.b": 1, "a.c.d": None, "e": "x"}


def test_live_check_compares_what_visitors_see_with_the_staged_page() -> None:
    live = {"title": "About", "slug": "about", "seo": {"title": "New"}, "openGraph": {"title": "OG"}}
    staged = {**live, "id": "p1", "publishedPath": "/about", "lastUpdated": "2026-12-01T00:00:00Z"}
    same = demo.live_check("p1", "seo.title", live, staged)
    assert same == demo.LiveCheck("p1", "seo.title", "New", "New", True)
    assert demo.live_text(same) == 'p1 seo.title "New" = staged'
    unpublished = demo.live_check("p1", "seo.title", {**live, "seo": {"title": "Old"}}, staged)
    assert demo.live_text(unpublished) == 'p1 seo.title "Old", staged "New": NOT LIVE'
    half = demo.live_check("p1", "seo.title", {**live, "slug": "old-slug"}, staged)
    assert demo.live_text(half) == 'p1 seo.title "New" = staged, but other fields are not live yet'
    long = demo.live_check("p1", "seo.title", {"seo": {"title": "x" * 100}}, {"seo": {"title": "x" * 100}})
    assert demo.live_text(long) == f'p1 seo.title "{"x" * (demo.VALUE_CHARS - 3)}…" = staged'


def test_dag_block_tells_each_run_its_requests_publish_live_pages_and_journal(tmp_path: Path) -> None:
    first = demo.RunResult(
        "seo_refresh", "first run", True, 3.24, "success", tmp_path / "first.log",
        [request("GET", f"/webflow/v2/sites/{SITE}/pages"), request("PUT", "/webflow/v2/pages/p1"), PUBLISH],
        tasks={"apply": "success", "publish": "success"}, publish_tasks=["publish"], journal={"applied": 1},
        answers=["Human-in-the-loop review: answered ['Approve']"],
        live=[demo.LiveCheck("p1", "seo.title", "New", "New", True)],
    )
    rerun = demo.RunResult(
        "seo_refresh", "rerun", False, 1.0, "failed", tmp_path / "rerun.log",
        [request("GET", f"/webflow/v2/sites/{SITE}/pages")],
        tasks={"apply": "failed", "publish": "upstream_failed"}, publish_tasks=["publish"], journal={},
        notes=["live now: not read (ConnectionError: refused)"],
    )
    assert demo.dag_block("seo_refresh", [first, rerun]).splitlines() == [
        "seo_refresh",
        "  first run ok in 3.2 s; tasks: 2 success; journal: 1 applied",
        "    Human-in-the-loop review: answered ['Approve']",
        "    received: 1 write, 1 read, 1 publish — webflow: 1",
        "      PUT /webflow/v2/pages/p1 -> 200",
        f"    published: POST /webflow/v2/sites/{SITE}/publish -> 202 (2 custom domains + webflow.io); "
        "publish success",
        '    live now: p1 seo.title "New" = staged',
        f"  rerun     FAILED (failed; see {tmp_path / 'rerun.log'}) in 1.0 s; tasks: 1 failed (apply), "
        "1 upstream_failed (publish); journal: no page changed",
        "    received: 0 writes, 1 read",
        "    no publish (publish upstream_failed)",
        "    live now: not read (ConnectionError: refused)",
    ]


def test_the_demo_owns_its_journal_directory_and_reports_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = demo.Setup(tmp_path / "dags", tmp_path / "home")
    env = demo.airflow_environment(setup, "http://127.0.0.1:1")
    assert env["AIRFLOW__PAGEMETA__JOURNAL_DIR"] == str(tmp_path / "home" / "demo" / "journal")
    assert setup.report == tmp_path / "home" / "demo" / "report.html"
    monkeypatch.setenv("AIRFLOW__PAGEMETA__JOURNAL_DIR", env["AIRFLOW__PAGEMETA__JOURNAL_DIR"])
    assert demo.write_html_report(setup) == "Change report: no run wrote a journal."
    run_id = "manual__2026-12-01T14:19:40+00:00"
    assert demo.journal_counts("seo_refresh", run_id) is None  # the run wrote no journal
    run = setup.journal / "seo_refresh" / run_id
    run.mkdir(parents=True)
    (run / "plan.jsonl").write_text("")  # a task that changed nothing leaves an empty journal
    assert demo.journal_counts("seo_refresh", run_id) == {}
    line = {"cms": "webflow", "page": {"page_id": "a" * 24, "locale_id": None}, "status": "applied",
            "changes": {"seo.title": {"old": "Old", "new": "<New>"}}, "error": None,
            "at": "2026-12-01T14:20:00+00:00", "dag_id": "seo_refresh", "run_id": run_id, "task_id": "apply",
            "map_index": -1, "conn_id": "webflow_default"}
    (run / "apply.jsonl").write_text(json.dumps(line) + "\n" + json.dumps({**line, "status": "failed"}) + "\n")
    assert demo.journal_counts("seo_refresh", run_id) == {"applied": 1, "failed": 1}
    text = demo.write_html_report(setup)
    assert text.splitlines() == [
        f"Change report (HTML, open it in a browser): {setup.report}",
        f"  2 journal entries (1 applied, 1 failed) for 1 page(s); journals in {setup.journal}/",
    ]
    page = setup.report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "&lt;New&gt;" in page and "seo_refresh.apply" in page


def test_log_names_are_one_file_per_dag_and_run() -> None:
    names = {demo.log_name(d, label) for d in ("a", "b") for label in demo.RUNS}
    assert names == {"a-first-run.log", "a-rerun.log", "b-first-run.log", "b-rerun.log"}


# --------------------------------------------------------------------- the runner, end to end

OK_DAG = '''
from datetime import datetime
from airflow.sdk import DAG, Param, task

DEMO = {"conf": {"greeting": "hello-from-demo-conf"}}

with DAG(dag_id="ok_dag", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         params={"greeting": Param("default-greeting", type="string")}):
    @task
    def greet(params=None):
        from airflow_provider_pagemeta.journal import configured_dir

        print("greeting:", params["greeting"])
        print("journal dir:", configured_dir())

    greet()
'''

FAILING_DAG = '''
from datetime import datetime
from airflow.sdk import DAG, task

with DAG(dag_id="failing_dag", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    @task(retries=0)
    def fail():
        raise ValueError("planned failure of failing_dag")

    fail()
'''

HANGING_DAG = '''
import time
from datetime import datetime
from airflow.sdk import DAG, task

DEMO = {"timeout": 6}

with DAG(dag_id="hanging_dag", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    @task
    def hang():
        time.sleep(600)

    hang()
'''


REVIEWED_DAG = '''
from datetime import datetime
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, task

DEMO = {"respond": {"review": {"chosen_options": ["Approve"]}}}

with DAG(dag_id="reviewed_dag", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    review = ApprovalOperator(task_id="review", subject="Publish?")

    @task
    def publish():
        print("published after approval")

    review >> publish()
'''


@pytest.mark.dags
def test_the_runner_fails_on_failed_hung_and_broken_dags_answers_a_review_and_keeps_logs(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "ok_dag.py").write_text(OK_DAG)
    (dags / "failing_dag.py").write_text(FAILING_DAG)
    (dags / "hanging_dag.py").write_text(HANGING_DAG)
    (dags / "reviewed_dag.py").write_text(REVIEWED_DAG)
    (dags / "broken.py").write_text("from airflow.sdk import DAG\n\nraise RuntimeError('broken on purpose')\n")
    home = tmp_path / "home"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--dags-folder", str(dags),
                           "--airflow-home", str(home)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr

    def block(dag_id: str) -> str:
        """The console block of one DAG: its header line and the indented lines under it."""
        found = re.search(rf"^\[demo +[\d.]+s\] {dag_id}\n((?:  .*\n)+)", out, re.MULTILINE)
        assert found, out
        return found.group(1)

    runs = home / "demo"
    expected = [demo.log_name(d, label) for d in ("ok_dag", "failing_dag", "hanging_dag", "reviewed_dag")
                for label in demo.RUNS]
    assert sorted(p.name for p in runs.glob("*.log")) == sorted(["setup.log", *expected])
    for label in demo.RUNS:
        assert f"  {label:<9} ok in " in block("ok_dag")
        assert re.search(rf"^  {label} +FAILED \(failed; see .*failing_dag-.*tasks: 1 failed \(fail\)",
                         block("failing_dag"), re.MULTILINE), out
        assert f"  {label:<9} FAILED (timed out; " in block("hanging_dag")
        assert re.search(rf"^  {label} +ok in [\d.]+ s; tasks: 2 success\n    Human-in-the-loop review: answered "
                         r"\['Approve'\]\n    received: no request$", block("reviewed_dag"), re.MULTILINE), out
        reviewed = (runs / demo.log_name("reviewed_dag", label)).read_text()
        assert "Human-in-the-loop: review: answered ['Approve']" in reviewed
        assert "published after approval" in reviewed
        greeted = (runs / demo.log_name("ok_dag", label)).read_text()
        assert "greeting: hello-from-demo-conf" in greeted
        assert f"journal dir: file://{home / 'demo' / 'journal'}" in greeted  # the demo's, not a global one
        assert "planned failure of failing_dag" in (runs / demo.log_name("failing_dag", label)).read_text()
        assert "took longer than 6 s and was stopped" in (runs / demo.log_name("hanging_dag", label)).read_text()
    assert "broken: IMPORT ERROR RuntimeError: broken on purpose" in out
    assert "Change report: no run wrote a journal." in out
    failed_line = next(line for line in out.splitlines() if line.startswith("FAILED: "))
    assert "failing_dag (first run)" in failed_line and "hanging_dag (rerun)" in failed_line
    assert "broken (import error: RuntimeError: broken on purpose)" in failed_line
    assert "ok_dag" not in failed_line and "reviewed_dag" not in failed_line
    assert "greeting" not in out  # task output stays in the run's log, not on the console
