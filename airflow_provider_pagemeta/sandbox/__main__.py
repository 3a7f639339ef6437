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
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = SandboxConfig(
        webflow_rate_limit=args.webflow_rate_limit,
        webflow_rate_window=args.webflow_rate_window,
        buttercms_apply_delay=args.buttercms_apply_delay,
    )
    from airflow_provider_pagemeta.sandbox.server import serve

    print(f"pagemeta sandbox on http://{args.host}:{args.port} (controls under /_sandbox/)", flush=True)
    serve(args.host, args.port, config)


if __name__ == "__main__":
    main()
