"""Provider metadata for Airflow's ProvidersManager.

Airflow calls this in every process (it loads while ``import airflow`` initialises its
configuration), so this module imports nothing: plain literals only.
"""

from __future__ import annotations

from typing import Any

_VERIFY_HELP = "Verify TLS certificates: true (default), false, or the path of a CA bundle."


def _common_fields(window_default: int = 60) -> dict[str, Any]:
    return {
        "timeout": {
            "label": "Timeout (s)",
            "description": "Seconds to wait for each HTTP response (default 30).",
            "schema": {"type": ["number", "null"], "default": 30},
        },
        "max_retries": {
            "label": "Max retries",
            "description": "Retries of a failed request on 408/429/5xx and connection errors (default 5).",
            "schema": {"type": ["integer", "null"], "default": 5},
        },
        "verify": {
            "label": "Verify TLS",
            "description": _VERIFY_HELP,
            "schema": {"type": ["string", "null"], "default": "true"},
        },
        "rate_limit_window": {
            "label": "Rate-limit window (s)",
            "description": "Length of the CMS's rate-limit window, used to pace requests (default 60).",
            "schema": {"type": ["number", "null"], "default": window_default},
        },
    }


def _connection(
    conn_type: str,
    hook: str,
    name: str,
    token_label: str,
    host_placeholder: str,
    extra_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "connection-type": conn_type,
        "hook-class-name": f"airflow_provider_pagemeta.hooks.{conn_type}.{hook}",
        "hook-name": name,
        "conn-fields": {**_common_fields(), **(extra_fields or {})},
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "login", "port"],
            "relabeling": {"password": token_label, "host": "Base URL"},
            "placeholders": {"host": host_placeholder, "password": f"{name} {token_label}"},
        },
    }


def get_provider_info() -> dict[str, Any]:
    from airflow_provider_pagemeta import __version__

    modules = ("webflow", "buttercms", "hamgam", "buildin")
    return {
        "package-name": "airflow-provider-pagemeta",
        "name": "Page metadata (Webflow, ButterCMS, Hamgam, Buildin)",
        "description": "Update page titles, slugs, SEO and Open Graph fields, page fields, meta keys and "
        "page properties in Webflow, ButterCMS, Hamgam and Buildin.",
        "versions": [__version__],
        "connection-types": [
            _connection("webflow", "WebflowHook", "Webflow", "API token", "https://api.webflow.com"),
            _connection(
                "buttercms",
                "ButterCMSHook",
                "ButterCMS",
                "Write API token",
                "https://api.buttercms.com",
                {
                    "read_token": {
                        "label": "Read API token",
                        "description": "Token for reads (page polling). Defaults to the write token.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    }
                },
            ),
            _connection("hamgam", "HamgamHook", "Hamgam", "API key", "https://cms.example.com (required)"),
            _connection("buildin", "BuildinHook", "Buildin", "API token", "https://api.buildin.ai"),
        ],
        "hooks": [
            {"integration-name": name, "python-modules": [f"airflow_provider_pagemeta.hooks.{m}"]}
            for name, m in zip(("Webflow", "ButterCMS", "Hamgam", "Buildin"), modules, strict=True)
        ],
        "operators": [
            *({"integration-name": name, "python-modules": [f"airflow_provider_pagemeta.operators.{m}"]}
              for name, m in zip(("Webflow", "ButterCMS", "Hamgam", "Buildin"), modules, strict=True)),
            {"integration-name": "Change journal", "python-modules": ["airflow_provider_pagemeta.operators.restore"]},
        ],
        "sensors": [
            {"integration-name": "ButterCMS", "python-modules": ["airflow_provider_pagemeta.sensors.buttercms"]}
        ],
        "triggers": [
            {"integration-name": "ButterCMS", "python-modules": ["airflow_provider_pagemeta.triggers.buttercms"]}
        ],
        "extra-links": [
            f"airflow_provider_pagemeta.links.{name}"
            for name in ("WebflowPageLink", "WebflowPublicPageLink", "WebflowPublishedSiteLink", "ButterCMSPageLink",
                         "HamgamPageLink", "BuildinPageLink")
        ],
        "config": {
            "pagemeta": {
                "description": "Settings of airflow-provider-pagemeta.",
                "options": {
                    "journal_dir": {
                        "description": "Where writing operators keep their change journals (one JSON Lines "
                        "file per task, <dir>/<dag_id>/<run_id>/<task_id>.jsonl): any URI Airflow's "
                        "ObjectStoragePath opens (file://, s3://, gs://, ...; name the connection as "
                        "s3://<conn_id>@bucket/path). Unset: {AIRFLOW_HOME}/pagemeta/journal.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "s3://aws_default@my-bucket/pagemeta/journal",
                        "default": None,
                    },
                },
            },
        },
    }
