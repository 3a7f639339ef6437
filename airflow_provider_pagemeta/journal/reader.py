"""Reading journals back, checked line by line before anything acts on them.

A restore writes to live sites on the strength of what a journal says, so a journal that is
missing, unreadable or malformed (a line that is not JSON, an unknown ``cms``, a page without its
id) stops everything with a ``CMSValidationError`` naming the file and the line, before any
request to a CMS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.journal.location import check_dir, is_local, local_path, storage_path
from airflow_provider_pagemeta.types import JournalEntry

STATUSES = frozenset({"applied", "failed", "planned"})
#: Each CMS's page identity: key -> the JSON types allowed (None: may be null).
PAGE_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "webflow": {"page_id": (str,), "locale_id": (str, type(None))},
    "buttercms": {"page_type": (str,), "page_slug": (str,), "locale": (str, type(None))},
    "hamgam": {"page_id": (int,)},
    "buildin": {"page_id": (str,)},
}
#: Optional page keys (a Webflow entry without ``locale_id`` is the primary locale).
OPTIONAL_PAGE_KEYS = frozenset({"locale_id", "locale"})
ARGUMENT = "journal"


@dataclass(frozen=True)
class Located:
    """An entry and where it came from (for messages, and to order lines written at the same time)."""

    entry: JournalEntry
    uri: str
    line: int
    order: tuple[int, int]

    @property
    def where(self) -> str:
        return f"journal {self.uri} line {self.line}"


def read_journal(uri: str) -> list[dict[str, Any]]:
    """Every entry of a journal file, or of every ``*.jsonl`` under a directory (a run's
    journals: ``<dir>/<dag_id>/<run_id>/``), in file order.

    :raises CMSValidationError: the journal is missing, unreadable or malformed; the message names
        the file and the line.
    """
    return [dict(found.entry) for found in locate([uri])]


def locate(uris: Sequence[str]) -> list[Located]:
    """The entries of several journals, each with its file and line; every file is read and
    checked before this returns."""
    found: list[Located] = []
    for number, uri in enumerate(_expand(uris)):
        for line_number, entry in _parse(uri, _read_text(uri)):
            found.append(Located(entry, uri, line_number, (number, line_number)))
    return found


def _expand(uris: Iterable[str]) -> list[str]:
    """Files as given; a directory becomes its ``*.jsonl`` files, sorted. Duplicates once."""
    files: list[str] = []
    for uri in uris:
        text = check_dir(str(uri).strip(), ARGUMENT)
        for name in _files_of(text):
            if name not in files:
                files.append(name)
    return files


def _files_of(uri: str) -> list[str]:
    try:
        if is_local(uri):
            path = local_path(uri)
            if not path.is_dir():
                return [uri]
            prefix = uri[: len(uri) - len(str(path))]
            files = sorted(prefix + str(p) for p in path.rglob("*.jsonl") if p.is_file())
        else:
            remote = storage_path(uri)
            if not remote.is_dir():
                return [uri]
            # Named by joining onto the URI as given, so a connection in it (s3://conn@bucket) stays.
            base = str(remote.path).rstrip("/")
            files = sorted(f"{uri.rstrip('/')}/{str(p.path)[len(base):].lstrip('/')}" for p in remote.rglob("*.jsonl"))
    except OSError as exc:
        raise invalid(f"journal {uri} cannot be read: {exc}", ARGUMENT) from None
    if not files:
        raise invalid(f"journal directory {uri} holds no journal (*.jsonl) file", ARGUMENT)
    return files


def _read_text(uri: str) -> str:
    try:
        data = local_path(uri).read_bytes() if is_local(uri) else storage_path(uri).read_bytes()
    except FileNotFoundError:
        raise invalid(f"journal {uri} does not exist", ARGUMENT) from None
    except (OSError, ValueError) as exc:
        raise invalid(f"journal {uri} cannot be read: {type(exc).__name__}: {exc}", ARGUMENT) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"journal {uri} is not UTF-8 text (byte {exc.start})", ARGUMENT) from None


def _parse(uri: str, text: str) -> Iterator[tuple[int, JournalEntry]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"journal {uri} line {number}"
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise invalid(f"{where} is not JSON: {exc}", ARGUMENT) from None
        yield number, check_entry(value, where)


def check_entry(value: Any, where: str) -> JournalEntry:
    """One journal line, checked: the shape a restore relies on."""
    if not isinstance(value, dict):
        raise invalid(f"{where} must be a JSON object, got {type(value).__name__}", ARGUMENT)
    for key in ("cms", "page", "changes", "status"):
        if key not in value:
            raise invalid(f"{where} has no {key!r}", ARGUMENT)
    cms = value["cms"]
    if cms not in PAGE_KEYS:
        raise invalid(f"{where} names an unknown cms {cms!r} (known: {', '.join(sorted(PAGE_KEYS))})", ARGUMENT)
    if value["status"] not in STATUSES:
        raise invalid(f"{where} has an unknown status {value['status']!r} (known: applied, failed, planned)",
                      ARGUMENT)
    _check_page(value["page"], cms, where)
    _check_changes(value["changes"], where)
    if not isinstance(value.get("at", ""), str):
        raise invalid(f"{where}: 'at' must be a timestamp string", ARGUMENT)
    options = value.get("cms_options", {})
    if not isinstance(options, dict):
        raise invalid(f"{where}: 'cms_options' must be an object", ARGUMENT)
    return value  # type: ignore[return-value]


def _check_page(page: Any, cms: str, where: str) -> None:
    if not isinstance(page, dict):
        raise invalid(f"{where}: 'page' must be an object, got {type(page).__name__}", ARGUMENT)
    for key, types in PAGE_KEYS[cms].items():
        if key not in page:
            if key in OPTIONAL_PAGE_KEYS:
                continue
            raise invalid(f"{where}: a {cms} page needs {key!r}", ARGUMENT)
        if isinstance(page[key], bool) or not isinstance(page[key], types):
            raise invalid(f"{where}: page {key} has the wrong type ({type(page[key]).__name__})", ARGUMENT)


def _check_changes(changes: Any, where: str) -> None:
    if not isinstance(changes, dict):
        raise invalid(f"{where}: 'changes' must be an object, got {type(changes).__name__}", ARGUMENT)
    for name, change in changes.items():
        if not isinstance(change, Mapping) or "new" not in change:
            raise invalid(f"{where}: change {name!r} must be an object with 'new' (and 'old' when the "
                          "value existed)", ARGUMENT)
        if not set(change) <= {"old", "new"}:
            extra = sorted(set(change) - {"old", "new"})
            raise invalid(f"{where}: change {name!r} has unknown keys {extra}", ARGUMENT)


def journal_uris(value: Any, argument: str = ARGUMENT) -> list[str]:
    """The journal URIs a ``journal`` argument names: a URI, an operator's result (a dict with
    ``"journal"``), or a list of either (a mapped task's results)."""
    if isinstance(value, (str, Mapping)):
        items: list[Any] = [value]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise invalid(f"{argument} must be a journal URI, a writing task's result or a list of them, "
                      f"got {type(value).__name__}", argument)
    uris: list[str] = []
    for number, item in enumerate(items):
        label = f"{argument}[{number}]" if len(items) > 1 or not isinstance(value, (str, Mapping)) else argument
        uris.append(_one_uri(item, label))
    if not uris:
        raise invalid(f"{argument} names no journal", argument)
    return uris


def _one_uri(item: Any, label: str) -> str:
    if isinstance(item, Mapping):
        if "journal" not in item:
            raise invalid(f"{label} is a dict without 'journal' (pass a writing task's result or a URI)", label)
        item = item["journal"]
        if item is None:
            raise invalid(f"{label}: that task wrote no journal (it ran with journal=False)", label)
    if not isinstance(item, str) or not item.strip():
        raise invalid(f"{label} must be a journal URI, got {type(item).__name__}", label)
    return check_dir(item.strip(), label)
