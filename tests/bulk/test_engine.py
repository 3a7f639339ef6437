"""The bulk engine on a fake adapter: every rule of a run, no CMS and no socket.

The adapters are tested over real sockets in this folder's other modules; here the engine's own
promises are pinned down exactly: per-page failures, the auth and quota stops, ``max_failures``,
dry runs, exceptions that are not CMS errors, batches, the recorder, and a bounded summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from airflow_provider_pagemeta.bulk.engine import (
    CHANGED_PAGES_LISTED,
    CHANGES_LISTED,
    FAILURES_LISTED,
    BulkFailedError,
    BulkItem,
    BulkRunner,
    Diff,
    PlannedWrite,
    WriteResult,
    one_row_per_page,
)
from airflow_provider_pagemeta.exceptions import (
    CMSAuthError,
    CMSNotFoundError,
    CMSRateLimitError,
    CMSServerError,
    CMSValidationError,
)

SECRET = "fake-adapter-secret-0123456789"


class FakeAdapter:
    """Pages ``p0``..``pN``; ``current`` maps page -> value; errors are injected per page and phase."""

    cms = "fake"

    def __init__(self, current: dict[str, str], *, batch: int = 1) -> None:
        self.current = dict(current)
        self.write_batch_size = batch
        self.read_errors: dict[str, BaseException] = {}
        self.write_errors: dict[str, BaseException] = {}
        self.batch_error: BaseException | None = None
        self.reads: list[str] = []
        self.writes: list[list[str]] = []
        self.prefetched = False

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        items = []
        for n, row in enumerate(rows):
            if not isinstance(row, dict) or "page" not in row:
                raise CMSValidationError(f"updates[{n}] needs a page", argument=f"updates[{n}]")
            items.append(BulkItem(index=n, key=row["page"], target={"value": row["value"]}, page={"id": row["page"]}))
        return items

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        self.prefetched = True

    def read(self, item: BulkItem) -> Any:
        self.reads.append(item.key)
        if item.key in self.read_errors:
            raise self.read_errors[item.key]
        return self.current.get(item.key)

    def diff(self, item: BulkItem, current: Any) -> Diff:
        if current == item.target["value"]:
            return {}
        change: dict[str, Any] = {"new": item.target["value"]}
        if current is not None:
            change["old"] = current
        return {"value": change}

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        self.writes.append([p.item.key for p in batch])
        if self.batch_error is not None:
            raise self.batch_error
        results = []
        for planned in batch:
            error = self.write_errors.get(planned.item.key)
            if error is None:
                self.current[planned.item.key] = planned.item.target["value"]
            results.append(WriteResult(planned.item, error))
        return results

    def requests_sent(self) -> int:
        return len(self.reads) + len(self.writes)

    def redact(self, text: str) -> str:
        return text.replace(SECRET, "***")


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, Diff, str | None]] = []

    def record(self, item: BulkItem, status: str, changes: Diff, error: str | None = None) -> None:
        self.lines.append((item.key, status, changes, error))


def rows(n: int, value: str = "new") -> list[dict[str, str]]:
    return [{"page": f"p{i}", "value": value} for i in range(n)]


def pages(n: int, value: str = "old") -> dict[str, str]:
    return {f"p{i}": value for i in range(n)}


def test_writes_only_what_differs_and_counts_the_rest():
    adapter = FakeAdapter({**pages(5), "p2": "new"})
    summary = BulkRunner(adapter).run(rows(5))
    assert (summary["updated"], summary["unchanged"], summary["failed"], summary["skipped"]) == (4, 1, 0, 0)
    assert adapter.writes == [["p0"], ["p1"], ["p3"], ["p4"]] and adapter.prefetched
    assert summary["changed_pages"] == ["p0", "p1", "p3", "p4"]


def test_a_bad_row_fails_before_any_request():
    adapter = FakeAdapter(pages(3))
    with pytest.raises(CMSValidationError) as info:
        BulkRunner(adapter).run([*rows(2), {"value": "x"}])
    assert info.value.argument == "updates[2]" and adapter.reads == [] and adapter.writes == []


def adapter_with_failures() -> FakeAdapter:
    adapter = FakeAdapter(pages(6))
    adapter.read_errors["p1"] = CMSNotFoundError("gone", status_code=404)
    adapter.write_errors["p4"] = CMSServerError("boom", status_code=500)
    return adapter


def test_page_failures_do_not_stop_the_others_and_max_failures_decides():
    adapter = adapter_with_failures()
    summary = BulkRunner(adapter, max_failures=2).run(rows(6))
    assert (summary["updated"], summary["failed"]) == (4, 2)
    assert [(f["page"], f.get("status_code")) for f in summary["failures"]] == [("p1", 404), ("p4", 500)]
    with pytest.raises(BulkFailedError) as info:
        BulkRunner(adapter_with_failures(), max_failures=1).run(rows(6))
    assert info.value.summary["failed"] == 2 and "max_failures=1" in str(info.value)


@pytest.mark.parametrize("phase", ["read", "write"])
def test_an_auth_failure_stops_the_run_and_skips_the_rest(phase):
    adapter = FakeAdapter(pages(5))
    (adapter.read_errors if phase == "read" else adapter.write_errors)["p1"] = CMSAuthError("no", status_code=401)
    summary = BulkRunner(adapter, max_failures=10).run(rows(5))
    if phase == "read":  # stopped while planning: p2..p4 never read, nothing written
        assert (summary["updated"], summary["failed"], summary["skipped"]) == (0, 1, 3)
        assert adapter.writes == []
    else:  # stopped while writing: p0 landed, p2..p4 not attempted
        assert (summary["updated"], summary["failed"], summary["skipped"]) == (1, 1, 3)
        assert adapter.writes == [["p0"], ["p1"]]


def test_a_wait_of_days_stops_the_run_like_an_auth_failure():
    adapter = FakeAdapter(pages(4))
    adapter.read_errors["p0"] = CMSRateLimitError("quota", status_code=429, retry_after=3 * 86400)
    summary = BulkRunner(adapter, max_failures=10).run(rows(4))
    assert (summary["failed"], summary["skipped"]) == (1, 3) and adapter.reads == ["p0"]


def test_an_exception_that_is_not_a_cms_error_is_that_pages_failure():
    adapter = FakeAdapter(pages(3))
    adapter.read_errors["p0"] = KeyError("fields")
    adapter.write_errors["p1"] = AttributeError(f"'list' object has no attribute 'get' ({SECRET})")
    summary = BulkRunner(adapter, max_failures=5).run(rows(3))
    assert (summary["updated"], summary["failed"]) == (1, 2)
    errors = [f["error"] for f in summary["failures"]]
    assert errors[0].startswith("KeyError") and errors[1].startswith("AttributeError") and SECRET not in errors[1]


def test_a_failed_batch_call_fails_every_page_of_the_batch_only():
    adapter = FakeAdapter(pages(250), batch=100)
    calls = {"n": 0}
    original = adapter.write

    def flaky(batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        calls["n"] += 1
        adapter.batch_error = CMSServerError("bad gateway", status_code=502) if calls["n"] == 2 else None
        return original(batch)

    adapter.write = flaky  # type: ignore[method-assign]
    summary = BulkRunner(adapter, max_failures=1000).run(rows(250))
    assert [len(b) for b in adapter.writes] == [100, 100, 50]
    assert (summary["updated"], summary["failed"]) == (150, 100)


def test_dry_run_writes_nothing_and_records_the_plan():
    adapter = FakeAdapter({**pages(3), "p1": "new"})
    recorder = Recorder()
    summary = BulkRunner(adapter, dry_run=True, recorder=recorder).run(rows(3))
    assert adapter.writes == [] and summary["dry_run"] is True
    assert summary["changes"] == {"p0": {"value": {"old": "old", "new": "new"}}, "p1": {},
                                  "p2": {"value": {"old": "old", "new": "new"}}}
    assert [(key, status) for key, status, _c, _e in recorder.lines] == [("p0", "planned"), ("p2", "planned")]


def test_the_recorder_gets_every_applied_and_failed_page_with_its_diff():
    adapter = FakeAdapter({"p0": "old", "p2": "old"})  # p1 did not exist: its diff has no "old"
    adapter.write_errors["p2"] = CMSServerError("boom", status_code=500)
    recorder = Recorder()
    BulkRunner(adapter, recorder=recorder, max_failures=1).run(rows(3))
    assert [line[:3] for line in recorder.lines] == [
        ("p0", "applied", {"value": {"old": "old", "new": "new"}}),
        ("p1", "applied", {"value": {"new": "new"}}),
        ("p2", "failed", {"value": {"old": "old", "new": "new"}}),
    ]
    assert [line[3] for line in recorder.lines[:2]] == [None, None] and "boom" in str(recorder.lines[2][3])


def test_without_skipping_or_journal_nothing_is_read():
    adapter = FakeAdapter(pages(3))
    summary = BulkRunner(adapter, skip_unchanged=False).run(rows(3, value="old"))
    assert adapter.reads == [] and summary["updated"] == 3


def test_the_summary_of_ten_thousand_pages_stays_small():
    adapter = FakeAdapter(pages(10_000))
    for n in range(0, 10_000, 20):
        adapter.write_errors[f"p{n}"] = CMSServerError("x" * 5_000, status_code=500)
    runner = BulkRunner(adapter, max_failures=10_000)
    summary = runner.run(rows(10_000))
    assert summary["failed"] == 500 and len(summary["failures"]) == FAILURES_LISTED
    assert len(summary["changed_pages"]) == CHANGED_PAGES_LISTED and summary["changed_pages_truncated"] is True
    assert len(runner.changed) == 9_500
    assert len(json.dumps(summary)) < 256 * 1024


def test_a_dry_run_of_ten_thousand_pages_lists_the_first_diffs_only():
    summary = BulkRunner(FakeAdapter(pages(10_000)), dry_run=True).run(rows(10_000))
    assert len(summary["changes"]) == CHANGES_LISTED and summary["changes_truncated"] is True
    assert len(json.dumps(summary)) < 256 * 1024


def test_one_row_per_page_refuses_a_second_row_for_a_page_naming_both():
    def prepare(index: int, row: Any) -> BulkItem:
        return BulkItem(index=index, key=str(row["id"]), target={}, page={"page_id": row["id"]})

    assert [i.key for i in one_row_per_page([{"id": 1}, {"id": 2}], prepare, "hamgam")] == ["1", "2"]
    with pytest.raises(CMSValidationError) as info:
        one_row_per_page([{"id": 1}, {"id": 2}, {"id": 1}], prepare, "hamgam")
    assert info.value.argument == "updates[2]"
    assert "updates[2] updates the same page as updates[0] (1)" in str(info.value)
