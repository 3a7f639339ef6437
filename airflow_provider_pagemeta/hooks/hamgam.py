"""Hamgam hook: list, create and update a page's meta entries, and make them match a mapping.

Hamgam addresses meta entries by numeric id, while DAG authors think in keys ("og_image",
"contact_us_url"). :meth:`HamgamHook.set_page_meta` bridges the two: one listing of the page,
then only the writes needed. The plan behind it is the pure function :func:`plan_page_meta`, so
a dry run shows exactly the requests a real run would send.

API facts that shape this module (Hamgam's page-meta documents):

- a meta holds a text (``value_text``) or a file (``value_file`` id on write, the
  ``value_file_data`` object on read); to switch kinds the other value must be set to null in the
  same request, so every PATCH sends both;
- ``key`` is required on PATCH even when it does not change;
- a file meta may carry ``value_text: ""`` next to its file, so an empty text is "no text";
- the update document's example uses POST on a path without ``/base/``; its header (PATCH on
  ``/api/pages/base/{page_id}/meta/{id}``) is what this hook sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from airflow.sdk.definitions._internal.types import NOTSET, ArgNotSet

from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.core.validation import (
    fail,
    require_json,
    require_mapping,
    require_positive_int,
    require_str,
)
from airflow_provider_pagemeta.exceptions import CMSNotFoundError, CMSServerError

CMS = "hamgam"
#: Listing order sent with every list request: the unique id, so offset pages of a page whose
#: entries share a ``created_at`` (the documented default order) can neither overlap nor skip.
LIST_ORDERING = "id"
#: Page id used by the connection test: Django ids start at 1, so no page has it (see ``_probe``).
PROBE_PAGE_ID = 0

#: A meta's value in plans and dry-run diffs: ``{"text": "..."}`` or ``{"file": 4}``; None when missing.
MetaValue = dict[str, Any]


# ---------------------------------------------------------------------- argument checks
def check_key(value: Any, argument: str = "key") -> str:
    """A meta key: a non-empty string (keys are what users address, so a blank one is a bug)."""
    return require_str(value, argument, cms=CMS)


def check_file_id(value: Any, argument: str = "value_file") -> int:
    """A file id: a positive int. Strings are refused here: a file id in the wrong type is almost
    always a mapping mix-up (a file name or URL where an id belongs)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"{argument} must be a file id (int), got {type(value).__name__}", argument, CMS)
    return require_positive_int(value, argument, cms=CMS)


def check_text(value: Any, argument: str = "value_text") -> str:
    """A text value; its size is checked here so ``set_page_meta`` refuses it before listing."""
    return require_json(require_str(value, argument, cms=CMS, allow_empty=True), argument, cms=CMS)


def check_desired(text: Any, files: Any) -> tuple[dict[str, str], dict[str, int]]:
    """Validate ``set_page_meta``'s target: key -> text and key -> file id, disjoint, not both empty."""
    text_map = require_mapping(text, "text", cms=CMS, allow_empty=True) if text is not None else {}
    file_map = require_mapping(files, "files", cms=CMS, allow_empty=True) if files is not None else {}
    if not text_map and not file_map:
        raise fail("give text and/or files: there is no meta key to set", "text", CMS)
    checked_text = {check_key(k, "text"): check_text(v, f"text[{k!r}]") for k, v in text_map.items()}
    checked_files = {check_key(k, "files"): check_file_id(v, f"files[{k!r}]") for k, v in file_map.items()}
    both = sorted(set(checked_text) & set(checked_files))
    if both:
        raise fail(f"key(s) {', '.join(both)} given in both text and files; a meta holds one value", "files", CMS)
    return checked_text, checked_files


