"""The one retry policy of the provider (used by every hook, sync and async).

Retried: connection errors, timeouts, 408, 429, 500, 502, 503, 504, and a 2xx whose body is
unusable (a truncated transfer). Never another 4xx: those cannot succeed by being sent again.
The wait honours ``Retry-After`` (seconds or an HTTP date) because the server knows best when it
will accept us; otherwise exponential backoff with jitter, so many workers retrying at once do
not stampede in lockstep. A call to an endpoint with a slower limit of its own (Webflow's publish:
one per minute) passes ``rate_limit_wait`` to the hook, and a 429 without ``Retry-After`` then
carries that wait as its ``retry_after``: the same policy waits it, instead of spending every
retry on a burst of 429s a second apart.

Two exceptions to "retry":

* a ``Retry-After`` longer than :data:`RETRY_AFTER_CAP` is not waited for at all. ButterCMS
  answers a spent monthly quota with a wait of days; five retries at the cap would block a task
  for ten minutes per call and then fail anyway. The error is raised at once, carrying the
  server's wait (``retry_after``), and a bulk run stops there.
* a call that is not idempotent (Hamgam's create) is never repeated blindly: when its outcome is
  unknown (the answer was lost), the hook first reads whether it landed (see
  :func:`outcome_unknown`), and only a read that says "no" allows sending it again.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState

from airflow_provider_pagemeta.exceptions import (
    CMSConnectionError,
    CMSError,
    CMSInvalidResponseError,
    CMSRateLimitError,
    CMSServerError,
)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Statuses whose over-long ``Retry-After`` is reported as a ``CMSRateLimitError``.
RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_AFTER_CAP = 120.0
BACKOFF_BASE = 1.0
BACKOFF_FACTOR = 2.0
BACKOFF_CAP = 30.0


def waits_too_long(exc: BaseException) -> bool:
    """True when the server asked for a wait longer than the provider ever sleeps."""
    return isinstance(exc, CMSError) and exc.retry_after is not None and exc.retry_after > RETRY_AFTER_CAP


def is_retryable(exc: BaseException) -> bool:
    """True for the failures a second attempt can fix."""
    if not isinstance(exc, CMSError) or waits_too_long(exc):
        return False
    if isinstance(exc, CMSInvalidResponseError):
        return True
    if exc.status_code is None:
        return isinstance(exc, CMSConnectionError)
    return exc.status_code in RETRY_STATUSES


def outcome_unknown(exc: BaseException) -> bool:
    """True when a write may or may not have landed: the request left, and no answer said which.

    A 429 (or any other 4xx) says the server refused it; a connection that was never made says it
    never left. A timeout, a dropped connection after sending, a 5xx or a garbled 2xx say nothing.
    """
    if isinstance(exc, CMSConnectionError):
        return exc.request_sent
    if isinstance(exc, CMSRateLimitError):
        return False
    return isinstance(exc, CMSServerError)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), uncapped.

    Unparseable or non-finite values count as absent (the backoff then applies).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value) if value.isascii() else math.nan
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def backoff_seconds(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half of the step is fixed, half random.

    ``attempt`` is the number of the attempt that just failed (1 for the first).
    """
    step = min(BACKOFF_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** max(attempt - 1, 0))
    return step / 2 + rng() * step / 2


def wait_seconds(exc: BaseException | None, attempt: int, rng: Callable[[], float] = random.random) -> float:
    """How long to wait after ``attempt`` failed with ``exc``: its Retry-After, else backoff."""
    if isinstance(exc, CMSError) and exc.retry_after is not None:
        return min(exc.retry_after, RETRY_AFTER_CAP)
    return backoff_seconds(attempt, rng)


def wait_for(state: RetryCallState) -> float:
    """tenacity ``wait`` callable: Retry-After when the server sent one, else backoff."""
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    return wait_seconds(exc, state.attempt_number)


def retry_predicate(state: RetryCallState) -> bool:
    """tenacity ``retry`` callable."""
    outcome = state.outcome
    if outcome is None or not outcome.failed:
        return False
    exc = outcome.exception()
    return exc is not None and is_retryable(exc)
