"""One bulk engine for thousands of page updates, shared by every bulk operator; it knows no CMS.

Mapping a single-page operator over 10,000 pages costs Airflow 10,000 task instances and the CMS
10,000 writes, most of them wasted on pages that already match. The engine does the work in one
task instead: validate every row before the first request (a bad row fails the task at once,
naming it), read current values as cheaply as the CMS allows (``prefetch``), skip pages that
already match, write the rest paced to the CMS's rate limit, keep going past per-page failures,
and report.

Because unchanged pages are skipped, a retried task re-applies only what is still different:
resuming after a crash costs no duplicate writes.

What stops a run early: an authentication failure (401/403) or a server asking for a wait longer
than the provider ever sleeps (a spent monthly quota), since every later request would meet it
too; the pages not attempted count as ``skipped``. Anything else that goes wrong with one page,
including an exception that is not a CMS error at all, is that page's failure, and the run goes on.

The CMS-specific half is a :class:`BulkAdapter` in ``bulk/<cms>.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_pagemeta.core.errors import bounded
from airflow_provider_pagemeta.core.pacing import RateLimitPacer
from airflow_provider_pagemeta.core.retry import waits_too_long
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSError
from airflow_provider_pagemeta.types import BulkFailure, BulkSummary

Diff = dict[str, dict[str, Any]]

#: Failures listed in a summary (``failed`` counts them all; the journal has every one).
FAILURES_LISTED = 20
#: Changed page keys listed in a summary: 10,000 Webflow ids would be ~270 KB of XCom.
CHANGED_PAGES_LISTED = 1000
#: Pages whose planned diff a dry run's summary shows (the journal has every one).
CHANGES_LISTED = 100


@dataclass
class BulkItem:
    """One validated row: ``key`` names the page in reports; ``target`` is what to write;
    ``page`` identifies the page as the CMS does (for the journal); ``spec`` is adapter data;
    ``options`` is what a restore must repeat to write the page the same way (the journal's
    ``cms_options``: a ButterCMS status, say)."""

    index: int
    key: str
    target: dict[str, Any]
    spec: dict[str, Any] = field(default_factory=dict)
    page: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedWrite:
    """A page to write: its item, what was read (None when nothing was read) and the diff."""

    item: BulkItem
    current: Any
    changes: Diff


@dataclass
class WriteResult:
    """What a write reports per item: an error (None for success) and, when they differ from the
    planned diff, the changes that landed (re-diffed after a conflict, or the part written
    before a failure). A success whose ``changes`` is ``{}`` (not None) means the page turned out
    to match already when it was written (someone made the same change in between): it counts
    as unchanged, not updated."""

    item: BulkItem
    error: BaseException | None = None
    changes: Diff | None = None


class BulkAdapter(Protocol):
    """The CMS-specific half of a bulk run."""

    #: Short CMS name for logs and the journal.
    cms: str
    @property
    def write_batch_size(self) -> int:
        """Pages per write call (1: one request per page; Webflow's bulk endpoint takes 100)."""
        ...

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        """Validate every row; raise ``CMSValidationError`` naming the first bad one
        (``updates[3].page_id: ...``) before any request."""
        ...

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        """Read many pages at once where the CMS allows (a listing); may do nothing."""
        ...

    def read(self, item: BulkItem) -> Any:
        """The page's current state (from the prefetch, or one read)."""
        ...

    def diff(self, item: BulkItem, current: Any) -> Diff:
        """Fields of the target that differ from ``current`` (``{field: {"old", "new"}}``; a field
        that did not exist has no ``"old"`` key)."""
        ...

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        """Write a batch; a result per item. Raising fails the whole batch."""
        ...

    def requests_sent(self) -> int:
        """HTTP requests sent so far (retries included)."""
        ...

    def redact(self, text: str) -> str:
        """``text`` with the connection's secrets masked."""
        ...


class BulkRecorder(Protocol):
    """Where each page's outcome goes as it happens (the change journal)."""

    def record(self, item: BulkItem, status: str, changes: Diff, error: str | None = None) -> None: ...


class BulkFailedError(CMSError):
    """More pages failed than ``max_failures`` allows. Raised after every page was attempted.

    Not an ``AirflowFailException``: an Airflow retry re-reads and re-applies only what is still
    different, so retrying a bulk task is cheap and safe.
    """

    def __init__(self, message: str, *, summary: BulkSummary, cms: str | None = None) -> None:
        super().__init__(message, cms=cms, call="bulk update")
        self.summary = summary


class Progress:
    """Logs done/total, pages per minute, ETA and failures at least every 10% or 30 s."""

    def __init__(
        self,
        total: int,
        log: Callable[..., None],
        *,
        every_fraction: float = 0.1,
        every_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        label: str = "bulk update",
    ) -> None:
        self.total = total
        self.log = log
        self.clock = clock
        self.label = label
        self.every_count = max(1, int(total * every_fraction))
        self.every_seconds = every_seconds
        self.started = clock()
        self._last_time = self.started
        self._last_done = 0
        self.done = 0
        self.failed = 0

    def step(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += int(failed)
        now = self.clock()
        due = self.done - self._last_done >= self.every_count or now - self._last_time >= self.every_seconds
        if due or self.done == self.total:
            self._report(now)

    def _report(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed * 60
        left = self.total - self.done
        eta = left / (self.done / elapsed) if self.done else float("inf")
        self.log(
            "%s: %d/%d pages (%.0f%%), %.0f pages/min, ETA %s, %d failed so far",
            self.label, self.done, self.total, 100 * self.done / max(self.total, 1), rate,
            _fmt_eta(eta), self.failed,
        )
        self._last_time = now
        self._last_done = self.done


def _fmt_eta(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@dataclass
class BulkOutcome:
    """Mutable tally of a run; :meth:`summary` is the contract's (bounded) XCom."""

    total: int
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: int = 0
    failures: list[BulkFailure] = field(default_factory=list)
    skipped: int = 0
    diffs: dict[str, Diff] = field(default_factory=dict)
    planned: int = 0
    stop_reason: str | None = None

    def fail(self, item: BulkItem, error: str, status_code: int | None) -> None:
        self.failed += 1
        if len(self.failures) < FAILURES_LISTED:
            entry: BulkFailure = {"page": item.key, "row": item.index, "error": error}
            if status_code is not None:
                entry["status_code"] = status_code
            self.failures.append(entry)

    def summary(self, requests: int, dry_run: bool) -> BulkSummary:
        result: BulkSummary = {
            "total": self.total,
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "failed": self.failed,
            "skipped": self.skipped,
            "failures": list(self.failures),
            "requests": requests,
            "changed_pages": self.updated[:CHANGED_PAGES_LISTED],
        }
        if len(self.updated) > CHANGED_PAGES_LISTED:
            result["changed_pages_truncated"] = True
        if dry_run:
            result["dry_run"] = True
            result["changes"] = dict(self.diffs)
            if self.planned + self.unchanged > len(self.diffs):
                result["changes_truncated"] = True
        return result


class BulkRunner:
    """Runs one bulk update through an adapter. See the module docstring for the why."""

    def __init__(
        self,
        adapter: BulkAdapter,
        *,
        skip_unchanged: bool = True,
        dry_run: bool = False,
        max_failures: int = 0,
        log: Callable[..., None] | None = None,
        progress_seconds: float = 30.0,
        pacer: RateLimitPacer | None = None,
        recorder: BulkRecorder | None = None,
    ) -> None:
        self.adapter = adapter
        self.pacer = pacer
        self.skip_unchanged = skip_unchanged
        self.dry_run = dry_run
        self.max_failures = max_failures
        self.log = log or (lambda *args: None)
        self.progress_seconds = progress_seconds
        self.recorder = recorder
        #: Every page that changed, in order (the summary lists only the first ones).
        self.changed: list[str] = []
        #: The validated items of the last run (so an operator need not validate its rows twice).
        self.items: list[BulkItem] = []

    @property
    def reads_needed(self) -> bool:
        """Reads are skipped only when nothing needs the current values: no skipping, no dry run,
        and no journal to record the old values in."""
        return self.skip_unchanged or self.dry_run or self.recorder is not None

    def run(self, rows: Sequence[Any]) -> BulkSummary:
        self.items = items = self.adapter.prepare(rows)
        outcome = BulkOutcome(total=len(items))
        self.log("%s bulk update: %d page(s)%s", self.adapter.cms, len(items), " (dry run)" if self.dry_run else "")
        spread_before = self.pacer.spread if self.pacer else False
        if self.pacer:
            self.pacer.spread = True  # even spacing: a long run never meets a 429 in steady state
        try:
            self._run(items, outcome)
        finally:
            if self.pacer:
                self.pacer.spread = spread_before
        self.changed = list(outcome.updated)
        summary = outcome.summary(self.adapter.requests_sent(), self.dry_run)
        self._log_summary(summary, outcome)
        if outcome.failed > self.max_failures:
            first = outcome.failures[0]
            raise BulkFailedError(
                f"{outcome.failed} of {len(items)} page(s) failed (max_failures={self.max_failures}); "
                f"first: {first['page']}: {first['error']}",
                summary=summary,
                cms=self.adapter.cms,
            )
        return summary

    # ------------------------------------------------------------------ the run
    def _run(self, items: list[BulkItem], outcome: BulkOutcome) -> None:
        """Plan every page (read, diff), then write what differs: the counts of a run that stops
        early then say exactly which pages were left unwritten."""
        planned = self._plan_all(items, outcome)
        if self.dry_run or not planned:
            return
        size = max(1, self.adapter.write_batch_size)
        progress = self._progress(len(planned), "writes")
        for start in range(0, len(planned), size):
            if outcome.stop_reason is not None:
                self._skip_rest(len(planned) - start, outcome)
                return
            self._flush(planned[start : start + size], outcome, progress)

    def _plan_all(self, items: list[BulkItem], outcome: BulkOutcome) -> list[PlannedWrite]:
        if not self.reads_needed:
            return [PlannedWrite(item, None, {}) for item in items]
        progress = self._progress(len(items), "reads")
        stop = self._prefetch(items)
        if stop is not None and items:  # every single read would meet it too: the first page fails, no more
            self._failed(items[0], stop, {}, outcome)
            progress.step(failed=True)
            self._skip_rest(len(items) - 1, outcome)
            return []
        planned: list[PlannedWrite] = []
        for position, item in enumerate(items):
            if outcome.stop_reason is not None:
                self._skip_rest(len(items) - position, outcome)
                return []
            write = self._plan(item, outcome, progress)
            if write is not None:
                planned.append(write)
        return planned

    def _progress(self, total: int, what: str) -> Progress:
        return Progress(total, self.log, every_seconds=self.progress_seconds, label=f"{self.adapter.cms} {what}")

    def _prefetch(self, items: list[BulkItem]) -> BaseException | None:
        """Read in bulk; returns the error when it stops the run (auth, a spent quota)."""
        try:
            self.adapter.prefetch(items)
        except Exception as exc:
            if isinstance(exc, CMSAuthError) or waits_too_long(exc):
                return exc
            # Anything else: the single reads will say what is wrong, page by page.
            self.log("%s: reading pages in bulk failed (%s); reading them one by one",
                     self.adapter.cms, self._describe(exc))
        return None

    def _plan(self, item: BulkItem, outcome: BulkOutcome, progress: Progress) -> PlannedWrite | None:
        """Read and diff one page; None when there is nothing to write (or it failed)."""
        try:
            current = self.adapter.read(item)
            changes = self.adapter.diff(item, current)
        except Exception as exc:
            self._failed(item, exc, {}, outcome)
            progress.step(failed=True)
            return None
        if self.dry_run and len(outcome.diffs) < CHANGES_LISTED:
            outcome.diffs[item.key] = changes  # unchanged pages too: "{}" says it was read and matches
        if not changes and (self.skip_unchanged or self.dry_run):
            outcome.unchanged += 1
            progress.step()
            return None
        if self.dry_run:
            outcome.planned += 1
            self._log_diff(item.key, changes)
            self._record(item, "planned", changes)
            progress.step()
            return None
        progress.step()
        return PlannedWrite(item, current, changes)

    def _flush(self, batch: list[PlannedWrite], outcome: BulkOutcome, progress: Progress) -> None:
        if not batch:
            return
        try:
            results = self.adapter.write(batch)
        except Exception as exc:  # the whole call failed: every page of it did
            results = [WriteResult(planned.item, exc) for planned in batch]
        planned_by_index = {planned.item.index: planned for planned in batch}
        for result in results:
            planned = planned_by_index.pop(result.item.index)
            changes = result.changes if result.changes is not None else planned.changes
            if result.error is None and result.changes == {}:
                outcome.unchanged += 1  # matched by the time it was written: nothing was changed
                progress.step()
            elif result.error is None:
                outcome.updated.append(result.item.key)
                self._record(result.item, "applied", changes)
                progress.step()
            else:
                self._failed(result.item, result.error, changes, outcome)
                progress.step(failed=True)
        for planned in planned_by_index.values():  # an adapter stopped early (an auth failure): not attempted
            outcome.skipped += 1
            self.log("%s: %s not attempted; counted as skipped", self.adapter.cms, planned.item.key)

    def _failed(self, item: BulkItem, exc: BaseException, changes: Diff, outcome: BulkOutcome) -> None:
        message = self._describe(exc)
        outcome.fail(item, message, exc.status_code if isinstance(exc, CMSError) else None)
        self._record(item, "failed", changes, message)
        if outcome.stop_reason is None and isinstance(exc, CMSAuthError):
            outcome.stop_reason = "authentication failed"
        elif outcome.stop_reason is None and waits_too_long(exc):
            outcome.stop_reason = f"the server asks to wait {exc.retry_after:.0f} s"  # type: ignore[attr-defined]

    def _skip_rest(self, count: int, outcome: BulkOutcome) -> None:
        outcome.skipped += count
        self.log("%s: %s; stopping, %d page(s) not attempted", self.adapter.cms, outcome.stop_reason, count)

    # ------------------------------------------------------------------ reporting
    def _describe(self, exc: BaseException) -> str:
        text = str(exc) if isinstance(exc, CMSError) else f"{type(exc).__name__}: {exc}"
        return bounded(self.adapter.redact(text))

    def _record(self, item: BulkItem, status: str, changes: Diff, error: str | None = None) -> None:
        if self.recorder is not None:
            self.recorder.record(item, status, changes, error)

    def _log_diff(self, key: str, changes: Diff) -> None:
        for name, change in changes.items():
            self.log("dry run %s: %s: %s -> %r", key, name,
                     repr(change["old"]) if "old" in change else "(none)", change.get("new"))

    def _log_summary(self, summary: BulkSummary, outcome: BulkOutcome) -> None:
        self.log(
            "%s bulk update summary: total=%d updated=%d unchanged=%d failed=%d skipped=%d requests=%d",
            self.adapter.cms, summary["total"], summary["updated"], summary["unchanged"], summary["failed"],
            summary["skipped"], summary["requests"],
        )
        for failure in summary["failures"]:
            self.log("  failed %s: %s", failure["page"], failure["error"])
        if outcome.failed > len(summary["failures"]):
            more = outcome.failed - len(summary["failures"])
            self.log("  ... and %d more failures (every one is in the journal)", more)


def write_each(batch: Sequence[PlannedWrite], write_one: Callable[[PlannedWrite], Diff | None]) -> list[WriteResult]:
    """Write a batch one page at a time: a CMS error is that page's result, and an auth failure
    ends the batch there (the engine counts the rest as not attempted and stops the run).
    ``write_one`` may return the changes that landed when they differ from the planned diff."""
    results: list[WriteResult] = []
    for planned in batch:
        try:
            landed = write_one(planned)
        except CMSError as exc:
            results.append(WriteResult(planned.item, exc))
            if isinstance(exc, CMSAuthError):
                break
            continue
        results.append(WriteResult(planned.item, changes=landed))
    return results


def one_row_per_page(
    rows: Sequence[Any], prepare_row: Callable[[int, Any], BulkItem], cms: str
) -> list[BulkItem]:
    """Validate every row (``prepare_row(index, row)``) and refuse two rows for the same page:
    their writes would race, and the second's diff would be made on a page the first changes."""
    items: list[BulkItem] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        item = prepare_row(index, row)
        page = str(item.page.get("page_id", item.key))
        if page in seen:
            raise invalid(f"updates[{index}] updates the same page as updates[{seen[page]}] ({page}); "
                          "merge the two rows", f"updates[{index}]", cms)
        seen[page] = index
        items.append(item)
    return items


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items (bulk endpoints cap their batch size)."""
    return [items[start : start + size] for start in range(0, len(items), size)]
