"""A hard deadline on every synchronous HTTP attempt, from sending to the last byte.

``requests`` applies its ``timeout`` to each socket operation, not to the call: a server that
trickles one byte every 1.5 s never trips a 2 s timeout, and a body that never ends holds the
call until the process is killed. A deadline has to be enforced from outside the blocked read,
and the only thing that wakes a thread blocked in ``recv`` is its socket being shut down.

So each attempt arms a deadline with one process-wide watchdog thread. The connection classes of
:class:`DeadlineAdapter` tell the attempt which connection it is using (at connect and at each
request); when the deadline passes before the attempt is disarmed, the watchdog marks it expired
and shuts that socket down. The blocked read then fails at once, and the hook reports the attempt
as timed out (``CMSConnectionError``, retried like any timeout). A socket shut down just after its
response completed is harmless: urllib3 sees a dropped connection when it next takes it from the
pool and opens a new one.

The async path needs none of this: ``asyncio.wait_for`` cancels a coroutine wherever it waits.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


class Attempt:
    """One armed deadline. ``expired`` tells the hook that a failure was the watchdog's doing."""

    __slots__ = ("deadline", "done", "expired", "sock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        #: The socket itself, not the connection: ``http.client`` drops the connection's reference
        #: to it once the headers of a ``Connection: close`` response are read, but the body is
        #: still read from it.
        self.sock: Any = None
        self.done = False
        self.expired = False

    def __enter__(self) -> Attempt:
        _local.attempt = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.attempt = None
        WATCHDOG.disarm(self)


class Watchdog:
    """One daemon thread for the whole process; it sleeps until the earliest armed deadline."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Attempt]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> Attempt:
        attempt = Attempt(self._clock() + seconds)
        with self._cond:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (attempt.deadline, next(self._order), attempt))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pagemeta-http-deadlines", daemon=True)
                self._thread.start()
            elif earliest is None or attempt.deadline < earliest:
                self._cond.notify()
        return attempt

    def disarm(self, attempt: Attempt) -> None:
        """Done, one way or the other; a disarmed attempt is dropped lazily from the heap."""
        with self._cond:
            attempt.done = True

    def bind(self, connection: Any) -> None:
        """Called by the connection classes: the current thread's attempt uses ``connection``'s socket."""
        attempt: Attempt | None = getattr(_local, "attempt", None)
        sock = getattr(connection, "sock", None)
        if attempt is None or sock is None:
            return
        with self._cond:
            attempt.sock = sock
            expired = attempt.expired and not attempt.done
        if expired:
            _shut(sock)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - self._clock()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _deadline, _order, attempt = heapq.heappop(self._heap)
                attempt.expired = True
                sock = attempt.sock
            _shut(sock)


def _shut(sock: Any) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already closed: nothing is blocked on it
        sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()


def arm(seconds: float) -> Attempt:
    """Arm a deadline for the current thread's next request: ``with arm(30): session.request(...)``."""
    return WATCHDOG.arm(seconds)


class _Bound:
    """Mixed into urllib3's connection classes: reports the socket when it connects, and again at
    each request (a reused connection, or one the request connects lazily)."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        WATCHDOG.bind(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        WATCHDOG.bind(self)
        super().request(*args, **kwargs)  # type: ignore[misc]
        WATCHDOG.bind(self)


class _BoundHTTPConnection(_Bound, HTTPConnection):
    pass


class _BoundHTTPSConnection(_Bound, HTTPSConnection):
    pass


class _BoundHTTPPool(HTTPConnectionPool):
    ConnectionCls = _BoundHTTPConnection


class _BoundHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _BoundHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """The ``requests`` transport whose connections report to the current :class:`Attempt`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _BoundHTTPPool, "https": _BoundHTTPSPool}
