"""Journals as a report people read before approving a change, or after it went out.

Two renderings of the same table (page, field, old, new, status) with totals:

- **Markdown** for a task log and for the body of an approval (Airflow's ``ApprovalOperator``
  shows Markdown): every value in a code span, pipes escaped, long values cut;
- **HTML**: one self-contained page (inline style and script, a Content-Security-Policy that
  forbids loading anything else) with a table sortable by any column, for a browser. It also names
  the task that wrote each entry (``dag_id.task_id``, the run in its tooltip), since a report over a
  directory mixes tasks and runs: a dry run's ``planned`` rows and its apply's ``applied`` ones.

Everything that comes from a journal is escaped: page values are written by people and may hold
``<script>``, pipes or backticks.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_pagemeta.core.validation import invalid
from airflow_provider_pagemeta.journal.reader import journal_uris, locate

FORMATS = ("markdown", "html")
#: Characters of a value shown in a Markdown cell / an HTML cell (the journal has the whole value).
MARKDOWN_VALUE_CHARS = 120
HTML_VALUE_CHARS = 400
NONE = "(none)"


@dataclass(frozen=True)
class Row:
    cms: str
    page: str
    field: str
    old: str
    new: str
    status: str
    error: str
    #: Which task wrote the entry (``dag_id.task_id``, ``[map_index]`` when mapped) and in which run:
    #: a report over several runs or tasks (a dry run and its apply) tells them apart by these.
    task: str = ""
    run: str = ""


def render_report(source: Any, *, max_rows: int = 100, fmt: str = "markdown") -> str:
    """A report of journal entries: a table of page, field, old, new, status, and totals.

    :param source: a journal URI (a file, or a directory of journals), a writing task's result
        (a dict with ``"journal"``), a list of those, or a list of entries (dicts as
        :func:`~airflow_provider_pagemeta.journal.read_journal` returns them).
    :param max_rows: rows listed; the rest are counted, not listed.
    :param fmt: ``"markdown"`` (task logs, approval bodies) or ``"html"`` (a self-contained page).
    """
    if fmt not in FORMATS:
        raise invalid(f"fmt must be 'markdown' or 'html', got {fmt!r}", "fmt")
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0:
        raise invalid(f"max_rows must be a whole number >= 0, got {max_rows!r}", "max_rows")
    entries, sources = _entries(source)
    rows = [row for entry in entries for row in _rows(entry)]
    totals = _totals(entries, rows)
    if fmt == "html":
        return _html(rows[:max_rows], len(rows), totals, sources)
    return _markdown(rows[:max_rows], len(rows), totals)


def _entries(source: Any) -> tuple[list[Mapping[str, Any]], list[str]]:
    """Entries from whatever ``source`` is, and the URIs they were read from."""
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)) and all(
        isinstance(item, Mapping) and "cms" in item and "changes" in item for item in source
    ):
        return list(source), []
    uris = journal_uris(source, "source")
    return [found.entry for found in locate(uris)], uris


# ------------------------------------------------------------------------------ rows and totals
def page_label(cms: str, page: Mapping[str, Any]) -> str:
    """How a page is named in a report: as its CMS addresses it."""
    if cms == "buttercms":
        label = f"{page.get('page_type')}/{page.get('page_slug')}"
        return label + (f"@{page['locale']}" if page.get("locale") else "")
    if cms == "webflow":
        return str(page.get("page_id")) + (f"@{page['locale_id']}" if page.get("locale_id") else "")
    return str(page.get("page_id"))


def _value(change: Mapping[str, Any], key: str) -> str:
    if key not in change:
        return NONE
    return json.dumps(change[key], ensure_ascii=False, default=str)


def task_label(entry: Mapping[str, Any]) -> str:
    """The task that wrote an entry: ``dag_id.task_id``, with ``[map_index]`` for a mapped one."""
    if not entry.get("task_id"):
        return ""
    label = f"{entry.get('dag_id') or '?'}.{entry['task_id']}"
    map_index = entry.get("map_index")
    return label + (f"[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else "")


def _rows(entry: Mapping[str, Any]) -> list[Row]:
    cms, status = str(entry.get("cms")), str(entry.get("status"))
    label = page_label(cms, entry.get("page") or {})
    error = str(entry.get("error") or "")
    task, run = task_label(entry), str(entry.get("run_id") or "")
    changes = entry.get("changes") or {}
    if not changes:
        return [Row(cms, label, "", "", "", status, error, task, run)]
    return [Row(cms, label, str(name), _value(change, "old"), _value(change, "new"), status, error, task, run)
            for name, change in changes.items()]


def _totals(entries: Sequence[Mapping[str, Any]], rows: Sequence[Row]) -> dict[str, Any]:
    pages = {(e.get("cms"), json.dumps(e.get("page"), sort_keys=True)) for e in entries}
    return {
        "entries": len(entries),
        "pages": len(pages),
        "field_changes": sum(1 for row in rows if row.field),
        "by_status": dict(sorted(Counter(str(e.get("status")) for e in entries).items())),
        "by_cms": dict(sorted(Counter(str(e.get("cms")) for e in entries).items())),
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------ Markdown
def _code(text: str) -> str:
    """A Markdown code span that shows ``text`` literally, also inside a table cell."""
    if not text:
        return ""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _markdown(rows: Sequence[Row], total_rows: int, totals: Mapping[str, Any]) -> str:
    by_status = ", ".join(f"{status} {count}" for status, count in totals["by_status"].items()) or "none"
    lines = [
        f"**Change journal:** {totals['pages']} page(s), {totals['field_changes']} field change(s); "
        f"entries by status: {by_status}",
        "",
    ]
    if not total_rows:
        return "\n".join([*lines, "_No page changed._"]) + "\n"
    if rows:
        lines += ["| page | field | old | new | status |", "|---|---|---|---|---|"]
    for row in rows:
        old = "_(none)_" if row.old == NONE else _code(_cut(row.old, MARKDOWN_VALUE_CHARS))
        new = _code(_cut(row.new, MARKDOWN_VALUE_CHARS))
        status = row.status + (f": {_code(_cut(row.error, MARKDOWN_VALUE_CHARS))}" if row.error else "")
        lines.append(f"| {row.cms} {_code(row.page)} | {_code(row.field)} | {old} | {new} | {status} |")
    if total_rows > len(rows):
        lines += ["", f"_… and {total_rows - len(rows)} more row(s), not listed (the journal has every one)._"]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


# ------------------------------------------------------------------------------ HTML
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1d1d1f}
h1{font-size:1.4em}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccd;padding:.3em .6em;text-align:left;vertical-align:top}
#changes th{cursor:pointer;background:#eef;user-select:none}
#changes th[aria-sort=ascending]::after{content:" \\25B2"}#changes th[aria-sort=descending]::after{content:" \\25BC"}
td.v{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word;max-width:32em}
.none{color:#888;font-style:italic}.applied{color:#11693a}.failed{color:#b00020}.planned{color:#1f4fb4}
.err{display:block;color:#b00020;font-size:.9em}
"""

