"""Sandbox emulation of the buttercms API (filled in by its CMS issue)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from airflow_provider_pagemeta.sandbox.state import SandboxState


class ButtercmsEmulator:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.app = FastAPI(title="buttercms sandbox")

    def reset(self) -> None:
        return None

    def fixtures(self) -> dict[str, Any]:
        return {}


def create(state: SandboxState) -> ButtercmsEmulator:
    return ButtercmsEmulator(state)
