"""Where journals go: the ``journal`` argument, ``[pagemeta] journal_dir``, ``{AIRFLOW_HOME}``."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.get_provider_info import get_provider_info
from airflow_provider_pagemeta.journal.location import (
    RunIdentity,
    identity_from,
    journal_uri,
    local_path,
    resolve_setting,
    segment,
)
from tests.conftest import AIRFLOW_BIN


@dataclass
class FakeTI:
    dag_id: str = "seo"
    run_id: str = "manual__2026-01-02T03:04:05+00:00"
    task_id: str = "apply"
    map_index: int = -1
    try_number: int = 2


def test_true_means_the_configured_directory_else_airflow_home(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW__PAGEMETA__JOURNAL_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    expected = f"file://{tmp_path.resolve()}/pagemeta/journal"
    assert resolve_setting(True) == expected
    assert resolve_setting("True") == expected  # "{{ params.journal }}" renders a string
    monkeypatch.setenv("AIRFLOW__PAGEMETA__JOURNAL_DIR", "s3://aws_default@bucket/journal/")
    assert resolve_setting(True) == "s3://aws_default@bucket/journal"


@pytest.mark.parametrize("value", [False, None, "False", "none", " off "])
def test_false_means_no_journal(value):
    assert resolve_setting(value) is None


def test_a_string_is_a_directory_uri_and_a_plain_path_becomes_file_uri(tmp_path):
    assert resolve_setting("gs://bucket/prefix") == "gs://bucket/prefix"
    assert resolve_setting(str(tmp_path)) == f"file://{tmp_path}"
    assert resolve_setting(f"file://{tmp_path}/") == f"file://{tmp_path}"


@pytest.mark.parametrize(("value", "message"), [
    ("", "is empty"),
    ("relative/dir", "absolute path"),
    ("s3://", "names no bucket"),
    (42, "must be true, false or a directory URI"),
])
def test_bad_settings_name_the_argument(value, message):
    with pytest.raises(CMSValidationError, match=message) as info:
        resolve_setting(value)
    assert info.value.argument == "journal"


def test_bad_config_value_names_the_option(monkeypatch):
    monkeypatch.setenv("AIRFLOW__PAGEMETA__JOURNAL_DIR", "not/absolute")
    with pytest.raises(CMSValidationError) as info:
        resolve_setting(True)
    assert info.value.argument == "[pagemeta] journal_dir"


def test_file_layout_follows_the_run_identity():
    ti = FakeTI()
    who = identity_from({"ti": ti}, operator=None)
    assert who == RunIdentity("seo", "manual__2026-01-02T03:04:05+00:00", "apply", -1, 2)
    assert journal_uri("file:///j", who) == "file:///j/seo/manual__2026-01-02T03:04:05+00:00/apply.jsonl"
    mapped = identity_from({"ti": FakeTI(map_index=3)}, operator=None)
    assert journal_uri("s3://b/j/", mapped).endswith("/seo/manual__2026-01-02T03:04:05+00:00/apply.3.jsonl")


def test_outside_a_task_run_the_operator_names_the_file():
    class Op:
        dag_id = "adhoc_me"
        task_id = "t"

    who = identity_from({}, Op())
    assert (who.dag_id, who.task_id, who.map_index) == ("adhoc_me", "t", -1)
    assert who.run_id.startswith("adhoc__")


def test_segments_never_climb_or_split():
    assert segment("a/b") == "a%2Fb"
    assert segment("..") == "%2E%2E"
    assert segment("manual__2026-01-02T03:04:05+00:00") == "manual__2026-01-02T03:04:05+00:00"
    assert local_path("file:///tmp/a b/x.jsonl") == Path("/tmp/a b/x.jsonl")


def test_provider_declares_the_config_section_airflow_reads():
    """The option is in ``get_provider_info()["config"]`` (Airflow's provider schema allows it), so
    ``airflow config`` knows the section, and the variable sets it."""
    option = get_provider_info()["config"]["pagemeta"]["options"]["journal_dir"]
    assert option["type"] == "string" and option["default"] is None
    env = {**os.environ, "AIRFLOW__PAGEMETA__JOURNAL_DIR": "s3://aws_default@bucket/journal"}
    listed = subprocess.run([AIRFLOW_BIN, "config", "list", "--section", "pagemeta", "--include-descriptions"],
                            env={k: v for k, v in env.items() if k != "AIRFLOW__PAGEMETA__JOURNAL_DIR"},
                            capture_output=True, text=True, timeout=180)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "[pagemeta]" in listed.stdout and "journal_dir" in listed.stdout and "ObjectStoragePath" in listed.stdout
    value = subprocess.run([AIRFLOW_BIN, "config", "get-value", "pagemeta", "journal_dir"], env=env,
                           capture_output=True, text=True, timeout=180)
    assert value.stdout.strip() == "s3://aws_default@bucket/journal"
