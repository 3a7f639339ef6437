"""Buildin hook: connection, auth and the Buildin page calls, on the shared HTTP core.

Buildin pages are edited by people while DAGs run. ``If-Match`` exists so that a DAG never
overwrites a human's edit with data it read before that edit: :meth:`BuildinHook.modify_page`
reads the page with its version token, computes the change from what it read, and writes only
if the page is still at that version, reading again on a 409. What a call sends, and how its
arguments are checked, lives in :mod:`airflow_provider_pagemeta.payloads.buildin`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from airflow_provider_pagemeta import NOTSET, ArgNotSet
from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paging import Paging
from airflow_provider_pagemeta.core.paths import join
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.exceptions import CMSConflictError, CMSError
from airflow_provider_pagemeta.payloads.buildin import (
    CMS,
    PageFn,
    body_from_fn_result,
    build_update_body,
    check_if_match,
    check_max_conflicts,
    conflict_exhausted,
    database_query_path,
    page_path,
    query_body,
    version_token,
)


class BuildinHook(PageMetaHook):
    """Talks to the Buildin API with the token from the connection's password.

    :param buildin_conn_id: the Airflow connection id (conn type ``buildin``).
    """

    conn_name_attr = "buildin_conn_id"
    default_conn_name = "buildin_default"
    conn_type = "buildin"
    hook_name = "Buildin"

    cms: ClassVar[str] = "buildin"
    default_base_url: ClassVar[str | None] = "https://api.buildin.ai"
    auth_scheme: ClassVar[str] = "Bearer"

    def __init__(self, buildin_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(buildin_conn_id, **kwargs)
        self.buildin_conn_id = buildin_conn_id

    # ------------------------------------------------------------------ reads
    def get_page(self, page_id: str) -> dict[str, Any]:
        """``GET /v2/pages/{page_id}``: the page object (properties, icon, cover, trash state)."""
        page, _version = self.get_page_with_version(page_id)
        return page

    def get_page_with_version(self, page_id: str) -> tuple[dict[str, Any], str | None]:
        """The page and the token to send as ``If-Match`` when writing back what was read.

        The token is the ``ETag`` response header when the API sends one, else the page's
        ``last_edited_time`` (the docs only say it is "derived from the last read page version").
        """
        path = page_path(page_id)
        reply, page = self.request_json_response("GET", path, call="get_page")
        return page, version_token(reply.headers, page)

    def query_database(
        self,
        database_id: str,
        *,
        filter: Mapping[str, Any] | None = None,
        sorts: Sequence[Mapping[str, Any]] | None = None,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every page (database record) a query matches: ``POST /v2/databases/{id}/query``,
        following ``next_cursor`` while ``has_more``.

        Arguments are checked now, requests happen as the iterator is consumed. The cursor is
        opaque and sent back as given; a cursor that repeats, or ``has_more`` without one, is a
        ``CMSInvalidResponseError`` rather than a loop. A filter or sort the server does not take
        is a ``CMSValidationError`` whose ``code`` is Buildin's (``unsupported_filter``,
        ``unsupported_sort``, ``validation_error``).

        :param filter: Buildin's filter object, e.g. ``{"property": "SEO status", "select":
            {"equals": "needs refresh"}}`` (``and``/``or`` compounds nest others).
        :param sorts: ``[{"property": "Name", "direction": "ascending"}]`` or
            ``[{"timestamp": "last_edited_time", "direction": "descending"}]``.
        :param page_size: records per request, 1 to 100 (the most the API allows, and the fewest
            requests).
        """
        path = database_query_path(database_id)
        body = query_body(filter, sorts, page_size)
        return self._iter_query(path, body)

    def _iter_query(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        paging = Paging(CMS, "query_database", method="POST")
        cursor: str | None = None
        while True:
            paging.before_request(cursor)
            request_body = {**body, "start_cursor": cursor} if cursor is not None else body
            reply = self.request_json("POST", path, call="query_database", json_body=request_body)
            yield from paging.items(reply.get("results"), "results", lambda page: str(page.get("id")))
            if reply.get("has_more") is not True:
                return
            following = reply.get("next_cursor")
            if not isinstance(following, str) or not following:
                raise paging.error("has_more is true but next_cursor is missing: the query cannot go on")
            cursor = following

    # ------------------------------------------------------------------ writes
    def update_page(
        self,
        page_id: str,
        *,
        properties: Mapping[str, Any] | None = None,
        icon: dict[str, Any] | ArgNotSet | None = NOTSET,
        cover: dict[str, Any] | ArgNotSet | None = NOTSET,
        in_trash: bool | None = None,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH /v2/pages/{page_id}`` with only the given keys; returns the updated page.

        ``icon``/``cover``: NOTSET leaves them, ``None`` removes them. With ``if_match`` the write
        is rejected (``CMSConflictError``) when the page changed since that version was read.
        """
        path = page_path(page_id)
        body = build_update_body(properties=properties, icon=icon, cover=cover, in_trash=in_trash)
        if not body:
            raise invalid("nothing to update: give properties, icon, cover or in_trash", "properties", CMS)
        headers = {"If-Match": check_if_match(if_match)} if if_match is not None else None
        return self._patch(path, body, headers, call="update_page")

    def modify_page(self, page_id: str, fn: PageFn, *, max_conflicts: int = 3) -> dict[str, Any]:
        """Optimistic read-modify-write: never overwrite an edit made after our read.

        Reads the page and its version, calls ``fn(page)`` for the ``update_page`` keyword
        arguments (``properties``/``icon``/``cover``/``in_trash``; an empty result means nothing to
        change, and the page is returned without a write), and PATCHes with ``If-Match``. On a 409
        someone edited the page in between: read again and call ``fn`` again on the fresh page.
        At most ``1 + max_conflicts`` PATCHes are sent, then ``CMSConflictError`` is raised.
        """
        path = page_path(page_id)
        if not callable(fn):
            raise invalid(f"fn must be callable (page -> update kwargs), got {type(fn).__name__}", "fn", CMS)
        limit = check_max_conflicts(max_conflicts)
        conflicts = 0
        while True:
            page, version = self.get_page_with_version(page_id)
            body = body_from_fn_result(fn(page))
            if not body:
                self.log.info("Buildin page %s already matches: nothing to write", page_id)
                return page
            if version is None:
                raise CMSError(
                    "the page has neither an ETag header nor last_edited_time, so it cannot be "
                    "written safely with If-Match", cms=CMS, method="GET", call="modify_page",
                )
            try:
                return self._patch(path, body, {"If-Match": version}, call="modify_page")
            except CMSConflictError as exc:
                conflicts += 1
                if conflicts > limit:
                    raise conflict_exhausted(page_id, conflicts, limit, exc) from exc
                self.log.warning(
                    "Buildin page %s changed since it was read (version %s); reading it again (conflict %d of %d)",
                    page_id, version, conflicts, limit,
                )

    # ------------------------------------------------------------------ connection test
    def _probe(self) -> str:
        """``GET /v2/users/me``: the docs' "smallest protected request"."""
        me = self.request_json("GET", join("v2", "users", "me"), call="test_connection")
        name = me.get("name") if isinstance(me, dict) else None
        can_write = isinstance(me, dict) and (me.get("capabilities") or {}).get("pages.write") is True
        write_note = "" if can_write else " (the token lacks pages.write: page updates will fail)"
        return f"Connected to Buildin as {name or 'the integration'}{write_note}"

    # ------------------------------------------------------------------ helpers
    def _patch(self, path: str, body: dict[str, Any], headers: dict[str, str] | None, *, call: str) -> dict[str, Any]:
        # request_json checks that the answer is a JSON object (a page), else CMSInvalidResponseError.
        page: dict[str, Any] = self.request_json("PATCH", path, call=call, json_body=body, headers=headers)
        return page
