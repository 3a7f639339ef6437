"""Journal writing: flushed per page, object stores through a spool uploaded per try, retries append.

``memory://`` (fsspec's in-process filesystem, opened by Airflow's ``ObjectStoragePath``) stands
in for an object store here: like S3 it is not local, so the writer must spool and upload. The
real S3 API is exercised by ``make e2e``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_pagemeta.bulk.engine import BulkFailedError, BulkItem, BulkRunner, PlannedWrite, WriteResult
from airflow_provider_pagemeta.exceptions import CMSServerError
from airflow_provider_pagemeta.journal import read_journal
from airflow_provider_pagemeta.journal.location import RunIdentity, local_path, storage_path
from airflow_provider_pagemeta.journal.tasks import journal_page, run_journaled
from airflow_provider_pagemeta.journal.writer import JournalWriter, _SpooledSink

WHO = RunIdentity("dag", "run_1", "task", -1, 1)


@pytest.fixture
def store() -> str:
    """A fresh 'bucket' in fsspec's memory filesystem."""
    return f"memory://journal-{uuid.uuid4().hex}"


def lines(uri: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in storage_path(uri).read_text().splitlines()]


def test_local_journal_is_readable_after_every_page(tmp_path):
    uri = f"file://{tmp_path}/j.jsonl"
    writer = JournalWriter(uri, WHO)
    writer.write("hamgam", {"page_id": 1}, {"meta.a": {"new": {"text": "x"}}}, "applied", conn_id="hamgam_default")
    # Not closed yet: what a SIGKILL would leave behind is already on disk, complete.
    [entry] = [json.loads(line) for line in local_path(uri).read_text().splitlines()]
    assert entry == {
        "cms": "hamgam", "page": {"page_id": 1}, "changes": {"meta.a": {"new": {"text": "x"}}},
        "status": "applied", "error": None, "at": entry["at"], "dag_id": "dag", "run_id": "run_1",
        "task_id": "task", "map_index": -1, "conn_id": "hamgam_default", "try_number": 1,
    }
    writer.write("hamgam", {"page_id": 2}, {}, "failed", error="hamgam ... -> HTTP 503")
    assert len(local_path(uri).read_text().splitlines()) == 2
    writer.close()


def test_object_store_journal_is_uploaded_on_close_and_a_retry_appends(store):
    uri = f"{store}/dag/run_1/task.jsonl"
    first = JournalWriter(uri, WHO)
    first.write("webflow", {"page_id": "a" * 24, "locale_id": None}, {"title": {"old": "A", "new": "B"}}, "applied")
    assert not storage_path(uri).exists()  # an object store cannot append: nothing until the upload
    first.close()
    assert [e["changes"] for e in lines(uri)] == [{"title": {"old": "A", "new": "B"}}]
    retry = JournalWriter(uri, RunIdentity("dag", "run_1", "task", -1, 2))
    retry.write("webflow", {"page_id": "b" * 24, "locale_id": None}, {"title": {"old": "C", "new": "D"}}, "applied")
    retry.close()
    assert [e["try_number"] for e in lines(uri)] == [1, 2]  # the second try appended, marking its try


def test_an_empty_run_still_leaves_a_journal(store):
    uri = f"{store}/dag/run_1/task.jsonl"
    JournalWriter(uri, WHO).close()
    assert storage_path(uri).read_text() == ""
    assert read_journal(uri) == []


def test_periodic_upload_bounds_what_a_kill_can_lose(store):
    now = [0.0]
    uri = f"{store}/j.jsonl"
    sink = _SpooledSink(uri, upload_every=30.0, clock=lambda: now[0])
    sink.append(b'{"n": 1}\n')
    assert not storage_path(uri).exists()
    now[0] = 31.0
    sink.append(b'{"n": 2}\n')  # 30 s since the last upload: the whole spool goes up
    assert storage_path(uri).read_text() == '{"n": 1}\n{"n": 2}\n'
    sink.close()


