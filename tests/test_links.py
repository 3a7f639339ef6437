"""Operator extra links, rendered by real Airflow after a real run.

One ``airflow dags test`` of a DAG with each single-page update operator runs against the sandbox.
Airflow 3 computes the links on the worker when each task finishes (``finalize`` calls our
``get_link`` and stores the URL as the XCom ``_link_<class>``); the API server then serves them
to the UI from ``GET /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/links``. The test asks
that endpoint of the real API app, in-process, so it sees exactly what the task's buttons open.

The DAG lives in a throw-away DAG folder (``dags test`` only runs DAGs of the configured folder),
so the example folder keeps showing users examples only.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pagemeta.get_provider_info import get_provider_info
from airflow_provider_pagemeta.links import (
    EXTRA_LINKS,
    buttercms_page_url,
    hamgam_page_url,
    http_url,
    webflow_page_url,
    webflow_public_url,
    webflow_published_url,
)
from airflow_provider_pagemeta.sandbox.control import SANDBOX_TOKENS

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

DAG_ID = "pagemeta_links_check"
WEBFLOW_SITE = "fdd818cce66350fd1bd9cac3"
LARGE_SITE = "8a9643b5ea31a93596dd66de"  # "Northwind Catalog": no custom domain, only its webflow.io subdomain
DRAFT_PAGE = "6804046915b207f30f2e987a"  # the demo site's one draft page
WEBFLOW_PAGE = "1a899e75168b8b70a16df7fa"  # /about
BUILDIN_PAGE = "11111111-1111-4111-8111-111111111111"

LINKS_DAG = textwrap.dedent(f'''
    from datetime import datetime

    from airflow.sdk import DAG

    from airflow_provider_pagemeta.operators.buildin import BuildinUpdatePageOperator
    from airflow_provider_pagemeta.operators.buttercms import ButterCMSUpdatePageOperator
    from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator
    from airflow_provider_pagemeta.operators.webflow import WebflowPublishSiteOperator, WebflowUpdatePageOperator

    with DAG(dag_id="{DAG_ID}", schedule=None, catchup=False, start_date=datetime(2026, 1, 1)):
        update = WebflowUpdatePageOperator(task_id="webflow_live", page_id="{WEBFLOW_PAGE}",
                                           seo={{"title": "About Orbit"}}, site_url="https://www.orbit.example/")
        WebflowUpdatePageOperator(task_id="webflow_dashboard", page_id="{WEBFLOW_PAGE}",
                                  seo={{"title": "About Orbit, again"}}, dry_run=True)
        WebflowUpdatePageOperator(task_id="webflow_draft", page_id="{DRAFT_PAGE}", title="Soon",
                                  site_url="https://www.orbit.example")
        update >> WebflowPublishSiteOperator(task_id="webflow_publish", site_id="{WEBFLOW_SITE}",
                                             changes=update.output)
        WebflowPublishSiteOperator(task_id="webflow_publish_subdomain", site_id="{LARGE_SITE}")
        ButterCMSUpdatePageOperator(task_id="buttercms", page_type="landing-page", page_slug="home",
                                    fields={{"headline": "Hello"}})
        HamgamUpdatePageMetaOperator(task_id="hamgam", page_id=38, text={{"og_title": "Logitech"}})
        BuildinUpdatePageOperator(task_id="buildin", page_id="{BUILDIN_PAGE}", in_trash=False)
''')


@pytest.fixture
def links_dag_folder(tmp_path: Path) -> Iterator[dict[str, str]]:
    (tmp_path / f"{DAG_ID}.py").write_text(LINKS_DAG)
    yield {"AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)}


def _rendered_links(run_id: str, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What the UI gets for each task: the API server's extra-links endpoint, one request per task."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    links = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        with TestClient(create_app(apps="core")) as client:
            for task_id in task_ids:
                response = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/links")
                assert response.status_code == 200, response.text
                links[task_id] = response.json()["extra_links"]
    return links


def test_each_operator_links_to_the_page_it_changed(
    run_dag: Any, sandbox: Any, links_dag_folder: dict[str, str]
) -> None:
    result: subprocess.CompletedProcess[str] = run_dag(DAG_ID, extra_env=links_dag_folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run_id = session.query(DagRun.run_id).filter(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc()).first()[0]

    # One write per CMS (none for the dry run), two publishes and the draft page's update for Webflow.
    assert sorted(w["path"].split("/")[1] for w in sandbox.writes()) == [
        "buildin", "buttercms", "hamgam", "webflow", "webflow", "webflow", "webflow"]
    requests_before = len(sandbox.requests())

    links = _rendered_links(run_id, ["webflow_live", "webflow_dashboard", "webflow_draft", "webflow_publish",
                                     "webflow_publish_subdomain", "buttercms", "hamgam", "buildin"])

    panel = f"https://webflow.com/dashboard/sites/{WEBFLOW_SITE}/pages"
    assert links == {
        # Each link says what it opens: the staged settings in the dashboard, and the public address,
        # which shows the change once the site is published.
        "webflow_live": {"Webflow Pages panel": panel, "Public page (once published)": "https://www.orbit.example/about"},
        "webflow_dashboard": {"Webflow Pages panel": panel, "Public page (once published)": None},
        "webflow_draft": {"Webflow Pages panel": panel, "Public page (once published)": None},  # a draft has none
        "webflow_publish": {"Published site": "https://www.orbit-outfitters.com/"},
        "webflow_publish_subdomain": {"Published site": "https://northwind-catalog.webflow.io/"},
        "buttercms": {"ButterCMS page": "https://buttercms.com/pages/edit/landing-page/home/"},
        "hamgam": {"Hamgam page meta": f"{sandbox.url}/hamgam/api/pages/base/38/meta/"},
        "buildin": {"Buildin page": f"https://buildin.ai/docs/{BUILDIN_PAGE}"},
    }
    rendered = repr(links)
    assert not [name for name, token in SANDBOX_TOKENS.items() if token in rendered]
    assert len(sandbox.requests()) == requests_before  # rendering the links sent no request


def test_provider_info_lists_every_link_class() -> None:
    assert get_provider_info()["extra-links"] == list(EXTRA_LINKS)
    for path in EXTRA_LINKS:
        module, _, name = path.rpartition(".")
        cls = getattr(__import__(module, fromlist=[name]), name)
        assert cls().name


@pytest.mark.parametrize(("value", "expected"), [
    ("https://user:secret@cms.example.com:8443/x?y=1", "https://cms.example.com:8443/x?y=1"),
    ("javascript:alert(1)", None),
    ("/relative/path", None),
    ("", None),
    (None, None),
])
def test_links_are_absolute_http_urls_without_credentials(value: Any, expected: str | None) -> None:
    assert http_url(value) == expected


def test_url_builders_escape_segments_and_refuse_what_they_cannot_name() -> None:
    assert buttercms_page_url("landing page", "a/b?c") == "https://buttercms.com/pages/edit/landing%20page/a%2Fb%3Fc/"
    assert buttercms_page_url("*", "home") is None  # the 202 does not say which type matched
    assert hamgam_page_url("https://u:p@cms.example.com/base/", 7) == "https://cms.example.com/base/api/pages/base/7/meta/"
    assert webflow_page_url({"siteId": WEBFLOW_SITE, "publishedPath": "/about"}) == (
        f"https://webflow.com/dashboard/sites/{WEBFLOW_SITE}/pages")
    assert webflow_page_url({}) is None
    assert webflow_public_url({"publishedPath": "/about"}, "https://u:p@www.orbit.example/") == (
        "https://www.orbit.example/about")
    assert webflow_public_url({"publishedPath": "/about"}, "ftp://x") is None
    assert webflow_public_url({"publishedPath": "/soon", "draft": True}, "https://www.orbit.example") is None
    assert webflow_published_url({"customDomains": [{"url": "evil.example/x"}, {"url": "www.orbit.example"}]}) == (
        "https://www.orbit.example/")
    assert webflow_published_url({"customDomains": [], "publishToWebflowSubdomain": True}, "orbit") == (
        "https://orbit.webflow.io/")
    assert webflow_published_url({"customDomains": [], "publishToWebflowSubdomain": False}, "orbit") is None
