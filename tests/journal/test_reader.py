"""Bad journals fail clearly, naming the file and the line, before anything acts on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.journal.reader import journal_uris

GOOD = {"cms": "webflow", "page": {"page_id": "a" * 24, "locale_id": None},
        "changes": {"title": {"old": "A", "new": "B"}}, "status": "applied", "error": None,
        "at": "2026-01-01T00:00:00.000000+00:00", "dag_id": "d", "run_id": "r", "task_id": "t",
        "map_index": -1, "conn_id": "webflow_default"}


def write(path: Path, *lines: object) -> str:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return f"file://{path}"


def test_reads_entries_in_file_order_and_a_directory_of_journals(tmp_path):
    (tmp_path / "run").mkdir()
    first = write(tmp_path / "run" / "a.jsonl", GOOD, {**GOOD, "status": "failed", "error": "x"})
    write(tmp_path / "run" / "b.2.jsonl", {**GOOD, "status": "planned"})
    (tmp_path / "run" / "report.html").write_text("<html>")  # not a journal: ignored
    assert [e["status"] for e in read_journal(first)] == ["applied", "failed"]
    assert [e["status"] for e in read_journal(str(tmp_path / "run"))] == ["applied", "failed", "planned"]


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", r"line 2 is not JSON"),
    ('["a list"]', r"line 2 must be a JSON object"),
    (json.dumps({**GOOD, "cms": "wordpress"}), r"line 2 names an unknown cms 'wordpress'"),
    (json.dumps({**GOOD, "status": "done"}), r"line 2 has an unknown status 'done'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "changes"}), r"line 2 has no 'changes'"),
    (json.dumps({**GOOD, "page": {"locale_id": None}}), r"line 2: a webflow page needs 'page_id'"),
    (json.dumps({**GOOD, "cms": "hamgam", "page": {"page_id": "38"}}), r"line 2: page page_id has the wrong type"),
    (json.dumps({**GOOD, "changes": {"title": {"old": "A"}}}), r"line 2: change 'title' must be an object with 'new'"),
    (json.dumps({**GOOD, "changes": {"title": {"new": "B", "was": "A"}}}), r"line 2: change 'title' has unknown keys"),
])
def test_a_malformed_line_names_file_and_line(tmp_path, line, message):
    uri = write(tmp_path / "j.jsonl", GOOD, line)
    with pytest.raises(CMSValidationError, match=message) as info:
        read_journal(uri)
    assert f"journal {uri} line 2" in str(info.value) and info.value.argument == "journal"


def test_missing_unreadable_and_empty_directories(tmp_path):
    with pytest.raises(CMSValidationError, match=r"journal file://.*/nope\.jsonl does not exist"):
        read_journal(f"file://{tmp_path}/nope.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CMSValidationError, match=r"is not UTF-8 text"):
        read_journal(str(tmp_path / "bin.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CMSValidationError, match=r"holds no journal"):
        read_journal(str(tmp_path / "empty"))
    with pytest.raises(CMSValidationError, match=r"absolute path"):
        read_journal("relative.jsonl")


def test_journal_uris_from_results_lists_and_strings():
    assert journal_uris("s3://b/j.jsonl") == ["s3://b/j.jsonl"]
    assert journal_uris({"total": 3, "journal": "file:///j/a.jsonl"}) == ["file:///j/a.jsonl"]
    assert journal_uris([{"journal": "file:///j/a.jsonl"}, "/j/b.jsonl"]) == ["file:///j/a.jsonl", "file:///j/b.jsonl"]
    with pytest.raises(CMSValidationError, match=r"journal\[1\]: that task wrote no journal") as info:
        journal_uris([{"journal": "file:///a"}, {"journal": None}])
    assert info.value.argument == "journal[1]"
    with pytest.raises(CMSValidationError, match="without 'journal'"):
        journal_uris({"total": 1})
    with pytest.raises(CMSValidationError, match="names no journal"):
        journal_uris([])


def test_reads_a_run_directory_on_an_object_store():
    """A directory URI on a (non-local) store lists its journals by the URI as given."""
    import uuid

    from airflow_provider_pagemeta.journal.location import storage_path

    root = f"memory://journal-{uuid.uuid4().hex}/dag/run"
    storage_path(f"{root}/a.jsonl").write_text(json.dumps(GOOD) + "\n")
    storage_path(f"{root}/b.0.jsonl").write_text(json.dumps({**GOOD, "status": "planned"}) + "\n")
    assert [e["status"] for e in read_journal(root + "/")] == ["applied", "planned"]
