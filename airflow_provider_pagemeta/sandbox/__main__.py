"""``python -m airflow_provider_pagemeta.sandbox`` / ``pagemeta-sandbox``: serve the sandbox."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from airflow_provider_pagemeta.sandbox.state import SandboxConfig


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="pagemeta-sandbox",
        description="Local emulator of the Webflow, ButterCMS, Hamgam and Buildin page APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    parser.add_argument("--webflow-rate-limit", type=int, default=defaults.webflow_rate_limit,
                        help="Webflow requests per token per window (default: 60, a Basic plan)")
    parser.add_argument("--webflow-rate-window", type=float, default=defaults.webflow_rate_window,
                        help="Webflow rate-limit window in seconds (default: 60)")
    parser.add_argument("--buttercms-apply-delay", type=float, default=defaults.buttercms_apply_delay,
                        help="seconds before a ButterCMS 202 update becomes readable (default: 1.0)")
    parser.add_argument("--webflow-publish-interval", type=float, default=defaults.webflow_publish_interval,
                        help="seconds after a successful site publish before the next one (default: 60)")
    parser.add_argument("--webflow-large-site-pages", type=int, default=defaults.webflow_large_site_pages,
                        help="pages of the generated Webflow large site (default: 1000)")
    parser.add_argument("--buttercms-monthly-quota", type=int, default=defaults.buttercms_monthly_quota,
                        help="ButterCMS calls allowed before every call answers 429 (default: 0, unlimited)")
    parser.add_argument("--buttercms-product-pages", type=int, default=defaults.buttercms_product_pages,
                        help="pages of the generated ButterCMS page type 'product' (default: 250)")
    return parser.parse_args(argv)


CONFIG_FLAGS = (
    "webflow_rate_limit", "webflow_rate_window", "buttercms_apply_delay", "webflow_publish_interval",
    "webflow_large_site_pages", "buttercms_monthly_quota", "buttercms_product_pages",
)


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """The flags as a config, checked by the same rules as ``POST /_sandbox/config``."""
    config = SandboxConfig()
    try:
        config.update({name: getattr(args, name) for name in CONFIG_FLAGS})
    except ValueError as exc:
        raise SystemExit(f"pagemeta-sandbox: {exc}") from None
    return config


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = config_from(args)
    from airflow_provider_pagemeta.sandbox.server import serve

    print(f"pagemeta sandbox on http://{args.host}:{args.port} (controls under /_sandbox/)", flush=True)
    serve(args.host, args.port, config)


if __name__ == "__main__":
    main()
