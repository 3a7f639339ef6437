"""Operator extra links: a button on each update task that opens the page it changed.

Airflow 3 renders an extra link on the worker, right after the task ends (``finalize`` calls
``get_link`` and stores the URL as an XCom, which the UI then reads). So a link must be cheap and
must never fail or leak: it is read from an XCom, with no HTTP request and no connection lookup,
and it never contains a token. The URL itself is worked out by the operator at execute time, when
it has the page and the connection at hand, and pushed as its own XCom, key ``page_url``, next to
the return value: the contract's return shapes stay exactly as they are.

What each CMS's link points at, and why (the vendors' UI URLs are not part of their API docs):

- Webflow, one page: a page-settings write is *staged*; visitors see it only after the site is
  published. So the update operator has two links, each named for what it opens:
  "Webflow Pages panel" (the site's Pages panel in the dashboard,
  ``https://webflow.com/dashboard/sites/<siteId>/pages``, where the staged settings show and can be
  published), and, when the operator is given ``site_url``, "Public page (once published)":
  ``<site_url><publishedPath>``, the address visitors use, which shows the change only after a
  publish (the API's page object has ``publishedPath`` but not the site's domain). A draft page
  has no public address and gets no public link.
- Webflow, publish: "Published site", the site on the first custom domain it was published to
  (``https://<domain>/``), else its ``https://<shortName>.webflow.io/`` subdomain.
- ButterCMS: the page in the ButterCMS editor, ``https://buttercms.com/pages/edit/<page_type>/<slug>/``
  (an assumed URL pattern; set ``ButterCMSUpdatePageOperator.editor_url`` to change it).
- Hamgam: the page's meta list on the connection's own host,
  ``<host>/api/pages/base/<page_id>/meta/`` (Hamgam is self-hosted and its admin UI URLs are not
  documented; that API URL is the one address of the page the docs give).
- Buildin: the page object's own ``url`` (``https://buildin.ai/docs/<id>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: XCom key under which the single-page operators store the URL their link opens.
PAGE_URL_KEY = "page_url"
#: XCom key of a Webflow page's public address (``site_url`` + ``publishedPath``).
PUBLIC_URL_KEY = "public_url"
#: XCom key of the site a Webflow publish went live on.
PUBLISHED_URL_KEY = "published_url"

WEBFLOW_DASHBOARD_PAGES = "https://webflow.com/dashboard/sites/{site_id}/pages"
BUTTERCMS_EDITOR_URL = "https://buttercms.com/pages/edit/{page_type}/{page_slug}/"
HAMGAM_PAGE_META_PATH = "/api/pages/base/{page_id}/meta/"


def _segment(value: Any) -> str:
    """A path segment for a UI URL: every reserved character escaped, so a slug cannot add a path."""
    return quote(str(value), safe="")


def http_url(value: Any) -> str | None:
    """``value`` when it is an absolute http(s) URL, with any ``user:password@`` removed; else None.

    Links end up as clickable buttons, so nothing else (``javascript:``, relative paths) may pass,
    and credentials someone put in a connection host must not be shown."""
    if not isinstance(value, str) or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def webflow_page_url(page: Mapping[str, Any]) -> str | None:
    """The site's Pages panel in the Webflow dashboard, where the page's staged settings show."""
    site_id = page.get("siteId")
    if isinstance(site_id, str) and site_id:
        return WEBFLOW_DASHBOARD_PAGES.format(site_id=_segment(site_id))
    return None


def webflow_public_url(page: Mapping[str, Any], site_url: str | None) -> str | None:
    """The page's public address, ``site_url`` + ``publishedPath``; None without ``site_url`` or
    for a draft page (never published, so it has no public address)."""
    base = http_url(site_url) if site_url else None
    path = page.get("publishedPath")
    if not base or page.get("draft") is True or not isinstance(path, str) or not path.startswith("/"):
        return None
    return base.rstrip("/") + path


def webflow_published_url(published: Mapping[str, Any], short_name: str | None = None) -> str | None:
    """Where a publish went live: the first custom domain of the answer, else the webflow.io subdomain."""
    for domain in published.get("customDomains") or []:
        host = domain.get("url") if isinstance(domain, Mapping) else None
        url = http_url(f"https://{host}/") if isinstance(host, str) and host and "/" not in host else None
        if url:
            return url
    if short_name and published.get("publishToWebflowSubdomain") is True:
        return http_url(f"https://{_segment(short_name)}.webflow.io/")
    return None


def buttercms_page_url(page_type: str, page_slug: str, editor_url: str = BUTTERCMS_EDITOR_URL) -> str | None:
    """The page in the ButterCMS editor; None for ``page_type="*"``, whose real type the 202 does not say."""
    if page_type == "*":
        return None
    return http_url(editor_url.format(page_type=_segment(page_type), page_slug=_segment(page_slug)))


def hamgam_page_url(base_url: str, page_id: int) -> str | None:
    """The page's meta list on the Hamgam server the connection points at."""
    base = http_url(base_url)
    return base.rstrip("/") + HAMGAM_PAGE_META_PATH.format(page_id=int(page_id)) if base else None


def buildin_page_url(page: Mapping[str, Any]) -> str | None:
    """Buildin's page object states its own address."""
    return http_url(page.get("url"))


def push_page_url(context: Mapping[str, Any], url: str | None, key: str = PAGE_URL_KEY) -> None:
    """Store a link's URL for this task instance (key ``page_url`` unless told otherwise).

    Skipped when there is no URL or no task instance in the context (``operator.execute({})``
    called directly, outside a DAG run, has nowhere to store it)."""
    ti = context.get("ti") if isinstance(context, Mapping) else None
    if ti is not None and url:
        ti.xcom_push(key=key, value=url)


class _PageUrlLink(BaseOperatorLink):
    """The URL the task pushed under ``xcom_key``; "" (Airflow's "no link") when it pushed none,
    e.g. because it failed before the update."""

    name = "Page"
    xcom_key = PAGE_URL_KEY

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.providers.common.compat.sdk import XCom

        return http_url(XCom.get_value(ti_key=ti_key, key=self.xcom_key)) or ""


class WebflowPageLink(_PageUrlLink):
    """The updated page's site in the Webflow dashboard's Pages panel (its staged settings)."""

    name = "Webflow Pages panel"


class WebflowPublicPageLink(_PageUrlLink):
    """The page's public address (``site_url`` + ``publishedPath``): what visitors see, which shows
    an update only once the site is published."""

    name = "Public page (once published)"
    xcom_key = PUBLIC_URL_KEY


class WebflowPublishedSiteLink(_PageUrlLink):
    """The site a publish made live (its first custom domain, else its webflow.io subdomain)."""

    name = "Published site"
    xcom_key = PUBLISHED_URL_KEY


class ButterCMSPageLink(_PageUrlLink):
    """The updated page in the ButterCMS editor."""

    name = "ButterCMS page"


class HamgamPageLink(_PageUrlLink):
    """The updated page's meta on the Hamgam server."""

    name = "Hamgam page meta"


class BuildinPageLink(_PageUrlLink):
    """The updated Buildin page (the page object's own ``url``)."""

    name = "Buildin page"


#: Class paths for ``get_provider_info()["extra-links"]``.
EXTRA_LINKS = tuple(
    f"{__name__}.{cls.__name__}"
    for cls in (WebflowPageLink, WebflowPublicPageLink, WebflowPublishedSiteLink, ButterCMSPageLink,
                HamgamPageLink, BuildinPageLink)
)