#: Sorts the table by the clicked column (numbers as numbers), toggling the direction.
_SCRIPT = """
document.querySelectorAll("#changes th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = document.querySelector("#changes tbody");
    var up = th.getAttribute("aria-sort") !== "ascending";
    document.querySelectorAll("#changes th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent, y = b.cells[col].textContent;
      var c = x.localeCompare(y, undefined, {numeric: true});
      return up ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'none'"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _value_cell(value: str) -> str:
    if value == NONE:
        return f'<td class="v none">{NONE}</td>'
    shown = _cut(value, HTML_VALUE_CHARS)
    title = f' title="{_esc(_cut(value, 4 * HTML_VALUE_CHARS))}"' if shown != value else ""
    return f'<td class="v"{title}>{_esc(shown)}</td>'


def _html_row(row: Row) -> str:
    status = f'<span class="{_esc(row.status)}">{_esc(row.status)}</span>'
    if row.error:
        status += f'<span class="err">{_esc(_cut(row.error, HTML_VALUE_CHARS))}</span>'
    run = f' title="run {_esc(row.run)}"' if row.run else ""
    return (f"<tr><td>{_esc(row.cms)}</td><td class=\"v\">{_esc(row.page)}</td>"
            f"<td class=\"v\">{_esc(row.field)}</td>{_value_cell(row.old)}{_value_cell(row.new)}"
            f"<td>{status}</td><td class=\"v\"{run}>{_esc(row.task)}</td></tr>")


def _totals_table(totals: Mapping[str, Any]) -> str:
    cells = [("pages", totals["pages"]), ("entries", totals["entries"]),
             ("field changes", totals["field_changes"])]
    cells += [(f"status {status}", n) for status, n in totals["by_status"].items()]
    cells += [(f"cms {cms}", n) for cms, n in totals["by_cms"].items()]
    head = "".join(f"<th>{_esc(name)}</th>" for name, _ in cells)
    body = "".join(f"<td>{_esc(value)}</td>" for _, value in cells)
    return f'<table class="totals"><tr>{head}</tr><tr>{body}</tr></table>'


def _html(rows: Sequence[Row], total_rows: int, totals: Mapping[str, Any], sources: Iterable[str]) -> str:
    listed = "".join(f"<li>{_esc(uri)}</li>" for uri in sources)
    more = (f"<p>… and {total_rows - len(rows)} more row(s), not listed (the journal has every one).</p>"
            if total_rows > len(rows) else "")
    table = (
        '<table id="changes"><thead><tr><th>cms</th><th>page</th><th>field</th><th>old</th><th>new</th>'
        f"<th>status</th><th>task</th></tr></thead><tbody>{''.join(_html_row(row) for row in rows)}</tbody></table>"
        if rows else "<p>No page changed.</p>"
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        "<title>Change journal report</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Change journal report</h1>"
        + (f"<p>From:</p><ul>{listed}</ul>" if listed else "")
        + _totals_table(totals)
        + "<p>Click a column's header to sort by it.</p>"
        + table + more
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_report(source: Any, destination: str | None = None, *, max_rows: int = 10_000, fmt: str = "html") -> str:
    """Render a report and write it; returns where. ``destination`` defaults to ``report.html``
    (``report.md``) in ``source`` when that is a directory URI, e.g. a run's journal directory."""
    from airflow_provider_pagemeta.journal.location import check_dir, is_local, local_path, storage_path

    text = render_report(source, max_rows=max_rows, fmt=fmt)
    if destination is None:
        directory = check_dir(source, "source") if isinstance(source, str) else None
        is_dir = directory is not None and (
            local_path(directory).is_dir() if is_local(directory) else storage_path(directory).is_dir())
        if not is_dir:
            raise invalid("destination is required unless source is a directory URI", "destination")
        destination = f"{directory}/report.{'html' if fmt == 'html' else 'md'}"
    else:
        destination = check_dir(destination, "destination")
    if is_local(destination):
        path = local_path(destination)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    else:
        storage_path(destination).write_text(text, encoding="utf-8")
    return destination
