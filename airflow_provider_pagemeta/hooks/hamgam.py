"""Hamgam hook: list, create and update a page's meta entries, and make them match a mapping.

:meth:`HamgamHook.set_page_meta` bridges keys and meta ids: one listing of the page, then only the
writes the plan (:func:`~airflow_provider_pagemeta.payloads.hamgam.plan_page_meta`) needs. The
create is the one call of the provider that is not idempotent; see :meth:`HamgamHook._create`.
The update document's example uses POST on a path without ``/base/``; its header (PATCH on
``/api/pages/base/{page_id}/meta/{id}``) is what this hook sends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_pagemeta import NOTSET, ArgNotSet
from airflow_provider_pagemeta.core.convert import to_id
from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paging import Paging
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.exceptions import CMSNotFoundError
from airflow_provider_pagemeta.payloads.hamgam import (
    CMS,
    MetaPlan,
    check_desired,
    check_key,
    create_body,
    one_value,
    plan_page_meta,
    update_body,
)

#: Listing order sent with every list request: the unique id, so offset pages of a page whose
#: entries share a ``created_at`` (the documented default order) can neither overlap nor skip.
LIST_ORDERING = "id"
#: Page id used by the connection test: Django ids start at 1, so no page has it (see ``_probe``).
PROBE_PAGE_ID = 0


class HamgamHook(PageMetaHook):
    """Talks to the Hamgam API with the token from the connection's password.

    Hamgam is self-hosted, so there is no default base URL: the connection's ``host`` is required
    (e.g. ``https://cms.example.com``; a path prefix is kept).

    :param hamgam_conn_id: the Airflow connection id (conn type ``hamgam``).
    """

    conn_name_attr = "hamgam_conn_id"
    default_conn_name = "hamgam_default"
    conn_type = "hamgam"
    hook_name = "Hamgam"

    cms: ClassVar[str] = "hamgam"
    default_base_url: ClassVar[str | None] = None
    auth_scheme: ClassVar[str] = "Token"

    def __init__(self, hamgam_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(hamgam_conn_id, **kwargs)
        self.hamgam_conn_id = hamgam_conn_id

    # ------------------------------------------------------------------ paths
    @staticmethod
    def _list_path(page_id: int) -> str:
        return join("api", "pages", "base", segment(page_id, "page_id", cms=CMS), "meta") + "/"

    @staticmethod
    def _detail_path(page_id: int, meta_id: int) -> str:
        return join("api", "pages", "base", segment(page_id, "page_id", cms=CMS), "meta",
                    segment(meta_id, "meta_id", cms=CMS))

    # ------------------------------------------------------------------ list
    def list_page_meta(self, page_id: int | str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every meta entry of a page, across all listing pages, ordered by id.

        Arguments are checked now, requests happen as the iterator is consumed.

        :param page_id: the page's id (a digit string from a rendered template is accepted).
        :param page_size: the ``limit`` to ask for; None keeps Hamgam's default (10). Hamgam
            documents no maximum, so a server cap is fine: paging follows what it returns.
        """
        pid = to_id(page_id, "page_id", cms=CMS)
        limit = to_id(page_size, "page_size", cms=CMS) if page_size is not None else None
        return self._iter_meta(pid, limit)

    def _iter_meta(self, page_id: int, limit: int | None) -> Iterator[dict[str, Any]]:
        path = self._list_path(page_id)
        params: dict[str, Any] = {"ordering": LIST_ORDERING, **({"limit": limit} if limit else {})}
        offset = 0
        paging = Paging(CMS, "list_page_meta")
        while True:
            paging.before_request(tuple(sorted((k, str(v)) for k, v in params.items())))
            body = self.request_json("GET", path, call="list_page_meta", params=params)
            results = paging.items(body.get("results"), "results", lambda meta: str(meta.get("id")))
            yield from results
            offset += len(results)
            count = body.get("count")
            if not results or not body.get("next") or (isinstance(count, int) and offset >= count):
                return
            path, params = self._next_request(str(body["next"]), path, params, offset)

    def _next_request(
        self, next_url: str, path: str, params: dict[str, Any], offset: int
    ) -> tuple[str, dict[str, Any]]:
        """Where the next listing page is: the server's ``next`` URL when it points at our own
        server (same scheme, host, port and base path, so the token goes nowhere else and never
        over a downgraded scheme); otherwise the same request with the offset we counted."""
        own = self._same_endpoint(next_url, path)
        if own is not None:
            return path, own
        return path, {**params, "offset": offset}

    def _same_endpoint(self, url: str, path: str) -> dict[str, Any] | None:
        """The query of ``url`` when it is this listing on this connection's server, else None
        (a proxy that rewrote the prefix or scheme, or a foreign host)."""
        base, target = urlsplit(self.base_url), urlsplit(url)
        if (target.scheme, target.hostname, _port(target)) != (base.scheme, base.hostname, _port(base)):
            return None
        if target.path.rstrip("/") != base.path.rstrip("/") + path.rstrip("/"):
            return None
        return dict(parse_qsl(target.query, keep_blank_values=True))

    def get_page_meta(self, page_id: int | str, meta_id: int | str) -> dict[str, Any]:
        """One meta entry by id (``GET /api/pages/base/{page_id}/meta/{id}``; the document's
        header says ``/api/blog/...``, its examples and the other endpoints do not)."""
        pid = to_id(page_id, "page_id", cms=CMS)
        mid = to_id(meta_id, "meta_id", cms=CMS)
        return self.request_json("GET", self._detail_path(pid, mid), call="get_page_meta")

    # ------------------------------------------------------------------ writes
    def create_page_meta(
        self, page_id: int | str, *, key: str, value_text: str | None = None, value_file: int | None = None
    ) -> dict[str, Any]:
        """Create a meta entry holding a text or a file (exactly one). Returns the created meta."""
        pid = to_id(page_id, "page_id", cms=CMS)
        checked_key = check_key(key)
        text, file_id = one_value(value_text, value_file)
        return self._create(pid, create_body(checked_key, text, file_id))

    def update_page_meta(
        self,
        page_id: int | str,
        meta_id: int | str,
        *,
        key: str,
        value_text: str | ArgNotSet | None = NOTSET,
        value_file: int | ArgNotSet | None = NOTSET,
    ) -> dict[str, Any]:
        """Set a meta's key and value. Exactly one value must be given; the other is sent as null,
        which is how Hamgam switches a meta between text and file. Returns the updated meta."""
        pid = to_id(page_id, "page_id", cms=CMS)
        mid = to_id(meta_id, "meta_id", cms=CMS)
        checked_key = check_key(key)
        text, file_id = one_value(value_text, value_file)
        return self._update(pid, mid, update_body(checked_key, text, file_id))

    def _create(self, page_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """POST is the one call of the provider that is not idempotent: sent twice it fails with
        "already exists" (a key is unique per page). When its answer is lost, the page's listing
        decides whether it landed; it is sent again only when the key is not there."""
        key = body["key"]

        def landed() -> dict[str, Any] | None:
            return next((meta for meta in self.list_page_meta(page_id) if meta.get("key") == key), None)

        return self.request_json(
            "POST", self._list_path(page_id), call="create_page_meta", json_body=body, settle=landed
        )

    def _update(self, page_id: int, meta_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.request_json("PATCH", self._detail_path(page_id, meta_id), call="update_page_meta",
                                 json_body=body)

    # ------------------------------------------------------------------ by key
    def plan_page_meta(
        self, page_id: int | str, *, text: Mapping[str, str] | None = None, files: Mapping[str, int] | None = None
    ) -> MetaPlan:
        """List the page once and return the :class:`MetaPlan` (no writes): the dry run."""
        pid = to_id(page_id, "page_id", cms=CMS)
        check_desired(text, files)
        return plan_page_meta(self.list_page_meta(pid), text=text, files=files)

    def apply_plan(self, page_id: int | str, plan: MetaPlan) -> dict[str, list[str]]:
        """Send a plan's writes in order; returns its summary. Each write is idempotent, so a run
        that fails half-way converges when it is run again."""
        pid = to_id(page_id, "page_id", cms=CMS)
        for planned in plan.requests:
            if planned.meta_id is None:
                self._create(pid, planned.body)
            else:
                self._update(pid, planned.meta_id, planned.body)
        return plan.summary()

    def set_page_meta(
        self, page_id: int | str, *, text: Mapping[str, str] | None = None, files: Mapping[str, int] | None = None
    ) -> dict[str, list[str]]:
        """Make the page's meta match ``text`` (key -> string) and ``files`` (key -> file id).

        One listing, then a POST per missing key and a PATCH per differing key; equal keys cost
        nothing. Returns ``{"created", "updated", "unchanged"}`` key lists in input order (text
        keys, then file keys). Keys not named are left alone.
        """
        return self.apply_plan(page_id, self.plan_page_meta(page_id, text=text, files=files))

    # ------------------------------------------------------------------ connection test
    def _probe(self) -> str:
        """List page 0's meta, limit 1: Hamgam has no "who am I" endpoint and every documented
        call sits under a page, but no page has id 0 (Django ids start at 1). The server checks
        the token and the page-meta permission before it looks the page up, so a 401/403 still
        fails here, while a JSON ``Not found.`` (or an empty list) proves the base URL, the token
        and the permission without reading any data. An HTML 404 means a wrong host or prefix."""
        path = join("api", "pages", "base", str(PROBE_PAGE_ID), "meta") + "/"
        try:
            self.request_json("GET", path, call="test_connection", params={"limit": 1})
        except CMSNotFoundError as exc:
            if exc.message.lstrip().startswith("<"):
                raise
        return f"Connected to Hamgam at {self.base_url}: token accepted with page-meta read permission"


def _port(parts: Any) -> int | None:
    """The effective port, so ``https://h`` and ``https://h:443`` compare equal."""
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
