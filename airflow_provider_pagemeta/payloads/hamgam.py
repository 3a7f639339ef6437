"""Hamgam page meta as data: key and value checks, request bodies, and the plan of writes.

Hamgam addresses meta entries by numeric id, while DAG authors think in keys ("og_image",
"contact_us_url"). :func:`plan_page_meta` compares a page's listed meta with the wanted keys and
returns the writes needed; being pure, it is what a dry run shows and what a real run sends.

API facts that shape this module (Hamgam's page-meta documents):

- a meta holds a text (``value_text``) or a file (``value_file`` id on write, the
  ``value_file_data`` object on read); to switch kinds the other value must be set to null in the
  same request, so every PATCH sends both;
- ``key`` is required on PATCH even when it does not change;
- a file meta may carry ``value_text: ""`` next to its file, so an empty text is "no text".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pagemeta import is_notset
from airflow_provider_pagemeta.core.convert import to_id
from airflow_provider_pagemeta.core.validation import invalid, require_json, require_mapping, require_str
from airflow_provider_pagemeta.payloads import json_equal

CMS = "hamgam"

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
        raise invalid(f"{argument} must be a file id (int), got {type(value).__name__}", argument, CMS)
    return to_id(value, argument, cms=CMS)


def check_text(value: Any, argument: str = "value_text") -> str:
    """A text value; its size is checked here so ``set_page_meta`` refuses it before listing."""
    return require_json(require_str(value, argument, cms=CMS, allow_empty=True), argument, cms=CMS)


def check_desired(text: Any, files: Any) -> tuple[dict[str, str], dict[str, int]]:
    """Validate ``set_page_meta``'s target: key -> text and key -> file id, disjoint, not both empty."""
    text_map = require_mapping(text, "text", cms=CMS, allow_empty=True) if text is not None else {}
    file_map = require_mapping(files, "files", cms=CMS, allow_empty=True) if files is not None else {}
    if not text_map and not file_map:
        raise invalid("give text and/or files: there is no meta key to set", "text", CMS)
    checked_text = {check_key(k, "text"): check_text(v, f"text[{k!r}]") for k, v in text_map.items()}
    checked_files = {check_key(k, "files"): check_file_id(v, f"files[{k!r}]") for k, v in file_map.items()}
    both = sorted(set(checked_text) & set(checked_files))
    if both:
        raise invalid(f"key(s) {', '.join(both)} given in both text and files; a meta holds one value", "files", CMS)
    return checked_text, checked_files


def one_value(value_text: Any, value_file: Any) -> tuple[str | None, int | None]:
    """Exactly one of the two values, validated; NOTSET and None both mean "not given"."""
    text = None if is_notset(value_text) else value_text
    file_id = None if is_notset(value_file) else value_file
    if text is not None and file_id is not None:
        raise invalid("give only one of value_text or value_file: a meta holds a text or a file", "value_file", CMS)
    if text is None and file_id is None:
        raise invalid("give one of value_text or value_file (not None)", "value_text", CMS)
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
    if not json_equal(current_value(meta), wanted):
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

    def journal_changes(self, requests: Iterable[PlannedRequest] | None = None) -> dict[str, dict[str, Any]]:
        """The journal's diff of the plan's writes (or of some of them): ``meta.<key>`` ->
        ``{"old", "new"}`` (values ``{"text": ...}`` / ``{"file": id}``), no ``old`` for a key
        the write creates."""
        return {meta_field(r.key): ({"new": r.new} if r.old is None else {"old": r.old, "new": r.new})
                for r in (self.requests if requests is None else requests)}


#: Journal field names of meta keys: ``meta.<key>`` (``meta.og:title``).
META_PREFIX = "meta."


def meta_field(key: str) -> str:
    return META_PREFIX + key


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
