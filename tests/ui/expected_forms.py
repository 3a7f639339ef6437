"""What each connection form must show, written from the contract rather than read from the provider info.

Both the API test and the browser test check against this table. It is spelled out by hand on purpose:
deriving it from ``get_provider_info()`` would only prove that Airflow echoes whatever we declared, not that
the form says what a user needs (the CMS's own word for the token, the default base URL as a hint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

HIDDEN_STANDARD_FIELDS = ("login", "schema", "port")


@dataclass(frozen=True)
class ExtraField:
    """One field of the form's "Extra Fields" section; ``sensitive`` means a masked password input."""

    label: str
    default: object = None
    sensitive: bool = False


COMMON_EXTRAS: dict[str, ExtraField] = {
    "timeout": ExtraField("Timeout (s)", 30),
    "max_retries": ExtraField("Max retries", 5),
    "verify": ExtraField("Verify TLS", "true"),
    "rate_limit_window": ExtraField("Rate-limit window (s)", 60),
}


@dataclass(frozen=True)
class ConnectionForm:
    """The expected form of one connection type."""

    conn_type: str
    hook_name: str
    hook_class: str
    token_label: str
    host_placeholder: str
    extras: dict[str, ExtraField] = field(default_factory=lambda: dict(COMMON_EXTRAS))

    def password_placeholder_matches(self, placeholder: str | None) -> bool:
        """The token hint names the CMS and its token; letter case is cosmetic, so it is not pinned."""
        return (placeholder or "").lower() == f"{self.hook_name} {self.token_label}".lower()


FORMS: dict[str, ConnectionForm] = {
    form.conn_type: form
    for form in (
        ConnectionForm(
            "webflow", "Webflow", "airflow_provider_pagemeta.hooks.webflow.WebflowHook",
            "API token", "https://api.webflow.com",
        ),
        ConnectionForm(
            "buttercms", "ButterCMS", "airflow_provider_pagemeta.hooks.buttercms.ButterCMSHook",
            "Write API token", "https://api.buttercms.com",
            {**COMMON_EXTRAS, "read_token": ExtraField("Read API token", None, sensitive=True)},
        ),
        # Hamgam is self-hosted: there is no default base URL, so the hint says the field is required.
        ConnectionForm(
            "hamgam", "Hamgam", "airflow_provider_pagemeta.hooks.hamgam.HamgamHook",
            "API key", "https://cms.example.com (required)",
        ),
        ConnectionForm(
            "buildin", "Buildin", "airflow_provider_pagemeta.hooks.buildin.BuildinHook",
            "API token", "https://api.buildin.ai",
        ),
    )
}
