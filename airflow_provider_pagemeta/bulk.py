"""One bulk engine for thousands of page updates, shared by every bulk operator.

Mapping a single-page operator over 10,000 pages costs Airflow 10,000 task instances and the CMS
10,000 writes, most of them wasted on pages that already match. The engine does the work in one
task instead: validate every row before the first request (a bad row fails the task at once,
naming it), read current values as cheaply as the CMS allows, skip pages that already match,
write the rest paced to the CMS's rate limit, keep going past per-page failures, and report.

Because unchanged pages are skipped, a retried task re-applies only what is still different:
resuming after a crash costs no duplicate writes.

The CMS-specific parts live in an :class:`BulkAdapter` next to each CMS's operators; this module
knows nothing about any CMS.
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_pagemeta.core.pacing import RateLimitPacer
from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSError, CMSValidationError

Diff = dict[str, dict[str, Any]]


@dataclass
class BulkItem:
    """One validated row: ``key`` names the page in reports; ``target`` is what to write."""

    index: int
    key: str
    target: dict[str, Any]
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteResult:
    """What a batch write reports per item: an error (or None for success)."""

    item: BulkItem
    error: CMSError | None = None


class BulkAdapter(Protocol):
    """The CMS-specific half of a bulk run."""

    #: Short CMS name for logs.
    cms: str

    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        """Validate every row and turn it into an item; raise ``CMSValidationError`` naming the
        first bad row (``updates[3].page_id: ...``) before any request."""
        ...

    def read_current(self, items: Sequence[BulkItem]) -> Iterator[tuple[BulkItem, Any, CMSError | None]]:
        """Yield ``(item, current_state, error)`` for each item, reading as cheaply as possible."""
        ...

    def diff(self, item: BulkItem, current: Any) -> Diff:
        """Fields of ``item.target`` that differ from ``current`` (``{field: {"old", "new"}}``)."""
        ...

    def write(self, items: Sequence[BulkItem]) -> Iterator[WriteResult]:
        """Write the items (one request each, or batched) and yield a result per item."""
        ...

    def requests_sent(self) -> int:
        """HTTP requests sent so far (retries included)."""
        ...


class BulkFailedError(CMSError):
    """More pages failed than ``max_failures`` allows. Raised after every page was attempted.

    Not an ``AirflowFailException``: an Airflow retry re-reads and re-applies only what is still
    different, so retrying a bulk task is cheap and safe.
    """

    def __init__(self, message: str, *, summary: dict[str, Any], cms: str | None = None) -> None:
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
    """Mutable tally of a run; :meth:`summary` is the contract's XCom."""

    total: int
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    diffs: dict[str, Diff] = field(default_factory=dict)

    def fail(self, item: BulkItem, error: CMSError) -> None:
        entry: dict[str, Any] = {"page": item.key, "row": item.index, "error": str(error)}
        if error.status_code is not None:
            entry["status_code"] = error.status_code
        self.failures.append(entry)

    def summary(self, requests: int, dry_run: bool) -> dict[str, Any]:
        result: dict[str, Any] = {
            "total": self.total,
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "failed": len(self.failures),
            "skipped": len(self.skipped),
            "failures": self.failures,
            "requests": requests,
            "changed_pages": list(self.updated),
        }
        if dry_run:
            result["dry_run"] = True
            result["changes"] = self.diffs
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
    ) -> None:
        self.adapter = adapter
        self.pacer = pacer
        self.skip_unchanged = skip_unchanged
        self.dry_run = dry_run
        self.max_failures = max_failures
        self.log = log or (lambda *args: None)
        self.progress_seconds = progress_seconds

    def run(self, rows: Sequence[Any]) -> dict[str, Any]:
        items = self.adapter.prepare(rows)
        outcome = BulkOutcome(total=len(items))
        self.log("%s bulk update: %d page(s)%s", self.adapter.cms, len(items), " (dry run)" if self.dry_run else "")
        spread_before = self.pacer.spread if self.pacer else False
        if self.pacer:
            self.pacer.spread = True  # even spacing: a long run never meets a 429 in steady state
        try:
            to_write = self._plan(items, outcome)
            if not self.dry_run and to_write is not None:
                self._write(to_write, outcome)
        finally:
            if self.pacer:
                self.pacer.spread = spread_before
        summary = outcome.summary(self.adapter.requests_sent(), self.dry_run)
        self._log_summary(summary)
        if len(outcome.failures) > self.max_failures:
            raise BulkFailedError(
                f"{len(outcome.failures)} of {len(items)} page(s) failed (max_failures={self.max_failures}); "
                f"first: {outcome.failures[0]['page']}: {outcome.failures[0]['error']}",
                summary=summary,
                cms=self.adapter.cms,
            )
        return summary

    def _plan(self, items: list[BulkItem], outcome: BulkOutcome) -> list[BulkItem] | None:
        """Read current values (when skipping or dry-running) and keep only what differs.

        Returns None when an auth failure stopped the run (nothing more is attempted)."""
        if not (self.skip_unchanged or self.dry_run):
            return items
        to_write: list[BulkItem] = []
        seen: set[int] = set()
        for item, current, error in self.adapter.read_current(items):
            seen.add(item.index)
            if error is not None:
                outcome.fail(item, error)
                if isinstance(error, CMSAuthError):
                    outcome.skipped.extend(i.key for i in items if i.index not in seen)
                    self._log_auth_stop(len(outcome.skipped))
                    return None
                continue
            changes = self.adapter.diff(item, current)
            if self.dry_run:
                outcome.diffs[item.key] = changes
            if changes or not self.skip_unchanged:
                to_write.append(item)
            else:
                outcome.unchanged.append(item.key)
        if self.dry_run:
            for item in to_write:
                self._log_diff(item.key, outcome.diffs.get(item.key, {}))
        return to_write

    def _write(self, items: list[BulkItem], outcome: BulkOutcome) -> None:
        progress = Progress(len(items), self.log, every_seconds=self.progress_seconds,
                            label=f"{self.adapter.cms} writes")
        attempted: set[int] = set()
        for result in self.adapter.write(items):
            attempted.add(result.item.index)
            if result.error is None:
                outcome.updated.append(result.item.key)
                progress.step()
                continue
            outcome.fail(result.item, result.error)
            progress.step(failed=True)
            if isinstance(result.error, CMSAuthError):
                # Every later request would fail the same way: stop, count the rest as skipped.
                outcome.skipped.extend(i.key for i in items if i.index not in attempted)
                self._log_auth_stop(len(outcome.skipped))
                break

    def _log_auth_stop(self, skipped: int) -> None:
        self.log("%s: authentication failed; stopping, %d page(s) not attempted", self.adapter.cms, skipped)

    def _log_diff(self, key: str, changes: Diff) -> None:
        for name, change in changes.items():
            self.log("dry run %s: %s: %r -> %r", key, name, change.get("old"), change.get("new"))

    def _log_summary(self, summary: dict[str, Any]) -> None:
        self.log(
            "%s bulk update summary: total=%d updated=%d unchanged=%d failed=%d skipped=%d requests=%d",
            self.adapter.cms, summary["total"], summary["updated"], summary["unchanged"], summary["failed"],
            summary["skipped"], summary["requests"],
        )
        for failure in summary["failures"][:20]:
            self.log("  failed %s: %s", failure["page"], failure["error"])
        if len(summary["failures"]) > 20:
            self.log("  ... and %d more failures", len(summary["failures"]) - 20)


