"""Small helpers the four emulators share (sandbox side only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import JSONResponse


class Emulator(Protocol):
    """What each CMS module's ``create(state)`` returns."""

    #: The ASGI app mounted at ``/<name>``.
    app: Any

    def reset(self) -> None:
        """Back to the demo data."""

    def fixtures(self) -> dict[str, Any]:
        """The demo ids users and tests address (``GET /_sandbox/fixtures``)."""

    # An emulator may also have ``control_app``: an ASGI app mounted at ``/_sandbox/<name>``
    # for controls that only make sense for that CMS (Webflow's live view, for one).


@dataclass(frozen=True)
class Credentials:
    scheme: str
    token: str


def read_authorization(request: Request) -> Credentials | None:
    """Split ``Authorization: <scheme> <token>``; None when missing or malformed."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if not scheme or not token:
        return None
    return Credentials(scheme=scheme, token=token)


async def read_json(request: Request) -> tuple[bool, Any]:
    """``(ok, body)``: ``ok`` is False when the body is not valid JSON."""
    raw = await request.body()
    if not raw.strip():
        return True, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)
