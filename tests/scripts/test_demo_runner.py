"""Unit tests of the ``make demo`` runner's own parts (``scripts/demo.py``).

``make demo`` itself is the integration run (every example DAG twice through ``dag.test()``); these
tests hold the parts its verdict rests on: a run's output really lands in that run's file, a run
that hangs is stopped at its bound, a DAG's ``DEMO`` declaration is read strictly, and sandbox flags
are passed only when the sandbox has the setting.
"""

from __future__ import annotations

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


def test_describe_counts_writes_per_cms_and_shows_the_first_four() -> None:
    log = [{"method": "GET", "path": "/webflow/v2/sites/s/pages", "status": 200}]
    log += [{"method": "PUT", "path": f"/webflow/v2/pages/{i}", "status": 200} for i in range(5)]
    log += [{"method": "POST", "path": "/hamgam/api/pages/base/38/meta/", "status": 201}]
    text = demo.describe(log)
    assert text.splitlines()[0] == "6 write(s), 1 read(s) — hamgam: 1, webflow: 5"
    assert "PUT /webflow/v2/pages/0 -> 200" in text
    assert text.splitlines()[-1].strip() == "... and 2 more"
    assert demo.describe([]) == "0 write(s), 0 read(s)"


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
        print("greeting:", params["greeting"])

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
    runs = home / "demo"
    expected = [demo.log_name(d, label) for d in ("ok_dag", "failing_dag", "hanging_dag", "reviewed_dag")
                for label in demo.RUNS]
    assert sorted(p.name for p in runs.glob("*.log")) == sorted(["setup.log", *expected])
    for label in demo.RUNS:
        assert re.search(rf"ok_dag +{label} +ok in", out), out
        assert re.search(rf"failing_dag +{label} +FAILED \(failed; see .*failing_dag-", out), out
        assert re.search(rf"hanging_dag +{label} +FAILED \(timed out;", out), out
        assert re.search(rf"reviewed_dag +{label} +ok in", out), out
        reviewed = (runs / demo.log_name("reviewed_dag", label)).read_text()
        assert "Human-in-the-loop: review: answered ['Approve']" in reviewed
        assert "published after approval" in reviewed
        assert "greeting: hello-from-demo-conf" in (runs / demo.log_name("ok_dag", label)).read_text()
        assert "planned failure of failing_dag" in (runs / demo.log_name("failing_dag", label)).read_text()
        assert "took longer than 6 s and was stopped" in (runs / demo.log_name("hanging_dag", label)).read_text()
    assert "broken: IMPORT ERROR RuntimeError: broken on purpose" in out
    failed_line = next(line for line in out.splitlines() if line.startswith("FAILED: "))
    assert "failing_dag (first run)" in failed_line and "hanging_dag (rerun)" in failed_line
    assert "broken (import error: RuntimeError: broken on purpose)" in failed_line
    assert "ok_dag" not in failed_line and "reviewed_dag" not in failed_line
    assert "greeting" not in out  # task output stays in the run's log, not on the console
