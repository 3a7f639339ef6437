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
