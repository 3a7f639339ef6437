"""The benchmarks at tiny sizes, so ``make bench`` cannot rot between the times someone runs it.

``benchmarks/run.py --smoke`` runs every benchmark against its own sandbox process and judges no
target (``met`` is null: a smoke size proves the code path, not the performance). B2's smoke skips
the real scheduler (starting four Airflow processes costs about a minute) and checks everything
around it: the bench DAGs parse and map to the right size, process groups stop with nothing left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.run import table  # noqa: E402
from benchmarks.scheduler import run_durations  # noqa: E402

IDS = [f"B{n}" for n in range(1, 12)]


def _own_airflow_home(tmp_path: Path) -> dict[str, str]:
    """The benchmarks must not touch the test session's Airflow home: they parse and run their own
    DAGs, which would re-sync the DAG bundle of the tests' SQLite DB under the other tests' feet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__CORE__DAGS_FOLDER")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow-home")
    return env


def test_smoke_run_reports_every_benchmark(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--output", str(output)],
        capture_output=True, text=True, timeout=420, cwd=ROOT, env=_own_airflow_home(tmp_path),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    assert sorted(k for k in results if k != "machine") == sorted(IDS)
    for bench_id in IDS:
        entry = results[bench_id]
        assert entry["met"] is None, bench_id  # smoke sizes judge nothing
        assert "error" not in entry["details"], (bench_id, entry["details"])
        assert entry["target"], bench_id
    assert results["B4"]["value"] == 0 and results["B4"]["details"]["list_requests"] == 2  # 120 rows: 2 pages of 100
    assert results["B7"]["value"] == 2  # 120 pages -> two PATCH /beta/pages
    assert results["B3"]["details"]["responses_429"] == 0
    assert results["B6"]["details"]["incomplete"] == 0
    assert results["B2"]["details"]["bulk_rows"] == 3 and results["B2"]["details"]["leftover_processes"] == 0
    b9 = results["B9"]["details"]  # 300 pages: 3 list reads + 3 bulk writes, then the 3 reads alone
    assert (b9["changed"]["list_requests"], b9["changed"]["bulk_writes"], b9["rerun"]["requests_logged"]) == (3, 3, 3)
    assert b9["changed"]["responses_429"] == b9["rerun"]["responses_429"] == 0 and b9["peak_rss_mib"] > 0
    b10 = results["B10"]["details"]  # 150 pages of one type: 2 listing calls + 150 writes, then the 2 calls
    assert (results["B10"]["value"], b10["rerun_calls"]) == (152, 2)
    b11 = results["B11"]["details"]
    assert b11["buildin_conflicts"]["requests"] == b11["buildin_conflicts"]["expected"]
    assert b11["hamgam_keys"]["requests"] == b11["hamgam_keys"]["expected"]
    assert set(b11["bulk_rows"].values()) == {3} and len(b11["dags"]) == 4
    assert results["machine"]["nproc"] >= 1 and results["machine"]["airflow"].startswith("3.")
    for bench_id in IDS:
        assert bench_id in done.stdout  # the table is printed


def test_run_durations_skips_cli_noise_before_the_json() -> None:
    out = ("warning: could not import graphviz\n"
           '[{"run_id": "a", "start_date": "2024-01-01T00:00:00+00:00", "end_date": "2024-01-01T00:01:00.5+00:00"},'
           ' {"run_id": "b", "start_date": "2024-01-01T00:00:00+00:00", "end_date": null}]')
    assert run_durations(out) == {"a": 60.5}


def test_table_marks_missed_targets() -> None:
    text = table({"B1": {"value": 1.2, "target": "<= 1.15", "met": False, "details": {}},
                  "B4": {"value": 0, "target": "0 writes", "met": True, "details": {}}})
    lines = text.splitlines()
    assert lines[2].split()[:4] == ["B1", "1.2", "<=", "1.15"] and " NO " in lines[2]
    assert " yes " in lines[3]
