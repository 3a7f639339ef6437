"""Appending journal lines as pages are written, so a killed task leaves a journal of what landed.

Each line is written and flushed before the next page is touched: a local journal
(``file://``) is appended in place, so after a ``SIGKILL`` it lists every page whose write had
come back. Object stores cannot append, so there the lines go to a local **spool** (flushed per
page, under the system's temp directory) that is uploaded whole: at the end of each try, on
failure as well as on success, and every :data:`UPLOAD_EVERY` seconds in between. A try that is
killed outright loses at most the lines since the last upload from the object store; its spool
stays on that worker's disk, and the next try on the same worker folds it back in.

A retried task appends to the same file (an object store's copy is downloaded first), and each
line carries its ``try_number``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_pagemeta.journal.location import RunIdentity, is_local, local_path, storage_path

if TYPE_CHECKING:
    from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff
    from airflow_provider_pagemeta.types import JournalEntry

#: Seconds between uploads of an object-store journal while a task runs (bounds what a SIGKILL loses).
UPLOAD_EVERY = 30.0
#: Where object-store spools live: ``<tmp>/pagemeta-journal-spool/<sha256 of the URI>.jsonl``.
SPOOL_DIR = Path(tempfile.gettempdir()) / "pagemeta-journal-spool"
#: Entries a writer keeps in memory for the task log's report.
HEAD_ENTRIES = 50


def now_iso() -> str:
    """UTC, microseconds: lines of one file sort by ``at`` in the order they were written."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _line(entry: Mapping[str, Any]) -> bytes:
    # default=str: a CMS value is JSON already; anything else (a datetime) must not lose the line.
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()


class _LocalSink:
    """Appends in place: the file is the journal."""

    def __init__(self, uri: str) -> None:
        path = local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("ab")

    def append(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()  # in the kernel now: a SIGKILL of this process cannot lose it

    def close(self) -> None:
        self._file.close()


class _SpooledSink:
    """A local spool uploaded whole to an object store (which cannot append)."""

    def __init__(
        self, uri: str, *, upload_every: float = UPLOAD_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.remote = storage_path(uri)
        self.spool = SPOOL_DIR / (hashlib.sha256(uri.encode()).hexdigest() + ".jsonl")
        self.upload_every = upload_every
        self.clock = clock
        self.spool.parent.mkdir(parents=True, exist_ok=True)
        base = self._base()
        self._file: IO[bytes] = self.spool.open("wb")
        self._file.write(base)
        self._file.flush()
        self._dirty = True  # upload once even when nothing is appended: the journal then exists
        self._last_upload = clock()

    def _base(self) -> bytes:
        """What the journal already holds: the object store's copy, or a spool a killed try left
        on this worker when it holds that copy and more (lines that never reached the store)."""
        remote = self.remote.read_bytes() if self.remote.exists() else b""
        if self.spool.exists():
            left = self.spool.read_bytes()
            if left.startswith(remote) and len(left) > len(remote):
                return left
        return remote

    def append(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        self._dirty = True
        if self.clock() - self._last_upload >= self.upload_every:
            self.upload()

    def upload(self) -> None:
        self._file.flush()
        with contextlib.suppress(OSError):  # object stores have no directories; some fsspec filesystems want one
            self.remote.parent.mkdir(parents=True, exist_ok=True)
        self.remote.write_bytes(self.spool.read_bytes())
        self._dirty = False
        self._last_upload = self.clock()

    def close(self) -> None:
        try:
            if self._dirty:
                self.upload()
        finally:
            self._file.close()
        self.spool.unlink(missing_ok=True)  # uploaded: the store has every line


class _BoundRecorder:
    """The bulk engine's :class:`~airflow_provider_pagemeta.bulk.engine.BulkRecorder` for one CMS
    and connection: each page's outcome becomes a journal line as it happens."""

    def __init__(self, writer: JournalWriter, cms: str, conn_id: str | None) -> None:
        self.writer = writer
        self.cms = cms
        self.conn_id = conn_id

    def record(self, item: BulkItem, status: str, changes: Diff, error: str | None = None) -> None:
        self.writer.write(self.cms, item.page, changes, status, error=error, conn_id=self.conn_id,
                          options=item.options)


class JournalWriter:
    """One task try's journal. Use as a context manager, or call :meth:`close`: closing is what
    uploads an object-store journal."""

    def __init__(self, uri: str, identity: RunIdentity, *, upload_every: float = UPLOAD_EVERY,
                 keep: int = HEAD_ENTRIES) -> None:
        self.uri = uri
        self.identity = identity
        self.upload_every = upload_every
        self.counts: Counter[str] = Counter()
        #: The first entries written (for the task log's report; the journal has all of them).
        self.head: list[JournalEntry] = []
        self._keep = keep
        self._sink: _LocalSink | _SpooledSink | None = None
        self._closed = False

    def _open_sink(self) -> _LocalSink | _SpooledSink:
        """Opened on the first line (or on close): a task that fails validation leaves no file."""
        if self._sink is None:
            self._sink = (_LocalSink(self.uri) if is_local(self.uri)
                          else _SpooledSink(self.uri, upload_every=self.upload_every))
        return self._sink

    def write(
        self,
        cms: str,
        page: Mapping[str, Any],
        changes: Mapping[str, Mapping[str, Any]],
        status: str,
        *,
        error: str | None = None,
        conn_id: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> JournalEntry:
        """Append one entry and flush it. ``changes``/``error`` must be token-free already (the
        hooks redact every message they raise; values come from the CMS)."""
        who = self.identity
        entry: JournalEntry = {
            "cms": cms, "page": dict(page), "changes": {k: dict(v) for k, v in changes.items()},
            "status": status,  # type: ignore[typeddict-item]
            "error": error, "at": now_iso(), "dag_id": who.dag_id, "run_id": who.run_id,
            "task_id": who.task_id, "map_index": who.map_index, "conn_id": conn_id,
        }
        if who.try_number is not None:
            entry["try_number"] = who.try_number
        if options:
            entry["cms_options"] = dict(options)
        self._open_sink().append(_line(entry))
        self.counts[status] += 1
        if len(self.head) < self._keep:
            self.head.append(entry)
        return entry

    def recorder(self, cms: str, conn_id: str | None) -> _BoundRecorder:
        return _BoundRecorder(self, cms, conn_id)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def close(self, *, create: bool = True) -> None:
        """Flush and (object stores) upload. ``create``: write the journal even when it holds no
        line, so a run that changed nothing still has a journal saying so."""
        if self._closed:
            return
        self._closed = True
        if self._sink is None and create:
            self._open_sink()
        if self._sink is not None:
            self._sink.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
