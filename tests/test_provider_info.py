"""Provider registration: Airflow's own CLI and schema must accept us."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources

import pytest

from airflow_provider_pagemeta import __version__
from airflow_provider_pagemeta.get_provider_info import get_provider_info
from tests.conftest import AIRFLOW_BIN

pytestmark = pytest.mark.compat

CONN_TYPES = {
    "webflow": "airflow_provider_pagemeta.hooks.webflow.WebflowHook",
    "buttercms": "airflow_provider_pagemeta.hooks.buttercms.ButterCMSHook",
    "hamgam": "airflow_provider_pagemeta.hooks.hamgam.HamgamHook",
    "buildin": "airflow_provider_pagemeta.hooks.buildin.BuildinHook",
}


def test_provider_info_matches_airflow_schema():
    import jsonschema

    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-pagemeta"
    assert {c["connection-type"]: c["hook-class-name"] for c in info["connection-types"]} == CONN_TYPES


@pytest.mark.parametrize("conn_type", sorted(CONN_TYPES))
def test_connection_form_fields(conn_type):
    [conn] = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type]
    behaviour = conn["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"schema", "login", "port"}
    assert behaviour["relabeling"]["password"]
    assert behaviour["placeholders"]["host"]
    assert {"timeout", "max_retries", "verify", "rate_limit_window"} <= set(conn["conn-fields"])
    if conn_type == "buttercms":
        assert conn["conn-fields"]["read_token"]["schema"]["format"] == "password"


def _airflow(*args: str) -> str:
    done = subprocess.run([AIRFLOW_BIN, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_airflow_cli_lists_provider_and_hooks():
    listing = _airflow("providers", "list", "-o", "json")
    [mine] = [p for p in json.loads(listing) if p["package_name"] == "airflow-provider-pagemeta"]
    assert mine["version"] == __version__
    hooks = json.loads(_airflow("providers", "hooks", "-o", "json"))
    registered = {h["connection_type"]: h["class"] for h in hooks if h.get("package_name") ==
                  "airflow-provider-pagemeta"}
    assert registered == CONN_TYPES
