"""The one retry policy of the provider (used by every hook, sync and async).

Retried: connection errors, timeouts, 408, 429, 500, 502, 503, 504, and a 2xx whose body is
unusable (a truncated transfer). Never another 4xx: those cannot succeed by being sent again.
The wait honours ``Retry-After`` (seconds or an HTTP date, capped at 120 s) because the server
knows best when it will accept us; otherwise exponential backoff with jitter, so many workers
retrying at once do not stampede in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState

from airflow_provider_pagemeta.exceptions import CMSConnectionError, CMSError, CMSInvalidResponseError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 120.0
BACKOFF_BASE = 1.0
BACKOFF_FACTOR = 2.0
BACKOFF_CAP = 30.0


def is_retryable(exc: BaseException) -> bool:
    """True for the failures a second attempt can fix."""
    if not isinstance(exc, CMSError):
        return False
    if isinstance(exc, CMSInvalidResponseError):
        return True
    if exc.status_code is None:
        return isinstance(exc, CMSConnectionError)
    return exc.status_code in RETRY_STATUSES


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def backoff_seconds(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half of the step is fixed, half random.

    ``attempt`` is the number of the attempt that just failed (1 for the first).
    """
    step = min(BACKOFF_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** max(attempt - 1, 0))
    return step / 2 + rng() * step / 2


def wait_for(state: RetryCallState) -> float:
    """tenacity ``wait`` callable: Retry-After when the server sent one, else backoff."""
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    if isinstance(exc, CMSError) and exc.retry_after is not None:
        return exc.retry_after
    return backoff_seconds(state.attempt_number)


def retry_predicate(state: RetryCallState) -> bool:
    """tenacity ``retry`` callable."""
    outcome = state.outcome
    if outcome is None or not outcome.failed:
        return False
    exc = outcome.exception()
    return exc is not None and is_retryable(exc)
