"""A small client for the sandbox's ``/_sandbox/`` controls, for tests and scripts."""

from __future__ import annotations

import json
from typing import Any

import requests


class SandboxControl:
    """Reset the sandbox, inject faults, change config, and read the request log."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def cms_url(self, cms: str) -> str:
        """Base URL to put in a connection's host for one CMS, e.g. ``http://127.0.0.1:8765/webflow``."""
        return f"{self.url}/{cms}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(method, f"{self.url}/_sandbox/{path}", timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "reset")

    def fixtures(self) -> dict[str, Any]:
        return self._call("GET", "fixtures")

    def requests(self, cms: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """The request log, oldest first; ``cms`` keeps one CMS's requests."""
        log = self._call("GET", "requests", params={"since": since})
        if cms is None:
            return log
        prefix = f"/{cms}/"
        return [r for r in log if r["path"].startswith(prefix)]

    def writes(self, cms: str | None = None) -> list[dict[str, Any]]:
        """Logged requests that can change state (anything but GET/HEAD/OPTIONS)."""
        return [r for r in self.requests(cms) if r["method"] not in ("GET", "HEAD", "OPTIONS")]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def fault(self, **fault: Any) -> None:
        """Inject one fault: ``method``, ``path`` (glob), ``status``, ``headers``, ``body``,
        ``delay``, ``drop``, ``count``, ``skip`` (matching requests to let through first), and
        ``rate`` + ``seed`` (hit each matching request with that probability, reproducibly)."""
        self._call("POST", "faults", json=fault)

    def config(self, **values: Any) -> dict[str, Any]:
        return self._call("POST", "config", json=values)

    def webflow_live(self, page_id: str, locale_id: str | None = None) -> dict[str, Any]:
        """A Webflow page as visitors see it (``title``, ``slug``, ``seo``, ``openGraph``): the
        last published state, which the API's reads (the staged state) do not show."""
        params = {"localeId": locale_id} if locale_id else None
        return self._call("GET", f"webflow/live/{page_id}", params=params)

    def webflow_custom_domains(self) -> list[dict[str, str]]:
        """The demo site's custom domains, ``[{"id", "url"}]``."""
        return self.fixtures()["webflow"]["custom_domains"]

    def buildin_database_ids(self) -> list[str]:
        """The demo Buildin databases (``POST /v2/databases/{id}/query``)."""
        return self.fixtures()["buildin"]["database_ids"]

    def close(self) -> None:
        self._session.close()


#: Sandbox tokens: long enough for Airflow's masker (>= 5) and our hygiene tests (>= 24).
SANDBOX_TOKENS = {
    "webflow": "wf-sandbox-token-5f0c7a1e9b2d4c68",
    "buttercms": "bc-sandbox-write-token-8d3e2f1a7c9b",
    "buttercms_read": "read-bc-sandbox-token-4a6c8e0b2d1f",  # read-only in the sandbox, as in ButterCMS
    "hamgam": "hg-sandbox-token-2b4d6f8a0c1e3579",
    "buildin": "bi-sandbox-token-9e7c5a3b1d2f4068",
}


def connection_env(base_url: str, tokens: dict[str, str] | None = None) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for the four default connections, pointing at a sandbox."""
    t = {**SANDBOX_TOKENS, **(tokens or {})}
    conns = {
        "webflow": {"conn_type": "webflow", "host": f"{base_url}/webflow", "password": t["webflow"]},
        "buttercms": {
            "conn_type": "buttercms",
            "host": f"{base_url}/buttercms",
            "password": t["buttercms"],
            "extra": {"read_token": t["buttercms_read"]},
        },
        "hamgam": {"conn_type": "hamgam", "host": f"{base_url}/hamgam", "password": t["hamgam"]},
        "buildin": {"conn_type": "buildin", "host": f"{base_url}/buildin", "password": t["buildin"]},
    }
    return {f"AIRFLOW_CONN_{name.upper()}_DEFAULT": json.dumps(conn) for name, conn in conns.items()}
