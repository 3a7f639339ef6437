"""Transport guarantees of the HTTP core: redirects, TLS verification, timeouts.

A redirect to another host must never carry the token. We prove it with two real sandboxes on
two host names (``127.0.0.1`` and ``localhost``): the first answers 302 to the second, and the
second's request log shows what arrived.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

import pytest

from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.exceptions import CMSRedirectError
from airflow_provider_pagemeta.sandbox.control import SandboxControl

TOKEN = "transport-token-3e5a7c9b1d2f4a6c8e0b"


class ProbeHook(PageMetaHook):
    cms: ClassVar[str] = "probe"




def make_hook(monkeypatch: pytest.MonkeyPatch, host: str, **extra: Any) -> ProbeHook:
    conn = {"conn_type": "probe", "host": host, "password": TOKEN, "extra": {"max_retries": 0, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_TRANSPORT_PROBE", json.dumps(conn))
    return ProbeHook("transport_probe")


def _redirect_to(sandbox: SandboxControl, target: str) -> None:
    sandbox.fault(path="/webflow/moved", status=302, headers={"Location": target})


def test_cross_host_redirect_is_refused_and_the_token_never_leaves(sandbox, other_host, monkeypatch):
    """A read is redirected to another host: it is not followed at all (the token cannot reach it)."""
    other_host.reset()
    other_host.fault(path="/webflow/landed", status=200, body={"landed": True})
    _redirect_to(sandbox, f"{other_host.url}/webflow/landed")
    hook = make_hook(monkeypatch, f"{sandbox.url}/webflow")
    with pytest.raises(CMSRedirectError) as info:
        hook.request_json("GET", "/moved", call="probe")
    [first] = sandbox.requests()
    assert first["headers"]["authorization"] == "Bearer ***"
    assert other_host.requests() == []
    assert info.value.status_code == 302 and info.value.location == f"{other_host.url}/webflow/landed"


async def test_cross_host_redirect_is_refused_async(sandbox, other_host, monkeypatch):
    other_host.reset()
    other_host.fault(path="/webflow/landed", status=200, body={"landed": True})
    _redirect_to(sandbox, f"{other_host.url}/webflow/landed")
    hook = make_hook(monkeypatch, f"{sandbox.url}/webflow")
    try:
        with pytest.raises(CMSRedirectError):
            await hook.arequest_json("GET", "/moved", call="probe")
    finally:
        await hook.aclose()
    assert other_host.requests() == []


def test_same_host_redirect_keeps_authorization(sandbox, monkeypatch):
    sandbox.fault(path="/webflow/landed", status=200, body={"landed": True})
    _redirect_to(sandbox, f"{sandbox.url}/webflow/landed")
    hook = make_hook(monkeypatch, f"{sandbox.url}/webflow")
    hook.request_json("GET", "/moved", call="probe")
    assert [r["headers"].get("authorization") for r in sandbox.requests()] == ["Bearer ***", "Bearer ***"]


def test_tls_verification_is_on_by_default(monkeypatch):
    hook = make_hook(monkeypatch, "https://cms.example.invalid")
    assert hook.settings.verify is True
    assert hook.session.verify is True


def test_verify_false_only_through_the_extra_and_logged(monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="airflow_provider_pagemeta.http")
    hook = make_hook(monkeypatch, "https://cms.example.invalid", verify="false")
    assert hook.session.verify is False
    assert any("verification turned off" in r.getMessage() for r in caplog.records)


def test_verify_accepts_a_ca_bundle_path(monkeypatch):
    hook = make_hook(monkeypatch, "https://cms.example.invalid", verify="/etc/ssl/certs/ca-certificates.crt")
    assert hook.session.verify == "/etc/ssl/certs/ca-certificates.crt"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("http://127.0.0.1:8765/webflow", None, "http://127.0.0.1:8765/webflow"),
        ("api.example.com", None, "https://api.example.com"),
        ("api.example.com", 8443, "https://api.example.com:8443"),
        ("https://cms.example.com/prefix/", None, "https://cms.example.com/prefix"),
        ("", None, "https://api.probe.example"),
    ],
)
def test_base_url_rules(monkeypatch, host, port, expected):
    conn = {"conn_type": "probe", "host": host, "port": port, "password": TOKEN}
    monkeypatch.setenv("AIRFLOW_CONN_URL_PROBE", json.dumps(conn))

    class DefaultHook(ProbeHook):
        default_base_url: ClassVar[str | None] = "https://api.probe.example"

    assert DefaultHook("url_probe").base_url == expected


@pytest.mark.parametrize(
    ("extra", "argument"),
    [({"time_out": 5}, "time_out"), ({"timeout": "soon"}, "timeout"), ({"timeout": 0}, "timeout"),
     ({"max_retries": -1}, "max_retries"), ({"max_retries": 1.5}, "max_retries"),
     ({"verify": 5}, "verify"), ({"read_token": "x"}, "read_token"), ({"headers": {"X": "1"}}, "headers")],
)
def test_bad_extras_are_named(monkeypatch, extra, argument):
    from airflow_provider_pagemeta.exceptions import CMSValidationError

    hook = make_hook(monkeypatch, "https://cms.example.invalid")
    conn = {"conn_type": "probe", "host": "https://cms.example.invalid", "password": TOKEN, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_TRANSPORT_PROBE", json.dumps(conn))
    with pytest.raises(CMSValidationError) as info:
        hook.settings  # noqa: B018 - resolving the connection is the act under test
    assert info.value.argument == argument
    assert argument in str(info.value)


def test_prefixed_extra_keys_are_accepted(monkeypatch):
    conn = {"conn_type": "probe", "host": "https://x.invalid", "password": TOKEN,
            "extra": {"extra__probe__timeout": "7", "max_retries": "2"}}
    monkeypatch.setenv("AIRFLOW_CONN_TRANSPORT_PROBE", json.dumps(conn))
    settings = ProbeHook("transport_probe").settings
    assert (settings.timeout, settings.max_retries) == (7.0, 2)
    assert TOKEN not in repr(settings)


def test_missing_token_is_a_clear_error(monkeypatch):
    from airflow_provider_pagemeta.exceptions import CMSValidationError

    monkeypatch.setenv("AIRFLOW_CONN_TRANSPORT_PROBE", json.dumps({"conn_type": "probe", "host": "https://x"}))
    with pytest.raises(CMSValidationError, match="no token") as info:
        ProbeHook("transport_probe").settings  # noqa: B018
    assert info.value.argument == "password"
