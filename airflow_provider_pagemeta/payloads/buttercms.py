"""ButterCMS page updates as data: the Write API body, the page spec a wait watches, and the
completion rule.

ButterCMS answers a page update with ``202 {"status": "pending"}`` and applies it later, with no
job id and no job-status endpoint. The only documented way to know that an update has landed is
to read the page until every expected field value shows (``preview=1`` for a draft; the
published read, without ``preview``, for an update sent with ``status="published"``). That rule
lives here, once, as :func:`differing_fields` / :func:`page_differences`, and the hook's waits
(used by the operators, the sensor and the trigger alike) call it, so "complete" can never mean
two different things.

Field paths in the "still differing" lists are dotted: ``headline``, ``seo.title`` (a nested
object compared key by key), ``questions`` (a list, i.e. a repeater, compared whole). With
``expected_fields_by_locale`` each path is prefixed by its locale and a colon: ``es:seo.title``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_pagemeta.core import validation as v
from airflow_provider_pagemeta.core.paths import join, segment
from airflow_provider_pagemeta.payloads import json_equal

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
        elif have is _MISSING or not json_equal(want, have):
            differing.append(path)
    return differing


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
    preview: Any = True,
) -> dict[str, Any]:
    """Validate and build the plain, JSON-serialisable description of one page to watch.

    This is what triggers carry (``pages=[...]``) and what the sensor, the operator and a bulk
    operator build; validating it here means a bad spec fails on the worker, not in the
    triggerer. ``preview`` says which version to read: the latest draft (``True``, for updates
    sent as drafts) or the published one (``False``, for updates sent with ``status="published"``:
    confirming those on the draft would pass before visitors see anything).
    """
    page_path(page_type, page_slug)  # the same path checks as the calls
    fields, by_locale = _check_field_forms(
        expected_fields, expected_fields_by_locale, locale, names=("expected_fields", "expected_fields_by_locale")
    )
    spec: dict[str, Any] = {"page_type": page_type, "page_slug": page_slug,
                            "preview": v.require_bool(preview, "preview", cms=CMS)}
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
        raise v.invalid(f"give exactly one of {single_name} or {multi_name}", single_name, CMS)
    v.optional_str(locale, "locale", cms=CMS)
    if fields is not None:
        checked = _check_fields(fields, single_name)
        v.require_json(checked, single_name, cms=CMS)
        return checked, None
    if locale is not None:
        raise v.invalid(
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
        raise v.invalid(f"{label} must be a dict of field name -> value, got {type(value).__name__}", argument, CMS)
    if not value:
        raise v.invalid(f"{label} must not be empty (nothing to update)", argument, CMS)
    for key in value:
        if not isinstance(key, str) or not key.strip():
            raise v.invalid(f"{label} has a field name that is not a non-empty string: {key!r}", argument, CMS)
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
    path = page_path(page_type, page_slug)
    single, by_locale = _check_field_forms(fields, fields_by_locale, locale)
    if status not in STATUSES:
        raise v.invalid(f"status must be 'draft' or 'published', got {status!r}", "status", CMS)
    body = {"status": status, "fields": single if single is not None else by_locale}
    params = {"locale": locale} if single is not None and locale is not None else None
    return path, body, params


def journal_options(status: str, *, by_locale: bool) -> dict[str, Any]:
    """The journal's ``cms_options`` of an update: what a restore must repeat. The status says
    which version changed (and is read and written back); ``by_locale`` says that field names
    start with a locale code (``fields.es.headline``), as with ``fields_by_locale``."""
    return {"status": status, "by_locale": by_locale}


def preview_for(status: str) -> bool:
    """Which read confirms an update sent with ``status``: the draft read for drafts, the
    published read (no ``preview``) for ``published``."""
    return status != "published"


#: Most pages one List Pages call returns (``page_size`` 1-100).
LIST_PAGE_SIZE_MAX = 100


def list_path(page_type: Any) -> str:
    """``/v2/pages/{type}/`` (List Pages; ``*`` lists the Single Pages), trailing slash always."""
    if page_type == ANY_PAGE_TYPE:
        return join("v2", "pages", ANY_PAGE_TYPE) + "/"
    return join("v2", "pages", segment(page_type, "page_type", cms=CMS)) + "/"


def page_path(page_type: Any, page_slug: Any) -> str:
    """``/v2/pages/{type}/{slug}/``: every user segment encoded, trailing slash always (a missing
    one costs a 301 and a second billed call)."""
    type_segment = ANY_PAGE_TYPE if page_type == ANY_PAGE_TYPE else segment(page_type, "page_type", cms=CMS)
    return join("v2", "pages", type_segment, segment(page_slug, "page_slug", cms=CMS)) + "/"


def check_result(spec: Mapping[str, Any], pages: Mapping[str | None, Mapping[str, Any]]) -> dict[str, Any]:
    """``{"differing": [...], "page": <confirmed page or None>}`` for one read round of a spec."""
    differing = page_differences(spec, pages)
    return {"differing": differing, "page": None if differing else confirmed_page(spec, pages)}
