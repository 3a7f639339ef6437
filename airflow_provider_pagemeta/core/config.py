"""Turn an Airflow connection into the settings the HTTP core needs.

Extras are read by name from an allowlist and never passed through: an unknown key is an error,
so a typo (``time_out``) or a secret pasted into the wrong field cannot silently become a header
or be ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_pagemeta.core.convert import to_duration, to_int
from airflow_provider_pagemeta.exceptions import CMSValidationError

#: Extras every CMS connection accepts, with their defaults.
COMMON_EXTRA_DEFAULTS: dict[str, Any] = {
    "timeout": 30.0,
    "max_retries": 5,
    "verify": True,
    "rate_limit_window": 60.0,
}
#: Extras that hold a token: checked like the password, never echoed.
SECRET_EXTRAS = frozenset({"read_token"})
#: Upper bounds that keep a typo from becoming a call that never ends (a socket refuses a timeout
#: past ~292 years anyway, with an OverflowError) or a retry loop that never gives up.
MAX_TIMEOUT = 3600.0
MAX_WINDOW = 86400.0
MAX_RETRIES = 50


@dataclass(frozen=True)
class ConnectionSettings:
    """Resolved, validated settings of one connection. Secrets are kept out of ``repr``."""

    cms: str
    base_url: str
    token: str = field(repr=False)
    timeout: float = 30.0
    max_retries: int = 5
    verify: bool | str = True
    rate_limit_window: float = 60.0
    extras: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value of the connection (for redaction)."""
        values = [self.token, *(v for k, v in self.extras.items() if "token" in k and isinstance(v, str))]
        return tuple(v for v in values if v)


def build_base_url(cms: str, host: str | None, port: int | None, default: str | None) -> str:
    """Apply the contract's base-URL rules.

    ``host`` with a scheme is used as given (path prefix kept); without one it means
    ``https://<host>[:<port>]``; no host means the CMS's public default (Hamgam has none).
    """
    host = (host or "").strip()
    if not host:
        if default is None:
            raise CMSValidationError(
                f"the {cms} connection needs a host (the base URL of your {cms} server, "
                "e.g. https://cms.example.com)",
                argument="host",
                cms=cms,
            )
        return default.rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if "@" in parts.netloc:
        # requests would send user:password as Basic auth instead of the token, and the password
        # would show in every message that names the URL: refuse it, without echoing it.
        raise CMSValidationError(
            f"the {cms} connection's host must not contain user:password@ (credentials in a URL are sent as "
            "Basic auth and shown in logs); put the API token in the connection's password",
            argument="host",
            cms=cms,
        )
    try:
        host_port = parts.port
    except ValueError:
        host_port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or host_port == -1:
        raise CMSValidationError(f"connection host {host!r} is not an http(s) URL", argument="host", cms=cms)
    if port and host_port is None:
        netloc = f"{parts.netloc}:{int(port)}"
        host = parts._replace(netloc=netloc).geturl()
    return host.rstrip("/")


def _as_verify(cms: str, value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        if value.strip():
            return value.strip()  # a CA bundle path
    raise CMSValidationError(
        f"extra 'verify' must be true, false or a CA bundle path, got {value!r}", argument="verify", cms=cms
    )


def parse_extras(cms: str, extra: Mapping[str, Any], cms_extras: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the connection extras against the allowlist and fill in defaults.

    Keys may be bare (``timeout``, what Airflow 3's form stores) or the registry's prefixed form
    (``extra__webflow__timeout``, what Airflow 2 forms stored).
    """
    allowed = {**COMMON_EXTRA_DEFAULTS, **cms_extras}
    prefix = f"extra__{cms}__"
    values: dict[str, Any] = {}
    for raw_key, value in extra.items():
        key = raw_key[len(prefix) :] if raw_key.startswith(prefix) else raw_key
        if key not in allowed:
            raise CMSValidationError(
                f"unknown extra {raw_key!r} in the {cms} connection; allowed: {', '.join(sorted(allowed))}",
                argument=raw_key,
                cms=cms,
            )
        if value is None or value == "":
            continue  # an empty form field means "use the default"
        values[key] = value
    merged = {**allowed, **values}
    merged["timeout"] = to_duration(merged["timeout"], "timeout", maximum=MAX_TIMEOUT, cms=cms)
    merged["rate_limit_window"] = to_duration(
        merged["rate_limit_window"], "rate_limit_window", maximum=MAX_WINDOW, cms=cms
    )
    merged["max_retries"] = to_int(merged["max_retries"], "max_retries", maximum=MAX_RETRIES, cms=cms)
    merged["verify"] = _as_verify(cms, merged["verify"])
    for key, value in merged.items():
        if key in SECRET_EXTRAS and value is not None:
            check_token(value, f"the connection's extra {key!r}", cms, argument=key)
    return merged


def settings_from_connection(
    cms: str,
    *,
    host: str | None,
    port: int | None,
    password: str | None,
    extra: Mapping[str, Any],
    default_base_url: str | None,
    cms_extras: Mapping[str, Any],
) -> ConnectionSettings:
    """Build :class:`ConnectionSettings` from the parts of an Airflow connection."""
    if not password:
        raise CMSValidationError(
            f"the {cms} connection has no token: put the API token in the connection's password",
            argument="password",
            cms=cms,
        )
    check_token(password, "the connection's password", cms)
    extras = parse_extras(cms, extra, cms_extras)
    return ConnectionSettings(
        cms=cms,
        base_url=build_base_url(cms, host, port, default_base_url),
        token=password,
        timeout=extras.pop("timeout"),
        max_retries=extras.pop("max_retries"),
        verify=extras.pop("verify"),
        rate_limit_window=extras.pop("rate_limit_window"),
        extras=extras,
    )


def check_token(token: Any, where: str, cms: str, argument: str = "password") -> str:
    """A token must be sendable as an HTTP header value: printable ASCII with no blank.

    A pasted line break or a non-ASCII character would otherwise surface as six retries of
    "connection failed (InvalidHeader)", or as a ``UnicodeEncodeError`` on the async path after the
    sync write already landed. The message says what is wrong and where, never the token itself.
    """
    if not isinstance(token, str):
        raise CMSValidationError(f"{where} is not a valid token: it is not a string", argument=argument, cms=cms)
    for position, char in enumerate(token, start=1):
        if char in "\r\n":
            problem = "a line break"
        elif char in " \t":
            problem = "a blank"
        elif not 0x21 <= ord(char) <= 0x7E:
            problem = "a non-ASCII or control character"
        else:
            continue
        raise CMSValidationError(
            f"{where} is not a valid token: it contains {problem} at character {position} of {len(token)} "
            "(a token is sent as an HTTP header and must be printable ASCII)",
            argument=argument,
            cms=cms,
        )
    return token
