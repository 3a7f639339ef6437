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

from airflow_provider_pagemeta.exceptions import CMSValidationError

#: Extras every CMS connection accepts, with their defaults.
COMMON_EXTRA_DEFAULTS: dict[str, Any] = {
    "timeout": 30.0,
    "max_retries": 5,
    "verify": True,
    "rate_limit_window": 60.0,
}


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
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CMSValidationError(f"connection host {host!r} is not an http(s) URL", argument="host", cms=cms)
    if port and parts.port is None:
        netloc = f"{parts.netloc}:{int(port)}"
        host = parts._replace(netloc=netloc).geturl()
    return host.rstrip("/")


def _as_float(cms: str, name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CMSValidationError(
            f"extra {name!r} must be a number, got {value!r}", argument=name, cms=cms
        ) from None
    if number <= 0:
        raise CMSValidationError(f"extra {name!r} must be positive, got {value!r}", argument=name, cms=cms)
    return number


def _as_retries(cms: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise CMSValidationError(
            f"extra 'max_retries' must be a whole number, got {value!r}", argument="max_retries", cms=cms
        )
    try:
        number = int(value)
    except ValueError:
        raise CMSValidationError(
            f"extra 'max_retries' must be a whole number, got {value!r}", argument="max_retries", cms=cms
        ) from None
    if number < 0:
        raise CMSValidationError("extra 'max_retries' must be >= 0", argument="max_retries", cms=cms)
    return number


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
    merged["timeout"] = _as_float(cms, "timeout", merged["timeout"])
    merged["rate_limit_window"] = _as_float(cms, "rate_limit_window", merged["rate_limit_window"])
    merged["max_retries"] = _as_retries(cms, merged["max_retries"])
    merged["verify"] = _as_verify(cms, merged["verify"])
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
