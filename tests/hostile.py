"""Small stdlib servers on loopback that misbehave the way a hostile or broken CMS (or proxy) does.

The sandbox emulates the CMS APIs faithfully, faults included; these servers do what no faithful
emulator would: trickle a response byte by byte, send a body that never ends, or forward a write
to the sandbox and then lose the answer. Each runs on its own thread and port, and stops when its
``with`` block ends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

#: How long a hostile response keeps going before giving up on its own (no server outlives a test).
MAX_MISBEHAVIOUR_S = 60.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port; yields the base URL."""
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _write_slowly(wfile: Any, data: bytes, every: float, step: int = 1) -> None:
    deadline = time.monotonic() + MAX_MISBEHAVIOUR_S
    for start in range(0, len(data), step):
        if time.monotonic() > deadline:
            return
        try:
            wfile.write(data[start : start + step])
            wfile.flush()
        except OSError:
            return  # the client gave up: that is what the test wants to see
        time.sleep(every)


def trickle_body(every: float, body: bytes = b'{"ok": true, "padding": "' + b"x" * 200 + b'"}') -> type:
    """Headers at once, then the body one byte every ``every`` seconds."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            _write_slowly(self.wfile, body, every)

        do_PUT = do_PATCH = do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


def endless_body(every: float) -> type:
    """A chunked body that never ends (a few bytes every ``every`` seconds, for at most a minute)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"1\r\n[\r\n")
            deadline = time.monotonic() + MAX_MISBEHAVIOUR_S
            while time.monotonic() < deadline:
                try:
                    self.wfile.write(b"2\r\n1,\r\n")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(every)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


def trickle_headers(every: float) -> type:
    """The status line and headers one byte every ``every`` seconds (a slowloris in reverse)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            head += b"X-Padding: " + b"y" * 200 + b"\r\n\r\n{}"
            _write_slowly(self.wfile, head, every)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


def lossy_proxy(upstream: str, lose: Callable[[str, str], bool]) -> type:
    """Forward every request to ``upstream``; when ``lose(method, path)`` says so, let the request
    land there and then drop the connection instead of answering (a lost response)."""

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = requests.request(self.command, upstream + self.path, data=body, headers=headers,
                                      timeout=10, allow_redirects=False)
            if lose(self.command, self.path):
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PATCH = do_PUT = _forward

        def log_message(self, *args: Any) -> None:
            return None

    return Handler
