"""Client-side pacing from rate-limit headers.

Webflow states its limit in ``X-RateLimit-Limit`` and what is left in ``X-RateLimit-Remaining``
but not the window's length or type (fixed or sliding), so the window comes from the connection
extra ``rate_limit_window``. The rules:

* when the budget is spent (``Remaining`` reaches 0), the next request waits until the oldest of
  OUR requests still inside the window leaves it (a full window when none of ours is in it).
  That frees at least the slot we then use, whatever other clients of the token do, and it is
  safe for a sliding log (that slot frees exactly then) and for a fixed window (its end is no
  later);
* in ``spread`` mode (bulk runs) requests go out evenly at ``Limit`` per window, so a long run
  never meets a 429 in steady state and never bursts then stalls;
* several processes often share one token (two Airflow workers running chunks of one refresh).
  Each sees the shared budget in ``Remaining``, so in spread mode a process that sees others
  (a) paces itself so that all of them together use the budget less a headroom (``SHARED_HEADROOM``
  of the limit, at least ``RESERVE_SLOTS``), and (b) treats the budget as spent once only that
  headroom is left. From then on each process only spends slots its own expired requests free, so
  together they never overrun the limit. The headroom is for the requests the pacers cannot
  see coming: the others' in flight, and the first request of a process that has just started
  (it knows nothing of the budget until its first answer). Without it, two workers kept the window
  full and a third task's first requests met 429s.

One pacer is shared by every hook in a process that talks to the same base URL with the same
token, because the CMS counts per token, not per hook object.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

#: Safety margin on the even spacing: clocks and network jitter must not tip a window over.
SPREAD_MARGIN = 1.03
#: We time a window from when we send; the CMS from when the request arrives. Waiting this much
#: longer than a full window (plus 1% of it) covers the network latency in between.
LATENCY_ALLOWANCE = 0.1
#: In spread mode, slots of a shared budget left for other processes' requests in flight (at least).
RESERVE_SLOTS = 2
#: In spread mode, the share of a shared budget left unused: room for the others' requests in
#: flight and for the blind first requests of processes that start meanwhile.
SHARED_HEADROOM = 0.10


class RateLimitPacer:
    """Decides how long to wait before the next request. Thread-safe; never sleeps itself."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self.limit: int | None = None
        self.remaining: int | None = None
        self.spread = False
        self._sent: deque[float] = deque()  # our send times still inside the window, oldest first
        self._next_free = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Reserve a slot for one request; return the seconds to wait before sending it."""
        with self._lock:
            now = self.clock()
            self._forget_before(now - self.window)
            start = now
            if self._budget_spent():
                start = self._own_slot_frees(now)
            if self.spread and self.limit:
                start = max(start, self._next_free)
                self._next_free = start + self._interval()
            self._sent.append(start)
            if self.remaining is not None:
                self.remaining -= 1  # spent until the response says otherwise
            return max(0.0, start - now)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the limit and the remaining budget from a response's headers."""
        limit = _int_header(headers, "X-RateLimit-Limit")
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        with self._lock:
            if limit is not None and limit > 0:
                self.limit = limit
            if remaining is not None:
                self.remaining = remaining

    def _forget_before(self, cutoff: float) -> None:
        while self._sent and self._sent[0] <= cutoff:
            self._sent.popleft()

    def _budget_spent(self) -> bool:
        if self.remaining is None:
            return False
        return self.remaining <= (self._headroom() if self._shared() else 0)

    def _shared(self) -> bool:
        """Whether, in spread mode, others spend this budget too (one off is timing noise, not a neighbour)."""
        return self.spread and self._others() >= 2

    def _headroom(self) -> int:
        """Slots of a shared budget this process leaves unused (see ``SHARED_HEADROOM``)."""
        return max(RESERVE_SLOTS, math.ceil((self.limit or 0) * SHARED_HEADROOM))

    def _others(self) -> int:
        """Requests in the window that are not ours, as far as the last response tells."""
        if self.limit is None or self.remaining is None:
            return 0
        return max(0, self.limit - self.remaining - len(self._sent))

    def _own_slot_frees(self, now: float) -> float:
        oldest = self._sent[0] if self._sent else now
        return oldest + self.window * 1.01 + LATENCY_ALLOWANCE

    def _interval(self) -> float:
        assert self.limit
        base = self.window / self.limit * SPREAD_MARGIN
        if self.remaining is None:
            return base
        others = self._others()
        if others <= 0:
            return base
        # Someone else spends this token too: share the window with them, and when they are more
        # than noise, leave the headroom free as well.
        usable = self.limit - others - (self._headroom() if self._shared() else 0)
        return base * (self.limit / max(1, usable))


#: Largest rate-limit header value taken seriously; a bigger one is a broken or lying server.
MAX_HEADER_VALUE = 1_000_000
_ignored_headers: set[str] = set()


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    """A rate-limit header as a whole number, or None when absent, unparseable or absurd.

    Only ASCII digits count: ``inf``, ``1e999``, ``-5`` or ``NaN`` would otherwise raise after the
    write had landed, or turn pacing off. An ignored value is logged once per header name, at DEBUG.
    """
    value = headers.get(name)
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 7 and int(text) <= MAX_HEADER_VALUE:
        return int(text)
    if name not in _ignored_headers:
        _ignored_headers.add(name)
        log.debug("ignoring unusable rate-limit header %s: %.40r", name, value)
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
