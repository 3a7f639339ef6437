"""The shapes of what the provider returns and emits: XComs, trigger events, journal entries.

They are plain JSON (XComs and trigger events must be), described here as ``TypedDict`` so a
reader, mypy and a DAG author see the same keys.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

# Optional keys are declared in a ``total=False`` subclass (``NotRequired`` needs Python 3.11).


class _PageResult(TypedDict):
    page_type: str
    page_slug: str
    status: Literal["pending", "success", "timeout", "error"]
    differing: list[str]
    message: str


class PageResult(_PageResult, total=False):
    """One page of a ButterCMS wait (``page``: the confirmed page, while the wait runs)."""

    page: Any


class _PagesEvent(TypedDict):
    status: Literal["success", "timeout", "error"]
    page_type: str
    page_slug: str
    differing: list[str]
    message: str
    pages: list[PageResult]


class PagesEvent(_PagesEvent, total=False):
    """What a ButterCMS wait ends with, in place or in the triggerer (the trigger's event payload).

    The top-level ``page_type``/``page_slug``/``differing`` describe the first page that did not
    succeed (or the first page when all did); ``pages`` lists every page; ``page`` is the confirmed
    page of a single-page wait.
    """

    page: Any


class _BulkFailure(TypedDict):
    page: str
    row: int
    error: str


class BulkFailure(_BulkFailure, total=False):
    """One page that failed in a bulk run (the error is redacted and bounded)."""

    status_code: int


class _BulkSummary(TypedDict):
    total: int
    updated: int
    unchanged: int
    failed: int
    skipped: int
    failures: list[BulkFailure]
    requests: int
    changed_pages: list[str]


class BulkSummary(_BulkSummary, total=False):
    """A bulk operator's XCom. Small whatever the run's size: per-page detail lives in the journal.

    ``failures`` lists the first failures only (``failed`` counts them all); ``changed_pages`` the
    first changed pages (``updated`` counts them all; ``changed_pages_truncated`` says when cut).
    """

    changed_pages_truncated: bool
    dry_run: bool
    changes: dict[str, dict[str, dict[str, Any]]]
    changes_truncated: bool
    confirmed: int
    journal: str | None


#: What a journal entry says happened to its page.
JournalStatus = Literal["applied", "failed", "planned"]


class _JournalEntry(TypedDict):
    cms: str
    page: dict[str, Any]
    changes: dict[str, dict[str, Any]]
    status: JournalStatus
    error: str | None
    at: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    conn_id: str | None


class JournalEntry(_JournalEntry, total=False):
    """One line of a change journal (JSON Lines): what one task did, or would do, to one page.

    ``page`` identifies the page as its CMS does (Webflow ``{"page_id", "locale_id"}``, ButterCMS
    ``{"page_type", "page_slug", "locale"}``, Hamgam and Buildin ``{"page_id"}``). ``changes`` maps
    a dotted field path to ``{"old", "new"}``; ``old`` is the value read before the write and is
    left out (not null) when the value did not exist. ``map_index`` is Airflow's (-1: not mapped).
    ``try_number`` says which try of the task wrote the line (a retry appends to the same file);
    ``cms_options`` holds what a restore must repeat to write the page the same way (ButterCMS:
    ``status`` and ``by_locale``; Webflow: the ``site_id`` the pages were listed from).
    """

    try_number: int
    cms_options: dict[str, Any]
