"""Keep tokens out of everything the provider emits.

Tokens only ever travel in the ``Authorization`` header, which the provider never logs. This
module is the second line: any text that came from outside (an error body, an exception from
the HTTP library) is scrubbed of the connection's secrets before it reaches a log line, an
exception or an XCom, and secret-looking query values are masked in URLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_QUERY_KEYS = frozenset({"auth_token", "token", "access_token", "api_key", "apikey", "key"})


class Redactor:
    """Replaces known secret values with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        """Redact strings inside JSON-like data (dicts, lists)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            query = [
                (k, MASK if k.lower() in SECRET_QUERY_KEYS else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ]
            parts = parts._replace(query=urlencode(query, safe="*"))
        if parts.password or parts.username:
            host = parts.hostname or ""
            parts = parts._replace(netloc=host + (f":{parts.port}" if parts.port else ""))
        return self.text(urlunsplit(parts))
