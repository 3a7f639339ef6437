"""Sandbox emulation of the Webflow Data API (v2 pages and sites, publish, beta bulk update, introspect).

Written from Webflow's documents (the project's API reference, summarised in the README's Webflow
section), never from the provider's client code:

* ``GET /v2/pages/{page_id}``, ``GET /v2/sites/{site_id}/pages`` (``limit`` <= 100 / ``offset``),
  ``PUT /v2/pages/{page_id}``, ``PATCH /beta/pages`` (1..100 entries) and ``GET /v2/token/introspect``;
* error bodies ``{"code", "message", "externalReference": null, "details": [...]}``;
* per-locale content: ``?localeId=`` of a secondary locale reads and writes that locale's copy;
* the 2026-05 rule: a slug is silently ignored (200, other fields applied) on the home page,
  collection template pages, utility pages and secondary locales;
* a per-token sliding-window rate limit with ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` on
  every authenticated response, and 429 + ``Retry-After`` past the limit. A bulk call is one request;
  so is a publish (the docs do not say whether publishes count toward the general limit: the
  sandbox counts them, the stricter reading);
* staged vs live: page-setting writes change the staged page (what the API reads back); visitors
  see the live copy, which ``POST /v2/sites/{site_id}/publish`` sets to the staged one, for the
  whole site or one page (``pageId`` in the body). ``GET /v2/sites[/{site_id}]`` and
  ``GET /v2/sites/{site_id}/custom_domains`` show ``lastPublished``;
* one successful publish per site per ``webflow_publish_interval`` seconds (Webflow: "one
  successful publish per minute"; per site here, and a refused publish does not start the
  interval, both undocumented): a second one answers 429 ``too_many_requests`` with
  ``Retry-After`` (whole seconds left, at least 1).

Query parameters are read by hand rather than through FastAPI's parameter validation, so that bad
input gets Webflow's error body (and the rate-limit headers) instead of FastAPI's ``{"detail"}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider_pagemeta.sandbox import webflow_data as data
from airflow_provider_pagemeta.sandbox.common import json_response, read_authorization, read_json
from airflow_provider_pagemeta.sandbox.state import SandboxState

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
MAX_LIMIT = 100
MAX_BULK = 100
SEO_TYPES: dict[str, type] = {"title": str, "description": str}
OG_TYPES: dict[str, type] = {"title": str, "titleCopied": bool, "description": str, "descriptionCopied": bool}
BODY_KEYS = ("title", "slug", "seo", "openGraph")
PUBLISH_KEYS = ("customDomains", "publishToWebflowSubdomain", "pageId")
TOKEN_SCOPE = "pages:read,pages:write,sites:read,sites:write"


class WebflowError(Exception):
    """An error response in Webflow's shape; raised inside handlers, rendered by ``_serve``."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"code": self.code, "message": self.message, "externalReference": None, "details": self.details}
        return json_response(self.status, body, headers)


def validation_error(problems: list[tuple[str, str]]) -> WebflowError:
    """Webflow's ``validation_error``: the message lists every problem, ``details`` names each param."""
    descriptions = [description for _param, description in problems]
    return WebflowError(
        400, "validation_error", f"Validation Error: {json.dumps(descriptions, ensure_ascii=False)}",
        [{"param": param, "description": description} for param, description in problems],
    )


def bad_request(reason: str) -> WebflowError:
    return WebflowError(400, "bad_request", f"Bad Request: Request is malformed: {reason}")


def too_many_requests(headers: dict[str, str] | None = None) -> WebflowError:
    """The 429 body Webflow sends (as seen in the wild: ``message`` "Too Many Requests")."""
    return WebflowError(429, "too_many_requests", "Too Many Requests", headers=headers)


def not_found(what: str) -> WebflowError:
    return WebflowError(404, "resource_not_found", f"Requested resource not found: The {what} cannot be found")


def _type_name(kind: type) -> str:
    return "boolean" if kind is bool else "string"


def check_object(value: Any, types: dict[str, type], param: str, problems: list[tuple[str, str]]) -> None:
    """Check a nested ``seo`` / ``openGraph`` object: known keys only, each of the documented type."""
    if not isinstance(value, dict):
        problems.append((param, f"Value ({param})'s type should be object"))
        return
    for key, item in value.items():
        if key not in types:
            problems.append((f"{param}.{key}", f"Unknown field ({param}.{key})"))
        elif not isinstance(item, types[key]):
            problems.append((f"{param}.{key}", f"Value ({param}.{key})'s type should be {_type_name(types[key])}"))


