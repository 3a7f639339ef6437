"""ButterCMS hook: connection, auth and the ButterCMS page calls, on the shared HTTP core.

ButterCMS answers a page update with ``202 {"status": "pending"}`` and applies it later, with no
job id and no job-status endpoint. The only documented way to know that an update has landed is
to read the page (``preview=1`` so drafts count) until every expected field value shows. That
rule lives here, once, as :func:`differing_fields` / :func:`page_differences`, and the sensor,
the trigger and the operators all call it, so "complete" can never mean two different things.

Field paths in the "still differing" lists are dotted: ``headline``, ``seo.title`` (a nested
object compared key by key), ``questions`` (a list, i.e. a repeater, compared whole). With
``expected_fields_by_locale`` each path is prefixed by its locale and a colon: ``es:seo.title``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.core.hook import PageMetaHook
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.exceptions import CMSServerError

log = logging.getLogger(__name__)

CMS = "buttercms"
STATUSES = ("draft", "published")
#: What ``page_type`` may be besides a page-type slug: "search every page type".
ANY_PAGE_TYPE = "*"

_MISSING = object()


# ---------------------------------------------------------------------- completion rule
def differing_fields(expected: Mapping[str, Any], actual: Any, prefix: str = "") -> list[str]:
    """Dotted paths of ``expected`` whose value the page does not show (yet).

    Nested objects (components, ``seo``) are compared key by key, because a partial update of a
    component leaves its other keys as they were and those must not count as "different". Lists
    (repeaters) are compared whole, because the Write API replaces a repeater wholesale. A key
    missing from the page counts as different.
    """
    differing: list[str] = []
    for key, want in expected.items():
        path = f"{prefix}{key}"
        have = actual.get(key, _MISSING) if isinstance(actual, Mapping) else _MISSING
        if isinstance(want, Mapping) and want:
            if isinstance(have, Mapping):
                differing.extend(differing_fields(want, have, path + "."))
            else:
                differing.append(path)
        elif have is _MISSING or not _same(want, have):
            differing.append(path)
    return differing


def _same(want: Any, have: Any) -> bool:
    """JSON equality: ``True`` never equals ``1`` (Python says it does, JSON does not)."""
    if isinstance(want, bool) or isinstance(have, bool):
        return type(want) is type(have) and want == have
    if isinstance(want, list) and isinstance(have, list):
        return len(want) == len(have) and all(_same(a, b) for a, b in zip(want, have, strict=True))
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        return want.keys() == have.keys() and all(_same(want[k], have[k]) for k in want)
    return bool(want == have)


def page_differences(spec: Mapping[str, Any], pages: Mapping[str | None, Mapping[str, Any]]) -> list[str]:
    """The completion rule for one page spec (see :func:`page_spec`).

    :param pages: the Read API ``data`` object per locale read (:func:`spec_locales`).
    :return: dotted field paths still different; empty means the update has landed.
    """
    by_locale = spec.get("expected_fields_by_locale")
    if by_locale:
        differing: list[str] = []
        for locale, fields in by_locale.items():
            current = pages.get(locale, {}).get("fields", {})
            differing.extend(differing_fields(fields, current, f"{locale}:"))
        return differing
    locale = spec.get("locale")
    return differing_fields(spec["expected_fields"], pages.get(locale, {}).get("fields", {}))


def spec_locales(spec: Mapping[str, Any]) -> list[str | None]:
    """The locales to read for a spec (``None``: the account's default locale)."""
    by_locale = spec.get("expected_fields_by_locale")
    if by_locale:
        return list(by_locale)
    return [spec.get("locale")]


def confirmed_page(spec: Mapping[str, Any], pages: Mapping[str | None, Mapping[str, Any]]) -> Any:
    """What the sensor and operators return once complete: the page's ``data`` object, or with
    ``expected_fields_by_locale`` a dict locale -> ``data`` object (one read per locale)."""
    if spec.get("expected_fields_by_locale"):
        return {locale: pages[locale] for locale in spec_locales(spec)}
    return pages[spec.get("locale")]


def page_spec(
    page_type: Any,
    page_slug: Any,
    *,
    expected_fields: Any = None,
    expected_fields_by_locale: Any = None,
    locale: Any = None,
) -> dict[str, Any]:
    """Validate and build the plain, JSON-serialisable description of one page to watch.

    This is what triggers carry (``pages=[...]``) and what the sensor, the operator and a bulk
    operator build; validating it here means a bad spec fails on the worker, not in the
    triggerer.
    """
    ButterCMSHook.page_path(page_type, page_slug)  # the same path checks as the calls
    fields, by_locale = _check_field_forms(
        expected_fields, expected_fields_by_locale, locale, names=("expected_fields", "expected_fields_by_locale")
    )
    spec: dict[str, Any] = {"page_type": page_type, "page_slug": page_slug}
    if by_locale is not None:
        spec["expected_fields_by_locale"] = by_locale
    else:
        spec["expected_fields"] = fields
        spec["locale"] = locale
    return spec


def _check_field_forms(
    fields: Any, by_locale: Any, locale: Any, *, names: tuple[str, str] = ("fields", "fields_by_locale")
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]] | None]:
    """Exactly one of the single-locale and multi-locale forms, each non-empty, JSON-only."""
    single_name, multi_name = names
    if (fields is None) == (by_locale is None):
        raise v.fail(f"give exactly one of {single_name} or {multi_name}", single_name, CMS)
    v.optional_str(locale, "locale", cms=CMS)
    if fields is not None:
        checked = _check_fields(fields, single_name)
        v.require_json(checked, single_name, cms=CMS)
        return checked, None
    if locale is not None:
        raise v.fail(
            f"locale cannot be combined with {multi_name}: the locale codes are its keys", "locale", CMS
        )
    per_locale = v.require_mapping(by_locale, multi_name, cms=CMS)
    checked_by_locale: dict[str, dict[str, Any]] = {}
    for code, locale_fields in per_locale.items():
        v.require_str(code, f"{multi_name} locale code", cms=CMS)
        checked_by_locale[code] = _check_fields(locale_fields, f"{multi_name}[{code!r}]", argument=multi_name)
    v.require_json(checked_by_locale, multi_name, cms=CMS)
    return None, checked_by_locale


