"""The sandbox app served by uvicorn without an access log, as a benchmark's remote CMS.

``python -m airflow_provider_pagemeta.sandbox`` logs every request at INFO; that formatting cost
would be added to every variant a benchmark compares. The app itself is the same one.
"""

from __future__ import annotations

import argparse

import uvicorn

from airflow_provider_pagemeta.sandbox.app import create_app
from airflow_provider_pagemeta.sandbox.state import SandboxConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(SandboxConfig()), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
