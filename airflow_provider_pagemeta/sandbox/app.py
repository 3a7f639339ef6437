"""The sandbox application: four CMS emulators on one port, plus ``/_sandbox/`` controls.

Requests to the emulators pass through :class:`SandboxMiddleware`, a plain ASGI wrapper that
records each request (tokens redacted) and applies injected faults. It wraps the whole FastAPI
app so that it sees the server's own ``send``: that is what lets a fault drop the TCP connection
without answering, as a crashed proxy would.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider_pagemeta.sandbox.common import Emulator
from airflow_provider_pagemeta.sandbox.state import Fault, SandboxConfig, SandboxState

CMS_NAMES = ("webflow", "buttercms", "hamgam", "buildin")
CONTROL_PREFIX = "/_sandbox"
REDACTED = "***"
SECRET_QUERY_KEYS = frozenset({"auth_token", "token", "access_token", "api_key"})
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie"})

Scope = dict[str, Any]
Message = dict[str, Any]


def _redact_header(name: str, value: str) -> str:
    if name not in SECRET_HEADERS:
        return value
    scheme, sep, _token = value.partition(" ")
    return f"{scheme} {REDACTED}" if sep else REDACTED


def _decode_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class SandboxMiddleware:
    """Request log and fault injection around the emulators."""

    def __init__(self, app: Any, state: SandboxState, emulators: dict[str, Emulator] | None = None) -> None:
        self.app = app
        self.state = state
        self.emulators = emulators or {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive)
        entry = self._log_entry(scope, body)
        self.state.requests.append(entry)

        pending: list[bytes] = [body]

        async def replay() -> Message:
            if pending:
                return {"type": "http.request", "body": pending.pop(), "more_body": False}
            return await receive()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        fault = self.state.take_fault(scope["method"], scope["path"])
        if fault is not None:
            entry["fault"] = True
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                entry["status"] = None
                self._drop(send)
                return
            if fault.status is not None:
                await self._send_fault(fault, recording_send)
                return
        await self.app(scope, replay, recording_send)

    @staticmethod
    async def _read_body(receive: Any) -> bytes:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    def _log_entry(scope: Scope, body: bytes) -> dict[str, Any]:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        query = [
            (k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v)
            for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        ]
        return {
            "method": scope["method"],
            "path": raw_path.decode("latin-1"),
            "query": dict(query),
            "headers": {k: _redact_header(k, v) for k, v in headers.items()},
            "body": _decode_body(body),
            "status": None,
            # When it arrived (Unix seconds): lets a reader line a 429 up with whatever else was sent then.
            "received_at": round(time.time(), 3),
        }

    @staticmethod
    def _drop(send: Any) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        transport.abort() if hasattr(transport, "abort") else transport.close()

    @staticmethod
    async def _send_fault(fault: Fault, send: Any) -> None:
        headers = {k.lower(): str(v) for k, v in fault.headers.items()}
        if isinstance(fault.body, str):
            payload = fault.body.encode()
            headers.setdefault("content-type", "text/plain; charset=utf-8")
        elif fault.body is None:
            payload = b""
        else:
            payload = json.dumps(fault.body).encode()
            headers.setdefault("content-type", "application/json")
        headers["content-length"] = str(len(payload))
        await send(
            {
                "type": "http.response.start",
                "status": int(fault.status or 500),
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _load_emulators(state: SandboxState) -> dict[str, Emulator]:
    emulators: dict[str, Emulator] = {}
    for name in CMS_NAMES:
        module = importlib.import_module(f"airflow_provider_pagemeta.sandbox.{name}")
        emulators[name] = module.create(state)
    return emulators


def _control_app(state: SandboxState, emulators: dict[str, Emulator]) -> FastAPI:
    controls = FastAPI(title="pagemeta sandbox controls", docs_url="/docs", openapi_url="/openapi.json")

    def bad(message: str) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": message})

    @controls.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        for emulator in emulators.values():
            emulator.reset()
        return {"status": "reset", "config": state.config.as_dict()}

    @controls.get("/fixtures")
    async def fixtures() -> dict[str, Any]:
        return {name: emulator.fixtures() for name, emulator in emulators.items()}

    @controls.get("/requests")
    async def requests_log(since: int = 0) -> list[dict[str, Any]]:
        return state.requests[since:]

    @controls.delete("/requests")
    async def clear_requests() -> dict[str, Any]:
        state.requests.clear()
        return {"status": "cleared"}

    @controls.get("/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [{k: v for k, v in vars(f).items() if not k.startswith("_")} for f in state.faults if f.count > 0]

    @controls.post("/faults", response_model=None)
    async def add_faults(request: Request) -> Any:
        try:
            data = await request.json()
            items = data if isinstance(data, list) else [data]
            faults = [Fault.from_json(item) for item in items]
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        state.faults.extend(faults)
        return {"status": "added", "faults": len(faults)}

    @controls.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        state.faults.clear()
        return {"status": "cleared"}

    @controls.get("/config")
    async def get_config() -> dict[str, Any]:
        return state.config.as_dict()

    @controls.post("/config", response_model=None)
    async def set_config(request: Request) -> Any:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("config must be a JSON object")
            state.config.update(data)
        except (ValueError, TypeError) as exc:
            return bad(str(exc))
        return state.config.as_dict()

    for name, emulator in emulators.items():
        extra = getattr(emulator, "control_app", None)
        if extra is not None:  # e.g. /_sandbox/webflow/live/{page_id}
            controls.mount(f"/{name}", extra)
    return controls


def create_app(config: SandboxConfig | None = None) -> SandboxMiddleware:
    """Build the sandbox ASGI app (demo data loaded) for uvicorn or any ASGI server."""
    state = SandboxState(config)
    emulators = _load_emulators(state)
    root = FastAPI(title="pagemeta sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @root.get("/")
    async def index() -> dict[str, Any]:
        return {"sandbox": "airflow-provider-pagemeta", "cms": [f"/{n}" for n in CMS_NAMES],
                "controls": CONTROL_PREFIX}

    root.mount(CONTROL_PREFIX, _control_app(state, emulators))
    for name, emulator in emulators.items():
        root.mount(f"/{name}", emulator.app)
    return SandboxMiddleware(root, state, emulators)
