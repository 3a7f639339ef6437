"""The sandbox's own controls: reset, config, faults, request log, CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import requests

from airflow_provider_pagemeta.sandbox.control import SandboxControl
from airflow_provider_pagemeta.sandbox.server import free_port


def test_fixtures_lists_every_cms(sandbox: SandboxControl):
    assert set(sandbox.fixtures()) == {"webflow", "buttercms", "hamgam", "buildin"}


def test_request_log_redacts_tokens_in_header_and_query(sandbox: SandboxControl):
    requests.get(
        f"{sandbox.url}/buttercms/v2/pages/x/y/",
        params={"auth_token": "secret-read-token-123456", "preview": "1"},
        headers={"Authorization": "Token secret-write-token-123456"},
        timeout=5,
    )
    [entry] = sandbox.requests()
    assert entry["query"] == {"auth_token": "***", "preview": "1"}
    assert entry["headers"]["authorization"] == "Token ***"
    assert "secret" not in repr(entry)


def test_request_log_says_when_each_request_arrived(sandbox: SandboxControl):
    before = time.time()
    requests.get(f"{sandbox.url}/webflow/v2/sites", timeout=5)
    requests.get(f"{sandbox.url}/hamgam/api/pages", timeout=5)
    after = time.time()
    first, second = sandbox.requests()
    assert before - 0.01 <= first["received_at"] <= second["received_at"] <= after + 0.01


def test_controls_are_not_logged_and_reset_clears(sandbox: SandboxControl):
    requests.get(f"{sandbox.url}/webflow/anything", timeout=5)
    sandbox.fixtures()
    assert len(sandbox.requests()) == 1
    sandbox.fault(path="/webflow/*", status=503, count=3)
    sandbox.config(webflow_rate_limit=5)
    sandbox.reset()
    assert sandbox.requests() == []
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=5).json() == []
    assert requests.get(f"{sandbox.url}/_sandbox/config", timeout=5).json()["webflow_rate_limit"] == 60


def test_faults_apply_in_order_for_their_count(sandbox: SandboxControl):
    sandbox.fault(method="GET", path="/hamgam/*", status=502, count=2)
    sandbox.fault(method="*", path="/hamgam/*", status=418, body={"detail": "teapot"}, headers={"X-Test": "1"})
    statuses = [requests.get(f"{sandbox.url}/hamgam/api/x", timeout=5) for _ in range(3)]
    assert [r.status_code for r in statuses] == [502, 502, 418]
    assert statuses[2].json() == {"detail": "teapot"} and statuses[2].headers["x-test"] == "1"
    assert [e.get("fault") for e in sandbox.requests()] == [True, True, True]


def test_method_filter_and_non_matching_paths_pass_through(sandbox: SandboxControl):
    sandbox.fault(method="PUT", path="/webflow/v2/pages/*", status=503)
    requests.get(f"{sandbox.url}/webflow/v2/pages/abc", timeout=5)  # GET: not matched
    [entry] = sandbox.requests()
    assert entry.get("fault") is None
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=5).json()[0]["count"] == 1


def test_bad_control_input_is_a_400(sandbox: SandboxControl):
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={"nope": 1}, timeout=5).status_code == 400
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={"count": 0}, timeout=5).status_code == 400
    assert requests.post(f"{sandbox.url}/_sandbox/config", json={"nope": 1}, timeout=5).status_code == 400
    assert requests.post(f"{sandbox.url}/_sandbox/config", json={"webflow_rate_limit": -1},
                         timeout=5).status_code == 400


def test_config_checks_every_value_before_changing_any(sandbox: SandboxControl):
    url = f"{sandbox.url}/_sandbox/config"
    for bad in ({"webflow_large_site_pages": 2.5}, {"webflow_large_site_pages": 10**6},
                {"buttercms_monthly_quota": True}, {"webflow_publish_interval": "60"},
                {"webflow_publish_interval": 5, "buttercms_product_pages": -3}):
        r = requests.post(url, json=bad, timeout=5)
        assert r.status_code == 400 and r.json()["error"], bad
    assert requests.get(url, timeout=5).json()["webflow_publish_interval"] == 60.0  # the refused batch left no trace
    assert sandbox.config(webflow_large_site_pages=20.0, webflow_rate_window=2)["webflow_large_site_pages"] == 20


def test_cli_refuses_a_bad_flag_value():
    done = subprocess.run([sys.executable, "-m", "airflow_provider_pagemeta.sandbox", "--webflow-large-site-pages",
                           "-1"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "webflow_large_site_pages must be a non-negative number" in done.stderr


def test_cli_serves_on_the_given_port():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_pagemeta.sandbox", "--port", str(port),
         "--webflow-rate-limit", "7", "--webflow-publish-interval", "5", "--webflow-large-site-pages", "20",
         "--buttercms-monthly-quota", "1000", "--buttercms-product-pages", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                root = requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, "sandbox exited early"
                assert time.monotonic() < deadline, "sandbox did not start within 30 s"
                time.sleep(0.1)
        assert root.json()["cms"] == ["/webflow", "/buttercms", "/hamgam", "/buildin"]
        config = requests.get(f"http://127.0.0.1:{port}/_sandbox/config", timeout=5).json()
        assert config["webflow_rate_limit"] == 7 and config["webflow_publish_interval"] == 5.0
        assert config["webflow_large_site_pages"] == 20 and config["buttercms_monthly_quota"] == 1000
        assert config["buttercms_product_pages"] == 30
        fixtures = requests.get(f"http://127.0.0.1:{port}/_sandbox/fixtures", timeout=5).json()
        assert len(fixtures["webflow"]["large_page_ids"]) == 20
        assert len(fixtures["buttercms"]["products"]["slugs"]) == 30
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_skip_lets_matching_requests_through_first(sandbox: SandboxControl):
    sandbox.fault(path="/hamgam/*", status=503, skip=2, count=1)
    statuses = [requests.get(f"{sandbox.url}/hamgam/api/x", timeout=5).status_code for _ in range(4)]
    assert statuses[2] == 503 and 503 not in statuses[:2] + statuses[3:]


def test_rate_faults_are_random_but_reproducible(sandbox: SandboxControl):
    def pattern() -> list[int]:
        sandbox.reset()
        sandbox.fault(path="/hamgam/*", status=503, rate=0.3, seed=7, count=1000)
        return [requests.get(f"{sandbox.url}/hamgam/api/x", timeout=5).status_code for _ in range(40)]

    first, second = pattern(), pattern()
    assert first == second
    assert 4 <= first.count(503) <= 20  # about 30% of 40