def _check_fields(value: Any, label: str, *, argument: str | None = None) -> dict[str, Any]:
    argument = argument or label
    if not isinstance(value, Mapping):
        raise v.fail(f"{label} must be a dict of field name -> value, got {type(value).__name__}", argument, CMS)
    if not value:
        raise v.fail(f"{label} must not be empty (nothing to update)", argument, CMS)
    for key in value:
        if not isinstance(key, str) or not key.strip():
            raise v.fail(f"{label} has a field name that is not a non-empty string: {key!r}", argument, CMS)
    return dict(value)


def validate_update(
    page_type: Any,
    page_slug: Any,
    *,
    fields: Any = None,
    fields_by_locale: Any = None,
    status: Any = "draft",
    locale: Any = None,
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Check every argument of an update and build ``(path, body, query params)``.

    Public so operators (and a bulk operator) can fail a bad row before any request is sent.
    """
    path = ButterCMSHook.page_path(page_type, page_slug)
    single, by_locale = _check_field_forms(fields, fields_by_locale, locale)
    if status not in STATUSES:
        raise v.fail(f"status must be 'draft' or 'published', got {status!r}", "status", CMS)
    body = {"status": status, "fields": single if single is not None else by_locale}
    params = {"locale": locale} if single is not None and locale is not None else None
    return path, body, params


# ---------------------------------------------------------------------- hook
class ButterCMSHook(PageMetaHook):
    """Talks to the ButterCMS API with the token from the connection's password.

    Writes use the password (a write-enabled token). Reads use the extra ``read_token`` when
    set, else the password: the read token is the one ButterCMS hands out to every account, and
    keeping polls on it means a leaked poll log would expose the lesser token.

    :param buttercms_conn_id: the Airflow connection id (conn type ``buttercms``).
    """

    conn_name_attr = "buttercms_conn_id"
    default_conn_name = "buttercms_default"
    conn_type = "buttercms"
    hook_name = "ButterCMS"

    cms: ClassVar[str] = "buttercms"
    default_base_url: ClassVar[str | None] = "https://api.buttercms.com"
    auth_scheme: ClassVar[str] = "Token"
    cms_extras: ClassVar[dict[str, Any]] = {"read_token": None}

    def __init__(self, buttercms_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(buttercms_conn_id, **kwargs)
        self.buttercms_conn_id = buttercms_conn_id

    # ------------------------------------------------------------------ paths and params
    @staticmethod
    def page_path(page_type: Any, page_slug: Any) -> str:
        """``/v2/pages/{type}/{slug}/``: every user segment encoded, trailing slash always (a
        missing one costs a 301 and a second billed call)."""
        type_segment = ANY_PAGE_TYPE if page_type == ANY_PAGE_TYPE else segment(page_type, "page_type", cms=CMS)
        return join("v2", "pages", type_segment, segment(page_slug, "page_slug", cms=CMS)) + "/"

    @staticmethod
    def _read_params(locale: Any, preview: Any) -> dict[str, Any]:
        v.require_bool(preview, "preview", cms=CMS)
        locale = v.optional_str(locale, "locale", cms=CMS)
        params: dict[str, Any] = {}
        if preview:
            params["preview"] = 1
        if locale is not None:
            params["locale"] = locale
        return params

    def _read_token(self) -> str | None:
        token = self.settings.extras.get("read_token")
        return token if isinstance(token, str) and token else None

    async def _aread_token(self) -> str | None:
        token = (await self.asettings()).extras.get("read_token")
        return token if isinstance(token, str) and token else None

    # ------------------------------------------------------------------ calls
    def update_page(
        self,
        page_type: str,
        page_slug: str,
        *,
        fields: Mapping[str, Any] | None = None,
        fields_by_locale: Mapping[str, Mapping[str, Any]] | None = None,
        status: str = "draft",
        locale: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH /v2/pages/{type}/{slug}/``: queue a partial update; returns the 202 body.

        The 202 only means "validated and queued": the change shows up later (see
        :meth:`check_page`). Warnings in the body (ignored keys) are logged.
        """
        path, body, params = validate_update(
            page_type, page_slug, fields=fields, fields_by_locale=fields_by_locale, status=status, locale=locale
        )
        # request_json_response, not request + parse: a 2xx whose body is empty or cut short must be
        # retried like a dropped connection (the PATCH is idempotent), as every other call does.
        response, result = self.request_json_response(
            "PATCH", path, call="update_page", params=params, json_body=body
        )
        if response.status_code != 202:
            log.warning("buttercms update_page: expected 202 Accepted, got %s", response.status_code)
        for warning in result.get("warnings", []) if isinstance(result, dict) else []:
            log.warning("buttercms update_page %s/%s: %s", page_type, page_slug, warning)
        return result if isinstance(result, dict) else {"response": result}

    def get_page(
        self, page_type: str, page_slug: str, *, locale: str | None = None, preview: bool = True
    ) -> dict[str, Any]:
        """Read API ``GET /v2/pages/{type}/{slug}/``; returns the ``data`` object.

        ``preview=True`` by default because a draft update is only visible with ``preview=1``.
        """
        path = self.page_path(page_type, page_slug)
        params = self._read_params(locale, preview)
        body = self.request_json("GET", path, call="get_page", params=params, token=self._read_token())
        return self._data(body, "GET", path)

    async def aget_page(
        self, page_type: str, page_slug: str, *, locale: str | None = None, preview: bool = True
    ) -> dict[str, Any]:
        """:meth:`get_page` on the async client (for triggers: never blocks the event loop)."""
        path = self.page_path(page_type, page_slug)
        params = self._read_params(locale, preview)
        token = await self._aread_token()
        body = await self.arequest_json("GET", path, call="get_page", params=params, token=token)
        return self._data(body, "GET", path)

    def _data(self, body: Any, method: str, path: str) -> dict[str, Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise CMSServerError(
                "the Read API response has no 'data' object", cms=CMS, method=method, url=path, call="get_page"
            )
        return data

    def check_page(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Read the page (once per locale of the spec) and apply the completion rule.

        :return: ``{"differing": [...], "page": <confirmed page>}``; ``page`` is None while
            something still differs.
        """
        pages = {
            locale: self.get_page(spec["page_type"], spec["page_slug"], locale=locale)
            for locale in spec_locales(spec)
        }
        return _check_result(spec, pages)

    async def acheck_page(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`check_page` on the async client."""
        pages = {}
        for locale in spec_locales(spec):
            pages[locale] = await self.aget_page(spec["page_type"], spec["page_slug"], locale=locale)
        return _check_result(spec, pages)

    def _probe(self) -> str:
        """``GET /v2/pages/*/?page_size=1`` with the read token: the documented "list Single
        Pages" call, the cheapest authenticated read there is (one billed call, at most one item,
        no page needs to exist). The write token cannot be verified without writing, and a
        connection test must not write, so the message says so."""
        body = self.request_json(
            "GET", join("v2", "pages", ANY_PAGE_TYPE) + "/", call="test_connection",
            params={"page_size": 1}, token=self._read_token(),
        )
        count = body.get("meta", {}).get("count") if isinstance(body, dict) else None
        which = "read token" if self._read_token() else "token"
        return (
            f"Connected to ButterCMS: the {which} was accepted ({count if count is not None else '?'} single "
            "page(s) visible). A write token is only checked by the first update."
        )


def _check_result(spec: Mapping[str, Any], pages: Mapping[str | None, dict[str, Any]]) -> dict[str, Any]:
    differing = page_differences(spec, pages)
    return {"differing": differing, "page": None if differing else confirmed_page(spec, pages)}