def _one_value(value_text: Any, value_file: Any) -> tuple[str | None, int | None]:
    """Exactly one of the two values, validated; NOTSET and None both mean "not given"."""
    text = None if isinstance(value_text, ArgNotSet) else value_text
    file_id = None if isinstance(value_file, ArgNotSet) else value_file
    if text is not None and file_id is not None:
        raise fail("give only one of value_text or value_file: a meta holds a text or a file", "value_file", CMS)
    if text is None and file_id is None:
        raise fail("give one of value_text or value_file (not None)", "value_text", CMS)
    if text is not None:
        return check_text(text), None
    return None, check_file_id(file_id)


# ---------------------------------------------------------------------- request bodies
def create_body(key: str, value_text: str | None, value_file: int | None) -> dict[str, Any]:
    """POST body: only the given value (the other one keeps the server's default)."""
    if value_file is not None:
        return {"key": key, "value_file": value_file}
    return {"key": key, "value_text": value_text}


def update_body(key: str, value_text: str | None, value_file: int | None) -> dict[str, Any]:
    """PATCH body: ``key`` (required by Hamgam) and both values, the unused one null, so a switch
    between text and file happens in one request as the API demands."""
    return {"key": key, "value_text": value_text, "value_file": value_file}


# ---------------------------------------------------------------------- the plan
def current_value(meta: Mapping[str, Any]) -> MetaValue:
    """A listed meta's value. A file wins over the ``""`` text Hamgam keeps next to files."""
    file_data = meta.get("value_file_data")
    if isinstance(file_data, Mapping) and file_data.get("id") is not None:
        return {"file": file_data["id"]}
    return {"text": meta.get("value_text")}


def _is_clean(meta: Mapping[str, Any], wanted: MetaValue) -> bool:
    """True when the meta already holds exactly ``wanted``: a file meta must carry no real text
    (null or the ``""`` Hamgam stores), a text meta no file."""
    if current_value(meta) != wanted:
        return False
    return "text" in wanted or meta.get("value_text") in (None, "")


@dataclass(frozen=True)
class PlannedRequest:
    """One write :func:`plan_page_meta` decided on; ``meta_id`` is None for a create (POST)."""

    method: str
    key: str
    body: dict[str, Any]
    meta_id: int | None
    old: MetaValue | None
    new: MetaValue

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "key": self.key, "meta_id": self.meta_id, "body": self.body,
                "old": self.old, "new": self.new}


