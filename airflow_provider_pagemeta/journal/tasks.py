"""The one place operators meet the journal, so every writing operator journals the same way.

- a bulk operator replaces ``runner.run(rows)`` by ``run_journaled(self, context, runner, rows,
  conn_id=...)``: the engine then records each page as it happens, and the summary gains
  ``"journal"``;
- a single-page operator wraps its read-and-write in ``with journal_page(...) as record:`` and
  sets ``record.changes`` once it knows them: on success the page is journaled as ``applied``
  (``planned`` in a dry run), on an exception as ``failed`` with the error.

Both read the operator's templated ``journal`` argument (``True``: the configured location,
``False``: none, a string: a directory URI) and check it before any request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_pagemeta.core.errors import bounded
from airflow_provider_pagemeta.exceptions import CMSError
from airflow_provider_pagemeta.journal.location import identity_from, journal_uri, resolve_setting
from airflow_provider_pagemeta.journal.writer import JournalWriter

if TYPE_CHECKING:
    from airflow_provider_pagemeta.bulk.engine import BulkRunner, Diff
    from airflow_provider_pagemeta.types import BulkSummary

#: Rows of the Markdown report a bulk task logs at its end.
LOG_REPORT_ROWS = 20


def open_writer(operator: Any, context: Mapping[str, Any] | None, setting: Any = None) -> JournalWriter | None:
    """The task try's journal writer, or None when journaling is off. ``setting`` defaults to the
    operator's ``journal`` argument."""
    value = getattr(operator, "journal", True) if setting is None else setting
    directory = resolve_setting(value, "journal")
    if directory is None:
        return None
    identity = identity_from(context, operator)
    writer = JournalWriter(journal_uri(directory, identity), identity)
    _log(operator, "Change journal: %s", writer.uri)
    return writer


def close_writer(operator: Any, writer: JournalWriter | None, *, failed: bool = False, report: bool = False) -> None:
    """Close (upload) a writer and say in the log what it holds."""
    if writer is None:
        return
    writer.close(create=not failed or writer.total > 0)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(writer.counts.items())) or "no page changed"
    _log(operator, "Change journal %s: %s", writer.uri, counts)
    if report and writer.head:
        from airflow_provider_pagemeta.journal.report import render_report

        note = f" (first {len(writer.head)} of {writer.total} entries)" if writer.total > len(writer.head) else ""
        _log(operator, "Change report%s:\n%s", note, render_report(writer.head, max_rows=LOG_REPORT_ROWS))


def run_journaled(
    operator: Any, context: Mapping[str, Any] | None, runner: BulkRunner, rows: Sequence[Any], *, conn_id: str | None
) -> BulkSummary:
    """``runner.run(rows)`` with the operator's journal: every page recorded as it happens, the
    journal closed (uploaded) however the run ends, ``"journal"`` added to the summary (also to
    the summary a ``BulkFailedError`` carries)."""
    from airflow_provider_pagemeta.bulk.engine import BulkFailedError

    writer = open_writer(operator, context)
    if writer is not None:
        runner.recorder = writer.recorder(runner.adapter.cms, conn_id)
    uri = writer.uri if writer is not None else None
    failed = True
    try:
        summary = runner.run(rows)
        failed = False
    except BulkFailedError as exc:
        exc.summary["journal"] = uri
        failed = False  # every page was attempted: the journal is complete
        raise
    finally:
        close_writer(operator, writer, failed=failed, report=True)
    summary["journal"] = uri
    return summary


@dataclass
class PageRecord:
    """What a single-page operator tells the journal about its page.

    ``changes``: the planned diff, set once known; ``landed``: when a write failed part way, the
    part that did land (journaled as ``applied``, the rest as ``failed``); ``uri``: the journal's
    URI (None when off), for the operator's result.
    """

    uri: str | None
    changes: Diff = field(default_factory=dict)
    landed: Diff | None = None
    options: dict[str, Any] = field(default_factory=dict)


@contextmanager
def journal_page(
    operator: Any,
    context: Mapping[str, Any] | None,
    *,
    cms: str,
    conn_id: str | None,
    page: Mapping[str, Any],
    dry_run: bool = False,
    hook: Any = None,
) -> Iterator[PageRecord]:
    """Journal one page: ``planned`` (dry run) or ``applied`` when the block ends normally with
    changes, ``failed`` when it raises (the error redacted with ``hook``'s secrets). A block that
    ends with no change writes no line."""
    writer = open_writer(operator, context)
    record = PageRecord(uri=writer.uri if writer is not None else None)
    failed = False
    try:
        yield record
    except BaseException as exc:
        if isinstance(exc, Exception):  # not a deferral (TaskDeferred): the write did not happen
            failed = True
            if writer is not None:
                redact = hook.redactor.text if hook is not None else None
                _write_failure(writer, record, cms, conn_id, page, describe(exc, redact))
        elif writer is not None:
            _write_success(writer, record, cms, conn_id, page, dry_run)
        raise
    else:
        if writer is not None:
            _write_success(writer, record, cms, conn_id, page, dry_run)
    finally:
        close_writer(operator, writer, failed=failed)


def _write_success(writer: JournalWriter, record: PageRecord, cms: str, conn_id: str | None,
                   page: Mapping[str, Any], dry_run: bool) -> None:
    if record.changes:
        writer.write(cms, page, record.changes, "planned" if dry_run else "applied", conn_id=conn_id,
                     options=record.options)


def _write_failure(writer: JournalWriter, record: PageRecord, cms: str, conn_id: str | None,
                   page: Mapping[str, Any], error: str) -> None:
    landed = record.landed or {}
    if landed:
        writer.write(cms, page, landed, "applied", conn_id=conn_id, options=record.options)
    rest = {name: change for name, change in record.changes.items() if name not in landed}
    if rest or not landed:
        writer.write(cms, page, rest, "failed", error=error, conn_id=conn_id, options=record.options)


def describe(exc: BaseException, redact: Callable[[str], str] | None = None) -> str:
    """An exception as a journal's ``error``: redacted, then cut (the engine's rule)."""
    text = str(exc) if isinstance(exc, CMSError) else f"{type(exc).__name__}: {exc}"
    return bounded(redact(text) if redact is not None else text)


def _log(operator: Any, message: str, *args: Any) -> None:
    log = getattr(operator, "log", None)
    if log is not None:
        log.info(message, *args)
