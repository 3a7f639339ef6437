"""Client-side pacing from rate-limit headers.

Webflow states its limit in ``X-RateLimit-Limit`` and what is left in ``X-RateLimit-Remaining``
but not the window's length or type (fixed or sliding), so the window comes from the connection
extra ``rate_limit_window``. Two rules:

* when ``Remaining`` reaches 0, the next request waits until the oldest of our last ``Limit``
  requests is a full window old. That is safe for a sliding log (exactly one slot frees) and for
  a fixed window (all of them fell inside it, so its end is no later);
* in ``spread`` mode (bulk runs) requests are sent evenly at ``Limit`` per window, so a long run
  never meets a 429 in steady state and never bursts then stalls. When the server reports less
  budget than our own sends explain (another worker shares the token), the interval stretches to
  spread what is left over the rest of the window.

One pacer is shared by every hook in a process that talks to the same base URL with the same
token, because the CMS counts per token, not per hook object.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

#: Safety margin on the even spacing: clocks and network jitter must not tip a window over.
SPREAD_MARGIN = 1.03
#: We time a window from when we send; the CMS from when the request arrives. Waiting this much
#: longer than a full window covers the network latency in between.
LATENCY_ALLOWANCE = 0.25


class RateLimitPacer:
    """Decides how long to wait before the next request. Thread-safe; never sleeps itself."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self.limit: int | None = None
        self.remaining: int | None = None
        self.spread = False
        self._sent: deque[float] = deque(maxlen=10_000)
        self._next_free = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Reserve a slot for one request; return the seconds to wait before sending it."""
        with self._lock:
            now = self.clock()
            start = max(now, self._blocked_until(now))
            if self.spread and self.limit:
                start = max(start, self._next_free)
                self._next_free = start + self._interval(now)
            self._sent.append(start)
            return max(0.0, start - now)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the limit and the remaining budget from a response's headers."""
        limit = _int_header(headers, "X-RateLimit-Limit")
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        with self._lock:
            if limit is not None and limit > 0:
                self.limit = limit
                if self._sent.maxlen is not None and limit > self._sent.maxlen:
                    self._sent = deque(self._sent, maxlen=limit)
            if remaining is not None:
                self.remaining = remaining

    def _interval(self, now: float) -> float:
        assert self.limit
        base = self.window / self.limit * SPREAD_MARGIN
        if self.remaining is None:
            return base
        ours = sum(1 for t in self._sent if t > now - self.window)
        others = max(0, self.limit - self.remaining - ours)
        if others <= 0:
            return base
        # Someone else spends this token too: share the window with them.
        return base * (self.limit / max(1, self.limit - others))

    def _blocked_until(self, now: float) -> float:
        if self.remaining is None or self.remaining > 0:
            return 0.0
        self.remaining = None  # one wait per report; the next response tells us again
        if self.limit and len(self._sent) >= self.limit:
            return self._sent[-self.limit] + self.window + LATENCY_ALLOWANCE
        return now + self.window + LATENCY_ALLOWANCE


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


_PACERS: dict[str, RateLimitPacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(base_url: str, token: str, window: float) -> RateLimitPacer:
    """The process-wide pacer for one (base URL, token) pair. The token is only hashed."""
    key = hashlib.sha256(f"{base_url}\x00{token}".encode()).hexdigest()
    with _PACERS_LOCK:
        pacer = _PACERS.get(key)
        if pacer is None or pacer.window != window:
            pacer = RateLimitPacer(window)
            _PACERS[key] = pacer
        return pacer


def reset_pacers() -> None:
    """Forget every pacer (tests, and long-lived processes after a config change)."""
    with _PACERS_LOCK:
        _PACERS.clear()