def test_a_killed_try_left_spool_is_folded_into_the_next_try(store):
    """A try killed before its upload leaves its spool on the worker; the next try there keeps it."""
    uri = f"{store}/j.jsonl"
    killed = _SpooledSink(uri)
    killed.append(b'{"try": 1}\n')
    killed._file.close()  # the process died here: no upload, the spool stays
    retry = JournalWriter(uri, RunIdentity("dag", "run_1", "task", -1, 2))
    retry.write("hamgam", {"page_id": 3}, {"meta.k": {"new": {"text": "v"}}}, "applied")
    retry.close()
    text = storage_path(uri).read_text().splitlines()
    assert text[0] == '{"try": 1}' and json.loads(text[1])["try_number"] == 2


# --------------------------------------------------------------------------- through the helpers
@dataclass
class Op:
    """Enough of an operator for the helpers: its journal setting, ids and a log."""

    journal: Any
    task_id: str = "bulk"
    dag_id: str = "d"

    class log:  # stands in for the operator's logger attribute
        messages: list[str] = []

        @classmethod
        def info(cls, message: str, *args: Any) -> None:
            cls.messages.append(message % args)


class FailingAdapter:
    """Two pages: the first writes, the second fails (as a CMS outage would)."""

    cms = "hamgam"
    write_batch_size = 1

    def prepare(self, rows):
        return [BulkItem(index=i, key=str(r), target={}, page={"page_id": r}) for i, r in enumerate(rows)]

    def prefetch(self, items):
        return None

    def read(self, item):
        return {}

    def diff(self, item, current):
        return {"meta.k": {"old": {"text": "a"}, "new": {"text": "b"}}}

    def write(self, batch: list[PlannedWrite]) -> list[WriteResult]:
        item = batch[0].item
        if item.page["page_id"] == 2:
            return [WriteResult(item, CMSServerError("hamgam PATCH -> HTTP 503", cms="hamgam", status_code=503))]
        return [WriteResult(item)]

    def requests_sent(self):
        return 0

    def redact(self, text):
        return text


def test_a_failed_bulk_run_still_uploads_its_journal(store):
    op = Op(journal=store)
    with pytest.raises(BulkFailedError) as info:
        run_journaled(op, {}, BulkRunner(FailingAdapter()), [1, 2], conn_id="hamgam_default")
    uri = info.value.summary["journal"]
    assert uri.startswith(store) and uri.endswith("/bulk.jsonl")
    assert [(e["page"], e["status"]) for e in lines(uri)] == [({"page_id": 1}, "applied"), ({"page_id": 2}, "failed")]
    assert "HTTP 503" in lines(uri)[1]["error"]


def test_a_run_that_fails_validation_leaves_no_journal(tmp_path):
    class Invalid(FailingAdapter):
        def prepare(self, rows):
            raise ValueError("updates[0] is bad")

    op = Op(journal=str(tmp_path))
    with pytest.raises(ValueError, match="updates"):
        run_journaled(op, {}, BulkRunner(Invalid()), [1], conn_id=None)
    assert list(tmp_path.rglob("*.jsonl")) == []


def test_journal_off_adds_none_to_the_summary():
    summary = run_journaled(Op(journal=False), {}, BulkRunner(FailingAdapter(), max_failures=5), [1, 2], conn_id=None)
    assert summary["journal"] is None and summary["failed"] == 1


def test_single_page_failure_is_journaled_with_the_part_that_landed(tmp_path):
    op = Op(journal=str(tmp_path), task_id="one")
    page = {"page_id": 7}
    with pytest.raises(RuntimeError), journal_page(op, {}, cms="hamgam", conn_id="h", page=page) as record:
        record.changes = {"meta.a": {"new": {"text": "1"}}, "meta.b": {"old": {"text": "x"}, "new": {"text": "2"}}}
        record.landed = {"meta.a": {"new": {"text": "1"}}}
        raise RuntimeError("connection reset")
    entries = read_journal(record.uri)
    assert [(e["status"], list(e["changes"])) for e in entries] == [("applied", ["meta.a"]), ("failed", ["meta.b"])]
    assert entries[1]["error"] == "RuntimeError: connection reset"


def test_single_page_without_change_writes_an_empty_journal(tmp_path):
    op = Op(journal=str(tmp_path), task_id="same")
    with journal_page(op, {}, cms="buildin", conn_id="b", page={"page_id": "x"}) as record:
        record.changes = {}
    assert read_journal(record.uri) == []