@dataclass(frozen=True)
class MetaPlan:
    """What it takes to make a page's meta match a target. Key lists keep the input order:
    ``text`` keys first, then ``files`` keys, each in the order given."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    requests: list[PlannedRequest] = field(default_factory=list)

    def summary(self) -> dict[str, list[str]]:
        """The ``set_page_meta`` return value: ``{"created", "updated", "unchanged"}`` key lists."""
        return {"created": list(self.created), "updated": list(self.updated), "unchanged": list(self.unchanged)}

    def changes(self) -> dict[str, dict[str, MetaValue | None]]:
        """``{key: {"old": ..., "new": ...}}`` for every key that would be written."""
        return {r.key: {"old": r.old, "new": r.new} for r in self.requests}


def plan_page_meta(
    existing: Iterable[Mapping[str, Any]],
    *,
    text: Mapping[str, str] | None = None,
    files: Mapping[str, int] | None = None,
) -> MetaPlan:
    """Compare a page's listed meta (``existing``) with the target and return the writes needed.

    Pure: no I/O, so dry runs and :meth:`HamgamHook.set_page_meta` share it. A missing key becomes
    a POST; a key whose value or kind differs becomes a PATCH sending both values (one null); an
    equal key produces no request. Keys on the page but not in the target are left alone (Hamgam
    documents no delete).
    """
    text_map, file_map = check_desired(text, files)
    by_key = {str(m.get("key")): m for m in existing}
    wanted: list[tuple[str, MetaValue]] = [(k, {"text": v}) for k, v in text_map.items()]
    wanted += [(k, {"file": v}) for k, v in file_map.items()]
    plan = MetaPlan()
    for key, value in wanted:
        value_text, value_file = value.get("text"), value.get("file")
        meta = by_key.get(key)
        if meta is None:
            plan.created.append(key)
            body = create_body(key, value_text, value_file)
            plan.requests.append(PlannedRequest("POST", key, body, None, None, value))
        elif _is_clean(meta, value):
            plan.unchanged.append(key)
        else:
            plan.updated.append(key)
            body = update_body(key, value_text, value_file)
            plan.requests.append(PlannedRequest("PATCH", key, body, int(meta["id"]), current_value(meta), value))
    return plan


# ---------------------------------------------------------------------- the hook
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
        pid = require_positive_int(page_id, "page_id", cms=CMS)
        limit = require_positive_int(page_size, "page_size", cms=CMS) if page_size is not None else None
        return self._iter_meta(pid, limit)

    def _iter_meta(self, page_id: int, limit: int | None) -> Iterator[dict[str, Any]]:
        path = self._list_path(page_id)
        params: dict[str, Any] = {"ordering": LIST_ORDERING, **({"limit": limit} if limit else {})}
        offset = 0
        seen: set[tuple[tuple[str, str], ...]] = set()
        while True:
            self._check_progress(seen, params)
            body = self.request_json("GET", path, call="list_page_meta", params=params)
            results = list(body.get("results") or [])
            yield from results
            offset += len(results)
            count = body.get("count")
            if not results or not body.get("next") or (isinstance(count, int) and offset >= count):
                return
            path, params = self._next_request(body["next"], path, params, offset)

    def _check_progress(self, seen: set[tuple[tuple[str, str], ...]], params: dict[str, Any]) -> None:
        """Refuse to ask for the same listing page twice: a ``next`` that loops would otherwise
        page forever, and a listing cut short would make ``set_page_meta`` re-create keys."""
        page = tuple(sorted((k, str(v)) for k, v in params.items()))
        if page in seen:
            raise CMSServerError(
                f"the listing's next link repeats a page already read ({dict(page)}); paging does not advance",
                cms=CMS, method="GET", call="list_page_meta",
            )
        seen.add(page)

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
        pid = require_positive_int(page_id, "page_id", cms=CMS)
        mid = require_positive_int(meta_id, "meta_id", cms=CMS)
        return self.request_json("GET", self._detail_path(pid, mid), call="get_page_meta")

    # ------------------------------------------------------------------ writes
    def create_page_meta(
        self, page_id: int | str, *, key: str, value_text: str | None = None, value_file: int | None = None
    ) -> dict[str, Any]:
        """Create a meta entry holding a text or a file (exactly one). Returns the created meta."""
        pid = require_positive_int(page_id, "page_id", cms=CMS)
        checked_key = check_key(key)
        text, file_id = _one_value(value_text, value_file)
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
        pid = require_positive_int(page_id, "page_id", cms=CMS)
        mid = require_positive_int(meta_id, "meta_id", cms=CMS)
        checked_key = check_key(key)
        text, file_id = _one_value(value_text, value_file)
        return self._update(pid, mid, update_body(checked_key, text, file_id))

    def _create(self, page_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.request_json("POST", self._list_path(page_id), call="create_page_meta", json_body=body)

    def _update(self, page_id: int, meta_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.request_json("PATCH", self._detail_path(page_id, meta_id), call="update_page_meta",
                                 json_body=body)

    # ------------------------------------------------------------------ by key
    def plan_page_meta(
        self, page_id: int | str, *, text: Mapping[str, str] | None = None, files: Mapping[str, int] | None = None
    ) -> MetaPlan:
        """List the page once and return the :class:`MetaPlan` (no writes): the dry run."""
        pid = require_positive_int(page_id, "page_id", cms=CMS)
        check_desired(text, files)
        return plan_page_meta(self.list_page_meta(pid), text=text, files=files)

    def apply_plan(self, page_id: int | str, plan: MetaPlan) -> dict[str, list[str]]:
        """Send a plan's writes in order; returns its summary. Each write is idempotent, so a run
        that fails half-way converges when it is run again."""
        pid = require_positive_int(page_id, "page_id", cms=CMS)
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
