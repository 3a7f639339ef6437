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
#: A piece of a secret this long or longer is masked too: a server that echoes a token cut
#: short (or a message cut across it) must not leak most of it.
FRAGMENT_CHARS = 8
SECRET_QUERY_KEYS = frozenset({"auth_token", "token", "access_token", "api_key", "apikey", "key"})


class Redactor:
    """Replaces known secret values, and any piece of one of ``FRAGMENT_CHARS`` or more, with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._grams = frozenset(
            secret[i : i + FRAGMENT_CHARS]
            for secret in self._secrets
            if len(secret) >= FRAGMENT_CHARS
            for i in range(len(secret) - FRAGMENT_CHARS + 1)
        )

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return self._mask_fragments(value) if self._grams else value

    def _mask_fragments(self, value: str) -> str:
        """Mask every run of the text covered by an ``FRAGMENT_CHARS``-long piece of a secret."""
        covered: list[tuple[int, int]] = []
        for gram in self._grams:
            start = value.find(gram)
            while start != -1:
                covered.append((start, start + FRAGMENT_CHARS))
                start = value.find(gram, start + 1)
        if not covered:
            return value
        covered.sort()
        out: list[str] = []
        position = 0
        run_start, run_end = covered[0]
        for start, end in covered[1:]:
            if start <= run_end:
                run_end = max(run_end, end)
                continue
            out += [value[position:run_start], MASK]
            position, (run_start, run_end) = run_end, (start, end)
        out += [value[position:run_start], MASK, value[run_end:]]
        return "".join(out)

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
