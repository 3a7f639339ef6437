"""Putting journaled values back: the restore half of a bulk run, one adapter per CMS.

A journal's ``applied`` entries say, per page and field, what a value was (``old``) and what a
task made it (``new``). Restoring walks each field's entries newest first from the value the page
has now:

- the page still shows the entry's ``new``: the value goes back to its ``old``, and the next
  (older) entry is checked against that;
- the page already shows the entry's ``old`` (restored before, or never applied): nothing to do
  for that entry;
- the page shows something else: someone changed it since. The page is a **conflict** and is left
  alone (every field of it: a half-restored page mixes two people's edits), unless ``force``;
- the entry has no ``old`` (the change created the value, e.g. a new Hamgam key), or its ``old``
  cannot be written back (a Webflow null): **not restorable**, reported and never guessed.

Each page is read once and written once, so the bulk engine gives a restore what it gives an
update: pacing, per-page failures, the stop on an authentication failure, and a journal of its
own (``old`` = the value before the restore), so a restore can be restored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pagemeta.bulk.engine import BulkItem, Diff, PlannedWrite, WriteResult
from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.exceptions import CMSAuthError, CMSError
from airflow_provider_pagemeta.journal.reader import Located
from airflow_provider_pagemeta.payloads import buttercms as butter
from airflow_provider_pagemeta.payloads import json_equal
from airflow_provider_pagemeta.payloads.buildin import PROPERTIES_PREFIX, page_path, property_matches
from airflow_provider_pagemeta.payloads.hamgam import META_PREFIX, current_value
from airflow_provider_pagemeta.payloads.webflow import OPEN_GRAPH_DEFAULTS, validate_object_id


class _Absent:
    """A value that did not exist (a journal change without ``old``; a field the page lacks)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
#: Pages listed by name in a restore's summary under ``conflict_pages`` (the log lists all).
CONFLICTS_LISTED = 20


# ---------------------------------------------------------------------------------- histories
@dataclass
class FieldChange:
    """One applied entry's change of one field (``old`` is :data:`ABSENT` when it had none)."""

    old: Any
    new: Any
    where: str


@dataclass
class PageHistory:
    """What a restore adapter prepares: one page's applied changes, each field's newest first."""

    cms: str
    page: dict[str, Any]
    options: dict[str, Any]
    where: str
    fields: dict[str, list[FieldChange]] = field(default_factory=dict)
    #: The connections the entries were written through.
    conn_ids: set[str] = field(default_factory=set)


def _normal_page(cms: str, page: Mapping[str, Any]) -> dict[str, Any]:
    if cms == "webflow":
        return {"page_id": page["page_id"], "locale_id": page.get("locale_id")}
    if cms == "buttercms":
        return {"page_type": page["page_type"], "page_slug": page["page_slug"], "locale": page.get("locale")}
    return {"page_id": page["page_id"]}


def histories(located: Iterable[Located]) -> dict[str, list[PageHistory]]:
    """Applied entries grouped by page (and, for ButterCMS, by the version they changed), pages
    ordered by their newest entry first, each field's changes newest first."""
    applied = [found for found in located if found.entry["status"] == "applied"]
    applied.sort(key=lambda found: (str(found.entry.get("at") or ""), found.order), reverse=True)
    pages: dict[tuple[str, str], PageHistory] = {}
    for found in applied:
        entry = found.entry
        cms, options = entry["cms"], dict(entry.get("cms_options") or {})
        page = _normal_page(cms, entry["page"])
        version = {k: options.get(k) for k in ("status", "by_locale")} if cms == "buttercms" else {}
        key = (cms, json.dumps([page, version], sort_keys=True))
        history = pages.get(key)
        if history is None:
            history = pages[key] = PageHistory(cms, page, options, found.where)
        if entry.get("conn_id"):
            history.conn_ids.add(str(entry.get("conn_id")))
        for name, change in entry["changes"].items():
            history.fields.setdefault(name, []).append(
                FieldChange(change.get("old", ABSENT), change["new"], found.where))
    grouped: dict[str, list[PageHistory]] = {}
    for history in pages.values():
        grouped.setdefault(history.cms, []).append(history)
    return grouped


