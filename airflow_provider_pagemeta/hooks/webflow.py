"""Webflow hook: the Webflow Data API v2 page and site calls, on the shared HTTP core.

What a call sends and how its arguments are checked lives in :mod:`airflow_provider_pagemeta.payloads.webflow`;
this module owns the I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paging import Paging
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.exceptions import CMSInvalidResponseError
from airflow_provider_pagemeta.payloads.webflow import (
    CMS,
    PAGE_LIMIT,
    PUBLISH_RATE_LIMIT_WAIT,
    bulk_body,
    normalize_update,
    optional_object_id,
    pair_bulk_results,
    publish_body,
    publish_targets,
    validate_object_id,
)

#: Warnings about silently ignored slugs go here (a stdlib logger: Airflow shows it in the task log).
log = logging.getLogger(__name__)


class WebflowHook(PageMetaHook):
    """Talks to the Webflow API with the token from the connection's password.

    Every argument is validated before any request, so a bad call costs no rate-limit budget.

    :param webflow_conn_id: the Airflow connection id (conn type ``webflow``).
    """

    conn_name_attr = "webflow_conn_id"
    default_conn_name = "webflow_default"
    conn_type = "webflow"
    hook_name = "Webflow"

    cms: ClassVar[str] = "webflow"
    default_base_url: ClassVar[str | None] = "https://api.webflow.com"
    auth_scheme: ClassVar[str] = "Bearer"

    def __init__(self, webflow_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(webflow_conn_id, **kwargs)
        self.webflow_conn_id = webflow_conn_id

    @staticmethod
    def _locale_params(locale_id: str | None) -> dict[str, str] | None:
        return {"localeId": locale_id} if locale_id is not None else None

    def get_page(self, page_id: str, *, locale_id: str | None = None) -> dict[str, Any]:
        """``GET /v2/pages/{page_id}``: the page's metadata, in ``locale_id``'s content when given."""
        validate_object_id(page_id, "page_id")
        optional_object_id(locale_id, "locale_id")
        path = join("v2", "pages", segment(page_id, "page_id", cms=CMS))
        return self.request_json("GET", path, call="get_page", params=self._locale_params(locale_id))

    def list_pages(self, site_id: str, *, locale_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every page of a site, following ``limit``/``offset`` pagination to ``pagination.total``.

        Arguments are checked now, not on the first ``next()``, so a bad call fails where it is made.
        """
        validate_object_id(site_id, "site_id")
        optional_object_id(locale_id, "locale_id")
        return self._iter_pages(site_id, locale_id)

    def _iter_pages(self, site_id: str, locale_id: str | None) -> Iterator[dict[str, Any]]:
        path = join("v2", "sites", segment(site_id, "site_id", cms=CMS), "pages")
        offset = 0
        paging = Paging(CMS, "list_pages")
        while True:
            params: dict[str, Any] = {"limit": PAGE_LIMIT, "offset": offset}
            if locale_id is not None:
                params["localeId"] = locale_id
            paging.before_request(offset)
            response = self.request_json("GET", path, call="list_pages", params=params)
            pages = paging.items(response.get("pages"), "pages", lambda page: str(page.get("id")))
            yield from pages
            # Advance by what arrived, not by the limit asked for: a server that caps the page
            # size lower than requested must not make us skip pages.
            offset += len(pages)
            pagination = response.get("pagination")
            total = pagination.get("total") if isinstance(pagination, dict) else None
            if not pages or not isinstance(total, int) or offset >= total:
                return

    def update_page_settings(
        self,
        page_id: str,
        *,
        locale_id: str | None = None,
        title: str | None = None,
        slug: str | None = None,
        seo: Mapping[str, Any] | None = None,
        open_graph: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``PUT /v2/pages/{page_id}[?localeId=]`` with only the given fields; returns the updated page.

        Webflow answers 200 but keeps the old slug on home, collection-template and utility pages
        and on secondary locales, so a slug that did not stick is logged as a warning.
        """
        validate_object_id(page_id, "page_id")
        optional_object_id(locale_id, "locale_id")
        body = normalize_update(title=title, slug=slug, seo=seo, open_graph=open_graph)
        path = join("v2", "pages", segment(page_id, "page_id", cms=CMS))
        page = self.request_json(
            "PUT", path, call="update_page_settings", params=self._locale_params(locale_id), json_body=body
        )
        self._warn_ignored_slug(body, page, locale_id)
        return page

    def update_pages_bulk(self, pages: list[dict[str, Any]]) -> dict[str, Any]:
        """``PATCH /beta/pages`` (beta): update 1 to 100 pages of one site in a single request.

        Each entry is ``{"id", "localeId"?, "title"?, "slug"?, "seo"?, "openGraph"?}`` (snake_case
        spellings accepted), validated like :meth:`update_page_settings`; an ``id`` + ``localeId``
        pair may appear only once. Returns ``{"pages": [updated pages]}``. Webflow requires a
        given ``localeId`` to be a *secondary* locale: omit it to update the primary locale.
        """
        entries = bulk_body(pages)
        response = self.request_json("PATCH", "/beta/pages", call="update_pages_bulk", json_body={"pages": entries})
        returned = response.get("pages") if isinstance(response, dict) else None
        if isinstance(returned, list):
            for entry, page in pair_bulk_results(entries, returned):
                self._warn_ignored_slug(entry, page, entry.get("localeId"))
        return response

    # ------------------------------------------------------------------ sites and publishing
    def get_site(self, site_id: str) -> dict[str, Any]:
        """``GET /v2/sites/{site_id}``: the site, with ``lastPublished``, ``lastUpdated`` and ``customDomains``."""
        return self.request_json("GET", self._site_path(site_id), call="get_site")

    def list_custom_domains(self, site_id: str) -> list[dict[str, Any]]:
        """``GET /v2/sites/{site_id}/custom_domains``: the list under ``customDomains``, each
        ``{"id", "url", "lastPublished"}`` (empty for a site with only its webflow.io subdomain)."""
        path = join(self._site_path(site_id), "custom_domains")
        response = self.request_json("GET", path, call="list_custom_domains")
        domains = response.get("customDomains")
        if not isinstance(domains, list) or not all(isinstance(d, dict) for d in domains):
            raise CMSInvalidResponseError(
                "the Get Custom Domains response has no 'customDomains' list of objects",
                cms=CMS, method="GET", url=self.redactor.url(self.base_url + path), call="list_custom_domains",
            )
        return domains

    def publish_site(
        self,
        site_id: str,
        *,
        custom_domains: list[str] | None = None,
        publish_to_webflow_subdomain: bool | None = None,
        page_id: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v2/sites/{site_id}/publish``: make the staged changes live; returns Webflow's answer
        (``{"customDomains": [...], "publishToWebflowSubdomain", "publishScope"}``).

        With neither ``custom_domains`` nor ``publish_to_webflow_subdomain`` it publishes to every
        custom domain of the site (one :meth:`list_custom_domains` read) and to the Webflow
        subdomain. ``custom_domains`` takes domain ids or host names (``www.example.com``, resolved
        through :meth:`list_custom_domains`; an unknown one fails before the publish). ``page_id``
        publishes that page only. Webflow allows one successful publish per minute: a 429 waits its
        ``Retry-After``, else a minute, within the connection's retries.
        """
        validate_object_id(site_id, "site_id")
        targets = publish_targets(custom_domains, publish_to_webflow_subdomain, page_id)
        site_domains = self.list_custom_domains(site_id) if targets.needs_domain_list else None
        body = publish_body(site_id, targets, site_domains)
        return self.request_json(
            "POST", join(self._site_path(site_id), "publish"), call="publish_site", json_body=body,
            rate_limit_wait=PUBLISH_RATE_LIMIT_WAIT,
        )

    @staticmethod
    def _site_path(site_id: str) -> str:
        validate_object_id(site_id, "site_id")
        return join("v2", "sites", segment(site_id, "site_id", cms=CMS))

    def _warn_ignored_slug(self, body: Mapping[str, Any], page: Any, locale_id: str | None) -> None:
        if "slug" not in body or not isinstance(page, Mapping) or page.get("slug") == body["slug"]:
            return
        where = f" (locale {locale_id})" if locale_id else ""
        log.warning(
            "webflow: slug of page %s%s was not changed: sent %r, Webflow kept %r. Webflow silently ignores slug "
            "changes on the home page, collection template pages, utility pages and secondary locales.",
            page.get("id"), where, body["slug"], page.get("slug"),
        )

    def _probe(self) -> str:
        """``GET /v2/token/introspect``: works for site and workspace tokens without extra scopes."""
        info = self.request_json("GET", "/v2/token/introspect", call="test_connection")
        auth = info.get("authorization") if isinstance(info, dict) else None
        if not isinstance(auth, dict):
            return "Connected to Webflow: the token is valid."
        sites = (auth.get("authorizedTo") or {}).get("siteIds") or []
        parts = [f"Connected to Webflow: the token is valid for {len(sites)} site(s)"]
        if auth.get("scope"):
            parts.append(f"scopes: {auth['scope']}")
        if auth.get("rateLimit"):
            parts.append(f"rate limit: {auth['rateLimit']} requests/min")
        return "; ".join(parts) + "."