def check_update(body: dict[str, Any], prefix: str, problems: list[tuple[str, str]]) -> None:
    """Check one page-metadata update (the PUT body, or one bulk entry's fields)."""
    for key in ("title", "slug"):
        if key in body and not isinstance(body[key], str):
            problems.append((prefix + key, f"Value ({prefix}{key})'s type should be string"))
    if isinstance(body.get("slug"), str) and not body["slug"].strip():
        problems.append((prefix + "slug", f"Value ({prefix}slug) must not be empty"))
    if "seo" in body:
        check_object(body["seo"], SEO_TYPES, prefix + "seo", problems)
    if "openGraph" in body:
        check_object(body["openGraph"], OG_TYPES, prefix + "openGraph", problems)


def now_iso() -> str:
    return data.iso(datetime.now(timezone.utc))


class WebflowEmulator:
    """The ``/webflow`` app: demo sites in memory, rate limiting per token, staged and live pages."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.sites: dict[str, data.Site] = {}
        self.pages: dict[str, data.Page] = {}
        #: Sliding-window log per token: monotonic times of the requests counted in the window.
        self.hits: dict[str, deque[float]] = {}
        #: Monotonic time of each site's last successful publish (the one-per-interval rule).
        self.published_at: dict[str, float] = {}
        #: Generated sites kept across resets until something writes to them: building 10,000
        #: pages costs far more than every other site together, and few tests touch them.
        self._generated: dict[str, tuple[data.Site, list[data.Page]]] = {}
        self._dirty: set[str] = set()
        self.reset()
        self.app = self._build_app()
        self.control_app = self._build_control_app()

    def reset(self) -> None:
        self.sites, self.pages = {}, {}
        self._add_site(*data.demo_site())
        builders: dict[str, Callable[[], tuple[data.Site, list[data.Page]]]] = {
            data.LARGE_SITE_ID: lambda: data.large_site(self._large_count()),
            data.PAGING_SITE_ID: data.paging_site,
            data.SOAK_SITE_ID: data.soak_site,
        }
        for site_id, build in builders.items():
            cached = self._generated.get(site_id)
            if cached is None or site_id in self._dirty or (
                site_id == data.LARGE_SITE_ID and len(cached[1]) != self._large_count()
            ):
                cached = self._generated[site_id] = build()
            self._add_site(*cached)
        self._dirty.clear()
        self.hits = {}
        self.published_at = {}

    def _add_site(self, site: data.Site, pages: list[data.Page]) -> None:
        self.sites[site.id] = site
        self.pages.update((page.id, page) for page in pages)

    def _large_count(self) -> int:
        return int(self.state.config.webflow_large_site_pages)

    def _sync_large_site(self) -> None:
        """Rebuild the large site when ``webflow_large_site_pages`` changed (read on every request)."""
        site = self.sites[data.LARGE_SITE_ID]
        if len(site.page_ids) == self._large_count():
            return
        for page_id in site.page_ids:
            del self.pages[page_id]
        built = self._generated[data.LARGE_SITE_ID] = data.large_site(self._large_count())
        self._dirty.discard(data.LARGE_SITE_ID)
        self.published_at.pop(data.LARGE_SITE_ID, None)
        self._add_site(*built)

    def fixtures(self) -> dict[str, Any]:
        self._sync_large_site()
        return data.fixtures(self.sites)

    # ------------------------------------------------------------------ plumbing
    def _build_app(self) -> FastAPI:
        app = FastAPI(title="webflow sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        routes: list[tuple[str, str, Callable[..., Awaitable[Any]]]] = [
            ("GET", "/v2/token/introspect", self.introspect),
            ("GET", "/v2/sites", self.list_sites),
            ("GET", "/v2/sites/{site_id}", self.get_site),
            ("GET", "/v2/sites/{site_id}/custom_domains", self.custom_domains),
            ("POST", "/v2/sites/{site_id}/publish", self.publish),
            ("POST", "/beta/sites/{site_id}/publish", self.publish),
            ("GET", "/v2/sites/{site_id}/pages", self.list_pages),
            ("GET", "/v2/pages/{page_id}", self.get_page),
            ("PUT", "/v2/pages/{page_id}", self.put_page),
            ("PATCH", "/beta/pages", self.bulk_update),
        ]
        for method, path, handler in routes:
            app.add_api_route(path, self._endpoint(handler), methods=[method], response_model=None)
        app.add_api_route(
            "/{rest:path}", self._endpoint(self.no_route), response_model=None,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        )
        return app

    def _endpoint(self, handler: Callable[..., Awaitable[Any]]) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            return await self._serve(request, handler)

        return endpoint

    async def _serve(self, request: Request, handler: Callable[..., Awaitable[Any]]) -> JSONResponse:
        """Auth, then the rate limit, then the handler; rate-limit headers on every answer after auth."""
        creds = read_authorization(request)
        if creds is None or creds.scheme.lower() != "bearer":
            return WebflowError(401, "not_authorized", "Request not authorized").response()
        if creds.token.startswith("invalid"):
            message = "Invalid Credentials: the access token is invalid"
            return WebflowError(401, "invalid_credentials", message).response()
        allowed, headers = self._count(creds.token)
        if not allowed:
            return too_many_requests().response(headers)
        self._sync_large_site()
        try:
            result = await handler(request, **request.path_params)
        except WebflowError as exc:
            return exc.response({**headers, **exc.headers})
        if isinstance(result, JSONResponse):
            result.headers.update(headers)
            return result
        return json_response(200, result, headers)

    def _count(self, token: str) -> tuple[bool, dict[str, str]]:
        """Sliding-window log: a request is allowed when fewer than ``limit`` fall in the last window.

        Config is read on every call so ``POST /_sandbox/config`` takes effect at once.
        """
        limit = int(self.state.config.webflow_rate_limit)
        window = float(self.state.config.webflow_rate_window)
        now = self.state.clock()
        log = self.hits.setdefault(token, deque())
        while log and log[0] <= now - window:
            log.popleft()
        if len(log) >= limit:
            frees_at = log[-limit] + window if limit > 0 else now + window
            retry_after = max(1, math.ceil(frees_at - now))
            return False, {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                           "Retry-After": str(retry_after)}
        log.append(now)
        return True, {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit - len(log))}

    # ------------------------------------------------------------------ lookups
    def _page(self, page_id: str) -> data.Page:
        if not OBJECT_ID.match(page_id):
            raise validation_error([("page_id", "Value (page_id) should be a valid ObjectId")])
        page = self.pages.get(page_id)
        if page is None:
            raise not_found("page")
        return page

    def _site(self, site_id: str) -> data.Site:
        if not OBJECT_ID.match(site_id):
            raise validation_error([("site_id", "Value (site_id) should be a valid ObjectId")])
        site = self.sites.get(site_id)
        if site is None:
            raise not_found("site")
        return site

    @staticmethod
    def _locale_param(request: Request, site: data.Site) -> str:
        """The ``localeId`` query value (the primary locale when absent); must be one of the site's."""
        value = request.query_params.get("localeId")
        if value is None:
            return site.primary.id
        if site.locale(value) is None:
            raise validation_error([("localeId", f"Value (localeId) {value!r} is not a locale of this site")])
        return value

    @staticmethod
    def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number != int(number):
            raise validation_error([(name, f"Value ({name})'s type should be integer")])
        value = int(number)
        if value < low:
            raise validation_error([(name, f"Value ({name}) must be greater than or equal to {low}")])
        if high is not None and value > high:
            raise validation_error([(name, f"Value ({name}) must be less than or equal to {high}")])
        return value

    def render(self, page: data.Page, locale_id: str) -> dict[str, Any]:
        """The page object as Webflow returns it, in one locale."""
        site = self.sites[page.site_id]
        content = data.locale_content(page, site, locale_id)
        slug = content["slug"]
        path = "" if page.kind == data.HOME else "/".join(p for p in (page.parent_path, slug) if p)
        prefix = "" if locale_id == site.primary.id else f"/{site.locale(locale_id).tag}"  # type: ignore[union-attr]
        return {
            "id": page.id,
            "siteId": page.site_id,
            "title": content["title"],
            "slug": slug,
            "parentId": page.parent_id,
            "collectionId": page.collection_id,
            "createdOn": page.created_on,
            "lastUpdated": page.last_updated,
            "archived": page.archived,
            "draft": page.draft,
            "canBranch": page.kind == data.STATIC,
            "isBranch": False,
            "branchId": None,
            "seo": dict(content["seo"]),
            "openGraph": dict(content["openGraph"]),
            "localeId": locale_id,
            "publishedPath": f"{prefix}/{path}" if path else (prefix or "/"),
        }

    def _apply(self, page: data.Page, locale_id: str, body: dict[str, Any]) -> None:
        """Write one update. The slug is silently dropped where Webflow ignores it (changelog 2026-05-12)."""
        site = self.sites[page.site_id]
        self._dirty.add(page.site_id)
        content = data.writable_content(page, site, locale_id)
        before = json.dumps(content, sort_keys=True)
        if "title" in body:
            content["title"] = body["title"]
        if "slug" in body and page.kind == data.STATIC and not site.is_secondary(locale_id):
            content["slug"] = body["slug"]
        for key in ("seo", "openGraph"):
            if key in body:
                content[key] = {**content[key], **body[key]}
        if json.dumps(content, sort_keys=True) != before:
            page.last_updated = site.last_updated = now_iso()

    # ------------------------------------------------------------------ endpoints
    async def introspect(self, request: Request) -> dict[str, Any]:
        creds = read_authorization(request)
        token_hash = hashlib.sha256(creds.token.encode()).hexdigest() if creds else "0" * 64
        return {
            "authorization": {
                "id": token_hash[:24],
                "createdOn": data.iso(data.BASE_TIME),
                "lastUsed": now_iso(),
                "grantType": "client_credentials",
                "rateLimit": int(self.state.config.webflow_rate_limit),
                "scope": TOKEN_SCOPE,
                "authorizedTo": {"siteIds": self._listed_site_ids(), "workspaceIds": [data.WORKSPACE_ID],
                                 "userIds": []},
            }
        }

    def _listed_site_ids(self) -> list[str]:
        """Sites the demo token reports: the soak site is a test fixture, reachable by id but kept
        out of the account's description so the demo account reads the same as before it existed."""
        return [site_id for site_id in self.sites if site_id != data.SOAK_SITE_ID]

    # ------------------------------------------------------------------ sites and publishing
    @staticmethod
    def render_domain(domain: data.Domain) -> dict[str, Any]:
        return {"id": domain.id, "url": domain.url, "lastPublished": domain.last_published}

    @staticmethod
    def render_locale(locale: data.Locale, *, primary: bool) -> dict[str, Any]:
        return {
            "id": locale.id, "cmsLocaleId": data.oid(f"cms-locale-{locale.id}"), "enabled": True,
            "displayName": locale.display_name, "displayImageId": None, "redirect": True,
            "subdirectory": "" if primary else locale.tag, "tag": locale.tag,
        }

    def render_site(self, site: data.Site) -> dict[str, Any]:
        """The Site object (``GET /v2/sites/{site_id}``), as the official SDK's ``Site`` model reads it."""
        return {
            "id": site.id,
            "workspaceId": data.WORKSPACE_ID,
            "createdOn": site.created_on,
            "displayName": site.name,
            "shortName": site.short_name,
            "lastPublished": site.last_published,
            "lastUpdated": site.last_updated,
            "previewUrl": f"https://screenshots.webflow.com/sites/{site.id}/preview.png",
            "timeZone": site.time_zone,
            "parentFolderId": None,
            "customDomains": [self.render_domain(d) for d in site.custom_domains],
            "locales": {
                "primary": self.render_locale(site.primary, primary=True),
                "secondary": [self.render_locale(loc, primary=False) for loc in site.secondary],
            },
            "dataCollectionEnabled": False,
            "dataCollectionType": "disabled",
        }

    async def list_sites(self, request: Request) -> dict[str, Any]:
        return {"sites": [self.render_site(self.sites[site_id]) for site_id in self._listed_site_ids()]}

    async def get_site(self, request: Request, site_id: str) -> dict[str, Any]:
        return self.render_site(self._site(site_id))

    async def custom_domains(self, request: Request, site_id: str) -> dict[str, Any]:
        """A site with only its ``webflow.io`` subdomain has an empty list."""
        return {"customDomains": [self.render_domain(d) for d in self._site(site_id).custom_domains]}

    async def publish(self, request: Request, site_id: str) -> JSONResponse:
        """Copy staged to live (the site, or one page), in the order a client can act on.

        Checks run from the cheapest to fix to the last resort: the body's shape (400
        ``validation_error``), at least one target (400 ``no_domains``), known domain ids (400
        ``invalid_domain``), the page (404), then the one-publish-per-interval rule (429). Only a
        publish that gets through all of them starts the interval.
        """
        site = self._site(site_id)
        body = await self._publish_body(request)
        domains = self._publish_domains(site, body)
        page = self._publish_page(site, body.get("pageId"))
        self._check_publish_interval(site)
        when = now_iso()
        for target in [page] if page is not None else [self.pages[pid] for pid in site.page_ids]:
            target.live = None  # live is the staged content again
        site.last_published = when
        for domain in domains:
            domain.last_published = when
        self.published_at[site.id] = self.state.clock()
        self._dirty.add(site.id)
        return json_response(202, {
            "customDomains": [self.render_domain(d) for d in domains],
            "publishToWebflowSubdomain": body.get("publishToWebflowSubdomain") is True,
            "publishScope": "page" if page is not None else "site",
        })

    async def _publish_body(self, request: Request) -> dict[str, Any]:
        ok, body = await read_json(request)
        if not ok:
            raise bad_request("the body is not valid JSON")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise validation_error([("body", "Value (body)'s type should be object")])
        problems = [(key, f"Unknown field ({key})") for key in body if key not in PUBLISH_KEYS]
        domains = body.get("customDomains")
        if domains is not None and not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
            problems.append(("customDomains", "Value (customDomains)'s type should be array of strings"))
        subdomain = body.get("publishToWebflowSubdomain")
        if subdomain is not None and not isinstance(subdomain, bool):
            problems.append(("publishToWebflowSubdomain", "Value (publishToWebflowSubdomain)'s type should be boolean"))
        page_id = body.get("pageId")
        if page_id is not None and not (isinstance(page_id, str) and OBJECT_ID.match(page_id)):
            problems.append(("pageId", "Value (pageId) should be a valid ObjectId"))
        if problems:
            raise validation_error(problems)
        return body

    @staticmethod
    def _publish_domains(site: data.Site, body: dict[str, Any]) -> list[data.Domain]:
        ids = list(dict.fromkeys(body.get("customDomains") or []))
        if not ids and body.get("publishToWebflowSubdomain") is not True:
            raise WebflowError(400, "no_domains", "No domain IDs provided")
        domains = [site.domain(domain_id) for domain_id in ids]
        if any(domain is None for domain in domains):
            raise WebflowError(400, "invalid_domain", "Please send a valid custom domain ID")
        return [domain for domain in domains if domain is not None]

    def _publish_page(self, site: data.Site, page_id: str | None) -> data.Page | None:
        if page_id is None:
            return None
        page = self.pages.get(page_id)
        if page is None or page.site_id != site.id:
            raise not_found("page")
        return page

    def _check_publish_interval(self, site: data.Site) -> None:
        """One successful publish per site per ``webflow_publish_interval`` seconds."""
        last = self.published_at.get(site.id)
        interval = float(self.state.config.webflow_publish_interval)
        now = self.state.clock()
        if last is not None and now - last < interval:
            retry_after = max(1, math.ceil(last + interval - now))
            raise too_many_requests({"Retry-After": str(retry_after)})

    def live_view(self, page_id: str, locale_id: str | None) -> dict[str, Any]:
        """A page as visitors see it (``GET /_sandbox/webflow/live/{page_id}``)."""
        page = self.pages.get(page_id)
        if page is None:
            raise LookupError(f"no Webflow page {page_id!r} in the sandbox")
        site = self.sites[page.site_id]
        locale_id = locale_id or site.primary.id
        if site.locale(locale_id) is None:
            raise ValueError(f"localeId {locale_id!r} is not a locale of site {site.id}")
        content = data.live_content(page, site, locale_id)
        return {"title": content["title"], "slug": content["slug"], "seo": dict(content["seo"]),
                "openGraph": dict(content["openGraph"])}

    def _build_control_app(self) -> FastAPI:
        """Controls under ``/_sandbox/webflow/``: what the public sees, which the API cannot show."""
        app = FastAPI(title="webflow sandbox controls", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/live/{page_id}")
        async def live(page_id: str, request: Request) -> JSONResponse:
            self._sync_large_site()
            try:
                return json_response(200, self.live_view(page_id, request.query_params.get("localeId")))
            except LookupError as exc:
                return json_response(404, {"error": str(exc)})
            except ValueError as exc:
                return json_response(400, {"error": str(exc)})

        return app

    # ------------------------------------------------------------------ pages
    async def get_page(self, request: Request, page_id: str) -> dict[str, Any]:
        page = self._page(page_id)
        return self.render(page, self._locale_param(request, self.sites[page.site_id]))

    async def list_pages(self, request: Request, site_id: str) -> dict[str, Any]:
        site = self._site(site_id)
        locale_id = self._locale_param(request, site)
        limit = self._int_param(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
        offset = self._int_param(request, "offset", 0, 0, None)
        window = site.page_ids[offset:offset + limit]
        return {
            "pages": [self.render(self.pages[pid], locale_id) for pid in window],
            "pagination": {"limit": limit, "offset": offset, "total": len(site.page_ids)},
        }

    async def put_page(self, request: Request, page_id: str) -> dict[str, Any]:
        page = self._page(page_id)
        locale_id = self._locale_param(request, self.sites[page.site_id])
        body = await self._json_object(request)
        problems: list[tuple[str, str]] = []
        for key in body:
            if key not in BODY_KEYS:
                problems.append((key, f"Unknown field ({key})"))
        check_update(body, "", problems)
        if problems:
            raise validation_error(problems)
        self._apply(page, locale_id, body)
        return self.render(page, locale_id)

    async def bulk_update(self, request: Request) -> dict[str, Any]:
        body = await self._json_object(request)
        entries = self._bulk_entries(body)
        targets = self._bulk_targets(entries)
        for page, locale_id, entry in targets:
            self._apply(page, locale_id, {k: v for k, v in entry.items() if k in BODY_KEYS})
        return {"pages": [self.render(page, locale_id) for page, locale_id, _entry in targets]}

    async def no_route(self, request: Request, rest: str) -> dict[str, Any]:
        message = f"Requested resource not found: no route {request.method} /{rest}"
        raise WebflowError(404, "resource_not_found", message)

    # ------------------------------------------------------------------ bulk helpers
    @staticmethod
    async def _json_object(request: Request) -> dict[str, Any]:
        ok, body = await read_json(request)
        if not ok:
            raise WebflowError(400, "bad_request", "Bad Request: Request is malformed")
        if not isinstance(body, dict):
            raise validation_error([("body", "Value (body)'s type should be object")])
        return body

    @staticmethod
    def _bulk_entries(body: dict[str, Any]) -> list[dict[str, Any]]:
        """Shape checks of the whole bulk body, every problem reported at once."""
        problems: list[tuple[str, str]] = [(key, f"Unknown field ({key})") for key in body if key != "pages"]
        pages = body.get("pages")
        if not isinstance(pages, list):
            raise validation_error([*problems, ("pages", "Value (pages)'s type should be array")])
        if not 1 <= len(pages) <= MAX_BULK:
            problems.append(("pages", f"Value (pages) must contain between 1 and {MAX_BULK} items"))
        for n, entry in enumerate(pages):
            prefix = f"pages[{n}]."
            if not isinstance(entry, dict):
                problems.append((f"pages[{n}]", f"Value (pages[{n}])'s type should be object"))
                continue
            allowed = ("id", "localeId", *BODY_KEYS)
            problems += [(prefix + k, f"Unknown field ({prefix}{k})") for k in entry if k not in allowed]
            if not isinstance(entry.get("id"), str) or not OBJECT_ID.match(entry["id"]):
                problems.append((prefix + "id", f"Value ({prefix}id) should be a valid ObjectId"))
            if "localeId" in entry and not isinstance(entry["localeId"], str):
                problems.append((prefix + "localeId", f"Value ({prefix}localeId)'s type should be string"))
            check_update(entry, prefix, problems)
        if problems:
            raise validation_error(problems)
        return pages

    def _bulk_targets(self, entries: list[dict[str, Any]]) -> list[tuple[data.Page, str, dict[str, Any]]]:
        """Resolve every entry before writing anything: the sandbox applies a bulk call all or nothing."""
        targets: list[tuple[data.Page, str, dict[str, Any]]] = []
        seen: set[tuple[str, str | None]] = set()
        for entry in entries:
            page = self.pages.get(entry["id"])
            if page is None:
                raise not_found("page")
            site = self.sites[page.site_id]
            key = (page.id, entry.get("localeId"))
            if key in seen:
                raise bad_request(f"Duplicate page id and localeId combination ({page.id}, {key[1]}).")
            seen.add(key)
            if targets and targets[0][0].site_id != page.site_id:
                raise bad_request("All pages must belong to the same site.")
            locale_id = entry.get("localeId")
            if locale_id is not None and not site.is_secondary(locale_id):
                raise bad_request("The provided locale must be a secondary locale.")
            targets.append((page, locale_id or site.primary.id, entry))
        return targets


def create(state: SandboxState) -> WebflowEmulator:
    return WebflowEmulator(state)