def chunked(items: Sequence[BulkItem], size: int) -> Iterator[Sequence[BulkItem]]:
    """Consecutive slices of at most ``size`` items (bulk endpoints cap their batch size)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_from(updates: Any, argument: str = "updates") -> list[Any]:
    """The rows of a bulk operator's ``updates`` after templating.

    An XComArg arrives as the upstream task's list; a Jinja template renders to a string, which
    is read as JSON (or a Python literal, what ``{{ ... }}`` of a list gives).
    """
    if isinstance(updates, str):
        text = updates.strip()
        try:
            updates = json.loads(text)
        except ValueError:
            try:
                updates = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise CMSValidationError(
                    f"{argument} rendered to a string that is neither JSON nor a Python list: {text[:80]!r}",
                    argument=argument,
                ) from None
    if isinstance(updates, tuple):
        updates = list(updates)
    if not isinstance(updates, list):
        raise CMSValidationError(
            f"{argument} must be a list of dicts, got {type(updates).__name__}", argument=argument
        )
    return updates


def non_negative_int(value: Any, argument: str, cms: str | None = None) -> int:
    """``max_failures`` and friends: a whole number >= 0 (a rendered digit string is accepted)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CMSValidationError(f"{argument} must be a whole number >= 0, got {value!r}", argument=argument, cms=cms)
    return value