# ---------------------------------------------------------------------------------- decisions
@dataclass
class FieldDecision:
    target: Any = ABSENT  # ABSENT: leave the field as it is
    conflict: bool = False
    not_restorable: bool = False


def decide(
    changes: Sequence[FieldChange],
    current: Any,
    matches: Callable[[Any, Any], bool],
    restorable: Callable[[Any], bool],
    *,
    force: bool,
) -> FieldDecision:
    """Walk one field's changes newest first from its current value (the module docstring's rules)."""
    decision = FieldDecision()
    value = current
    for change in changes:
        if matches(change.new, value):
            pass
        elif change.old is not ABSENT and matches(change.old, value):
            continue  # already back at what this change replaced
        else:
            decision.conflict = True
            if not force:
                return FieldDecision(conflict=True)
        if change.old is ABSENT or not restorable(change.old):
            decision.not_restorable = True
            return decision
        value = decision.target = change.old
    return decision


def _present(value: Any) -> bool:
    return value is not ABSENT


# ---------------------------------------------------------------------------------- the adapters
class RestoreAdapter:
    """The CMS-independent half: decisions and tallies. Subclasses read, compare and write."""

    cms = ""
    write_batch_size = 1

    def __init__(self, hook: Any, *, force: bool = False, log: Callable[..., None] | None = None) -> None:
        self.hook = hook
        self.force = force
        self.log = log or (lambda *args: None)
        #: Page key -> the fields in conflict (every page found changed since, forced or not).
        self.conflicts: dict[str, list[str]] = {}
        #: Values that had no ``old`` (or one that cannot be written back), per page key.
        self.not_restorable: dict[str, list[str]] = {}
        #: Pages with at least one value to put back (in a dry run: that would be put back).
        self.to_restore: set[str] = set()

    # -- BulkAdapter
    def prepare(self, rows: Sequence[Any]) -> list[BulkItem]:
        items = []
        for index, history in enumerate(rows):
            page = self.check_page(history)
            items.append(BulkItem(index=index, key=self.page_key(page), target={}, spec={"history": history},
                                  page=page, options=dict(history.options)))
        return items

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        return None

    def diff(self, item: BulkItem, current: Any) -> Diff:
        history: PageHistory = item.spec["history"]
        decisions: dict[str, tuple[Any, FieldDecision]] = {}
        for name, field_changes in history.fields.items():
            now = self.value(item, current, name)
            decisions[name] = (now, decide(field_changes, now, functools.partial(self.matches, name),
                                           functools.partial(self.restorable, name), force=self.force))
        conflicted = [name for name, (_, d) in decisions.items() if d.conflict]
        lost = [name for name, (_, d) in decisions.items() if d.not_restorable]
        if conflicted:
            self.conflicts[item.key] = conflicted
            self.log("%s %s: changed since the journal (%s)%s", self.cms, item.key, ", ".join(conflicted),
                     "; restoring anyway (force=True)" if self.force else "; left alone")
        if lost:
            self.not_restorable[item.key] = lost
            self.log("%s %s: no old value to put back for %s", self.cms, item.key, ", ".join(lost))
        if conflicted and not self.force:
            return {}
        changes: Diff = {}
        for name, (now, decision) in decisions.items():
            if _present(decision.target) and not self.matches(name, decision.target, now):
                changes[name] = {**({"old": now} if _present(now) else {}), "new": decision.target}
        if changes:
            self.to_restore.add(item.key)
        return changes

    def write(self, batch: Sequence[PlannedWrite]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for planned in batch:
            try:
                self.send(planned.item, planned.current, planned.changes)
            except CMSError as exc:
                results.append(WriteResult(planned.item, exc))
                if isinstance(exc, CMSAuthError):
                    break
                continue
            results.append(WriteResult(planned.item))
        return results

    def requests_sent(self) -> int:
        return int(self.hook.request_count)

    def redact(self, text: str) -> str:
        return str(self.hook.redactor.text(text))

    # -- per CMS
    def check_page(self, history: PageHistory) -> dict[str, Any]:
        return history.page

    def page_key(self, page: Mapping[str, Any]) -> str:
        return str(page["page_id"])

    def read(self, item: BulkItem) -> Any:
        raise NotImplementedError

    def value(self, item: BulkItem, current: Any, name: str) -> Any:
        raise NotImplementedError

    def matches(self, name: str, expected: Any, actual: Any) -> bool:
        """The page's value of field ``name`` (``actual``) is what a journal says (``expected``)."""
        return _present(expected) and _present(actual) and json_equal(expected, actual)

    def restorable(self, name: str, value: Any) -> bool:
        """``value`` can be written back to field ``name``."""
        return True

    def send(self, item: BulkItem, current: Any, changes: Diff) -> None:
        raise NotImplementedError

    def _bad(self, history: PageHistory, message: str) -> Exception:
        return invalid(f"{history.where}: {message}", "journal", self.cms)


def _dig(data: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return ABSENT
        data = data[part]
    return data


def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"seo.title": v}`` -> ``{"seo": {"title": v}}`` (partial objects, as the APIs take them)."""
    nested: dict[str, Any] = {}
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


class WebflowRestoreAdapter(RestoreAdapter):
    """Fields ``title``, ``slug``, ``seo.*``, ``openGraph.*``; one PUT per page."""

    cms = "webflow"
    FIELDS = frozenset({"title", "slug", "seo.title", "seo.description", "openGraph.title",
                        "openGraph.titleCopied", "openGraph.description", "openGraph.descriptionCopied"})

    def __init__(self, hook: Any, **kwargs: Any) -> None:
        super().__init__(hook, **kwargs)
        self._listed: dict[tuple[str | None, str], dict[str, Any]] = {}

    def check_page(self, history: PageHistory) -> dict[str, Any]:
        page = history.page
        for name, argument in (("page_id", "page_id"), ("locale_id", "locale_id")):
            if page.get(name) is not None:
                try:
                    validate_object_id(page[name], argument)
                except CMSError as exc:
                    raise self._bad(history, str(exc.message)) from None
        unknown = sorted(set(history.fields) - self.FIELDS)
        if unknown:
            raise self._bad(history, f"unknown Webflow field(s) {', '.join(unknown)}")
        return page

    def page_key(self, page: Mapping[str, Any]) -> str:
        return str(page["page_id"]) + (f"@{page['locale_id']}" if page.get("locale_id") else "")

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        """One paginated listing per site and locale the journal names (bulk runs with ``site_id``)."""
        wanted = {(item.options.get("site_id"), item.page.get("locale_id")) for item in items
                  if item.options.get("site_id")}
        for site_id, locale in sorted(wanted, key=str):
            for page in self.hook.list_pages(site_id, locale_id=locale):
                self._listed[(locale, page["id"])] = page

    def read(self, item: BulkItem) -> Any:
        locale = item.page.get("locale_id")
        listed = self._listed.get((locale, item.page["page_id"]))
        return listed if listed is not None else self.hook.get_page(item.page["page_id"], locale_id=locale)

    def value(self, item: BulkItem, current: Any, name: str) -> Any:
        found = _dig(current, name.split("."))
        if (found is ABSENT or found is None) and name.startswith("openGraph."):
            return OPEN_GRAPH_DEFAULTS.get(name.split(".", 1)[1], ABSENT)
        return ABSENT if found is None else found

    def restorable(self, name: str, value: Any) -> bool:
        return value is not None  # Webflow does not document what a null does

    def send(self, item: BulkItem, current: Any, changes: Diff) -> None:
        body = _nest({name: change["new"] for name, change in changes.items()})
        self.hook.update_page_settings(
            item.page["page_id"], locale_id=item.page.get("locale_id"), title=body.get("title"),
            slug=body.get("slug"), seo=body.get("seo"), open_graph=body.get("openGraph"),
        )


class ButterCMSRestoreAdapter(RestoreAdapter):
    """Fields ``fields.<path>`` (``fields.<locale>.<path>`` when ``by_locale``); one PATCH per page,
    sent with the status the change was (so a published change is restored as published)."""

    cms = "buttercms"

    def check_page(self, history: PageHistory) -> dict[str, Any]:
        try:
            butter.page_path(history.page["page_type"], history.page["page_slug"])
        except CMSError as exc:
            raise self._bad(history, str(exc.message)) from None
        if history.options.get("status", "draft") not in butter.STATUSES:
            raise self._bad(history, f"unknown ButterCMS status {history.options.get('status')!r}")
        minimum = 3 if history.options.get("by_locale") else 2
        bad = [name for name in history.fields if not name.startswith("fields.") or len(name.split(".")) < minimum]
        if bad:
            raise self._bad(history, f"field(s) {', '.join(bad)} are not fields.<name>"
                            + (" with a locale (fields.<locale>.<name>)" if minimum == 3 else ""))
        return history.page

    def page_key(self, page: Mapping[str, Any]) -> str:
        return f"{page['page_type']}/{page['page_slug']}" + (f"@{page['locale']}" if page.get("locale") else "")

    @staticmethod
    def _split(item: BulkItem, name: str) -> tuple[str | None, list[str]]:
        parts = name.split(".")[1:]
        if item.options.get("by_locale"):
            return parts[0], parts[1:]
        return item.page.get("locale"), parts

    def read(self, item: BulkItem) -> Any:
        history: PageHistory = item.spec["history"]
        preview = item.options.get("status", "draft") != "published"
        locales = list(dict.fromkeys(self._split(item, name)[0] for name in history.fields))
        return {locale: self.hook.get_page(item.page["page_type"], item.page["page_slug"], locale=locale,
                                           preview=preview)
                for locale in locales}

    def value(self, item: BulkItem, current: Any, name: str) -> Any:
        locale, path = self._split(item, name)
        return _dig((current.get(locale) or {}).get("fields"), path)

    def send(self, item: BulkItem, current: Any, changes: Diff) -> None:
        by_locale: dict[str | None, dict[str, Any]] = {}
        for name, change in changes.items():
            locale, path = self._split(item, name)
            by_locale.setdefault(locale, {})[".".join(path)] = change["new"]
        status = item.options.get("status", "draft")
        page_type, slug = item.page["page_type"], item.page["page_slug"]
        if item.options.get("by_locale"):
            self.hook.update_page(page_type, slug, status=status,
                                  fields_by_locale={str(loc): _nest(values) for loc, values in by_locale.items()})
        else:
            [(locale, values)] = by_locale.items()
            self.hook.update_page(page_type, slug, fields=_nest(values), status=status, locale=locale)


def _meta_value(value: Any) -> Any:
    """A Hamgam value as ``{"text": ...}`` / ``{"file": id}`` (plain strings and ids accepted)."""
    if isinstance(value, Mapping):
        return {k: value[k] for k in ("text", "file") if k in value}
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"file": value}
    if isinstance(value, str):
        return {"text": value}
    return value


class HamgamRestoreAdapter(RestoreAdapter):
    """Fields ``meta.<key>`` (values ``{"text": ...}`` / ``{"file": id}``); one listing per page,
    one PATCH per key to put back. Hamgam documents no delete, so a key a change created is not
    restorable."""

    cms = "hamgam"

    def check_page(self, history: PageHistory) -> dict[str, Any]:
        if history.page["page_id"] < 1:
            raise self._bad(history, f"page_id must be a positive integer, got {history.page['page_id']}")
        bad = [name for name in history.fields if not name.startswith(META_PREFIX) or name == META_PREFIX]
        if bad:
            raise self._bad(history, f"field(s) {', '.join(bad)} are not meta.<key>")
        return history.page

    def read(self, item: BulkItem) -> Any:
        return {str(meta.get("key")): meta for meta in self.hook.list_page_meta(item.page["page_id"])}

    def value(self, item: BulkItem, current: Any, name: str) -> Any:
        meta = current.get(name[len(META_PREFIX):])
        return ABSENT if meta is None else current_value(meta)

    def matches(self, name: str, expected: Any, actual: Any) -> bool:
        return _present(expected) and _present(actual) and json_equal(_meta_value(expected), _meta_value(actual))

    def restorable(self, name: str, value: Any) -> bool:
        value = _meta_value(value)
        return isinstance(value, dict) and (isinstance(value.get("text"), str) or (
            isinstance(value.get("file"), int) and not isinstance(value.get("file"), bool)))

    def send(self, item: BulkItem, current: Any, changes: Diff) -> None:
        page_id = item.page["page_id"]
        for name, change in changes.items():
            key, value = name[len(META_PREFIX):], _meta_value(change["new"])
            meta = current.get(key)
            if meta is None:  # deleted since (force): create it again
                self.hook.create_page_meta(page_id, key=key, value_text=value.get("text"),
                                           value_file=value.get("file"))
            else:
                self.hook.update_page_meta(page_id, meta["id"], key=key, value_text=value.get("text"),
                                           value_file=value.get("file"))


def _contains(expected: Any, actual: Any) -> bool:
    """``expected`` is contained in ``actual``: dicts by their expected keys, lists whole."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(_contains(v, actual.get(k, ABSENT)) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(_contains(e, a) for e, a in zip(expected, actual, strict=True)))
    return _present(actual) and json_equal(expected, actual)


class BuildinRestoreAdapter(RestoreAdapter):
    """Fields ``properties.<name>``, ``icon``, ``cover``, ``in_trash``; one PATCH per page, sent
    with ``If-Match`` from the read it was decided on (an edit in between is a 409, not lost)."""

    cms = "buildin"

    def check_page(self, history: PageHistory) -> dict[str, Any]:
        try:
            page_path(history.page["page_id"])
        except CMSError as exc:
            raise self._bad(history, str(exc.message)) from None
        bad = [name for name in history.fields
               if name not in ("icon", "cover", "in_trash") and not name.startswith(PROPERTIES_PREFIX)]
        if bad:
            raise self._bad(history, f"unknown Buildin field(s) {', '.join(bad)}")
        return history.page

    def read(self, item: BulkItem) -> Any:
        page, version = self.hook.get_page_with_version(item.page["page_id"])
        return {"page": page, "version": version}

    def value(self, item: BulkItem, current: Any, name: str) -> Any:
        page = current["page"]
        if name.startswith(PROPERTIES_PREFIX):
            return (page.get("properties") or {}).get(name[len(PROPERTIES_PREFIX):], ABSENT)
        return page.get(name, ABSENT)

    def matches(self, name: str, expected: Any, actual: Any) -> bool:
        """Properties by :func:`property_matches` (what was sent vs. what a read returns: rich text
        by content and link); icon and cover by containment; ``in_trash`` exactly."""
        if not (_present(expected) and _present(actual)):
            return False
        if name.startswith(PROPERTIES_PREFIX) and isinstance(expected, Mapping) and any(
                key not in ("id", "type") for key in expected):
            return property_matches(expected, actual)
        return _contains(expected, actual) if expected is not None else actual is None

    def send(self, item: BulkItem, current: Any, changes: Diff) -> None:
        properties = {name[len(PROPERTIES_PREFIX):]: change["new"] for name, change in changes.items()
                      if name.startswith(PROPERTIES_PREFIX)}
        other = {name: change["new"] for name, change in changes.items() if not name.startswith(PROPERTIES_PREFIX)}
        kwargs: dict[str, Any] = {key: other[key] for key in ("icon", "cover") if key in other}
        self.hook.update_page(item.page["page_id"], properties=properties or None, in_trash=other.get("in_trash"),
                              if_match=current.get("version"), **kwargs)


ADAPTERS: dict[str, type[RestoreAdapter]] = {
    "webflow": WebflowRestoreAdapter,
    "buttercms": ButterCMSRestoreAdapter,
    "hamgam": HamgamRestoreAdapter,
    "buildin": BuildinRestoreAdapter,
}
