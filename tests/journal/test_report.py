"""render_report: the Markdown an approval shows and the HTML page a browser opens."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from airflow_provider_pagemeta.exceptions import CMSValidationError
from airflow_provider_pagemeta.journal import render_report, write_report


def entry(page_id: str, changes: dict, status: str = "applied", error: str | None = None, cms: str = "webflow"):
    page = {"page_id": page_id, "locale_id": None} if cms == "webflow" else {"page_id": page_id}
    return {"cms": cms, "page": page, "changes": changes, "status": status, "error": error,
            "at": "2026-01-01T00:00:00+00:00", "dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1,
            "conn_id": None}


ENTRIES = [
    entry("a" * 24, {"seo.title": {"old": "Old | A", "new": "New `A`"}, "slug": {"new": "a-new"}}, "planned"),
    entry("b" * 24, {}, "failed", error="webflow get_page (GET /v2/pages/bbb) -> HTTP 404 [not_found]"),
]


def test_markdown_table_with_totals_and_escaped_cells():
    assert render_report(ENTRIES) == (
        "**Change journal:** 2 page(s), 2 field change(s); entries by status: failed 1, planned 1\n"
        "\n"
        "| page | field | old | new | status |\n"
        "|---|---|---|---|---|\n"
        f"| webflow `{'a' * 24}` | `seo.title` | `\"Old \\| A\"` | ``\"New `A`\"`` | planned |\n"
        f"| webflow `{'a' * 24}` | `slug` | _(none)_ | `\"a-new\"` | planned |\n"
        f"| webflow `{'b' * 24}` |  |  |  | failed: `webflow get_page (GET /v2/pages/bbb) -> HTTP 404 [not_found]` |\n"
    )


def test_rows_beyond_max_rows_are_counted_not_listed():
    many = [entry(f"{n:024x}", {"title": {"old": "x", "new": f"t{n}"}}) for n in range(7)]
    text = render_report(many, max_rows=3)
    assert text.count("| webflow ") == 3
    assert "… and 4 more row(s), not listed" in text
    assert "7 page(s), 7 field change(s)" in text
    assert render_report([]) == (
        "**Change journal:** 0 page(s), 0 field change(s); entries by status: none\n\n_No page changed._\n")


def test_reads_journal_files_and_results(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in ENTRIES))
    from_uri = render_report(f"file://{path}")
    assert from_uri == render_report(ENTRIES)
    assert render_report({"journal": str(path)}) == from_uri
    with pytest.raises(CMSValidationError, match="fmt"):
        render_report(ENTRIES, fmt="pdf")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._in_td = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self._in_td:
            self.cells[-1] += data


def test_html_is_self_contained_escaped_and_sortable():
    hostile = entry("c" * 24, {"title": {"old": "<script>alert(1)</script>", "new": 'x" onmouseover="y'}})
    page = render_report([*ENTRIES, hostile], fmt="html")
    parsed = _Collect()
    parsed.feed(page)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("script") == 1  # ours; the value's <script> is text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not [a for _, attrs in parsed.tags for k, a in attrs.items() if k in ("src", "href")]  # no external asset
    assert not re.search(r"url\(|@import|https?://(?!www\.w3)", page.split("<body>")[0])
    csp = next(a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp["content"].startswith("default-src 'none'")
    assert '"x\\" onmouseover=\\"y"' in parsed.cells  # the attribute-breaking value stays inside its cell
    headers = set(re.findall(r"<th>([^<]+)</th>", page))
    assert {"pages", "field changes", "status failed", "status planned", "status applied", "old", "new"} <= headers
    assert 'addEventListener("click"' in page and "localeCompare" in page


def test_write_report_next_to_a_run_directory(tmp_path):
    run = tmp_path / "dag" / "run"
    run.mkdir(parents=True)
    (run / "t.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ENTRIES))
    where = write_report(str(run))
    assert where == f"file://{run}/report.html"
    assert (run / "report.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(CMSValidationError, match="destination is required"):
        write_report(str(run / "t.jsonl"))


def test_html_names_the_task_and_run_of_each_row_so_a_directory_report_tells_plan_from_apply():
    plan = {**entry("a" * 24, {"seo.title": {"old": "Old", "new": "New"}}, "planned"), "dag_id": "seo_refresh",
            "task_id": "plan", "run_id": "manual__2026-12-01T14:19:40+00:00"}
    apply = {**plan, "status": "applied", "task_id": "apply"}
    mapped = {**apply, "task_id": "apply_updates", "map_index": 1}
    page = render_report([plan, apply, mapped], fmt="html")
    parsed = _Collect()
    parsed.feed(page)
    assert "<th>status</th><th>task</th></tr>" in page
    assert [c for c in parsed.cells if c.startswith("seo_refresh.")] == [
        "seo_refresh.plan", "seo_refresh.apply", "seo_refresh.apply_updates[1]"]
    runs = [a["title"] for t, a in parsed.tags if t == "td" and a.get("title", "").startswith("run ")]
    assert runs == ["run manual__2026-12-01T14:19:40+00:00"] * 3
    assert "seo_refresh." not in render_report([plan, apply])  # the Markdown (an approval's body) is unchanged
