"""Demo data of the Buildin sandbox: a small workspace whose ids tests and example DAGs address.

Kept apart from the emulator so the shapes read like the page object of the Buildin V2 docs
(``GET /v2/pages/:page_id``): ids are UUIDs, times are ISO 8601 with milliseconds, and rich text
carries the read-back keys (``plain_text``, ``href``, ``link: null``) the docs show.

Besides four loose pages, the workspace has one database, "Content Library", of
:data:`LIBRARY_PAGE_COUNT` article pages (enough for several query pages at ``page_size`` 100).
Its records are ordinary pages (``parent: {"type": "database_id", ...}``) carrying every property
of the database schema: ``Name`` (title), ``SEO status`` (select: one in three ``needs refresh``,
a few empty, the rest ``ok``), ``Published`` (checkbox), ``Summary`` and ``Meta description``
(rich text; empty on the pages that need a refresh).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

#: The seed's example page, renamed by the example DAG.
PLAN_PAGE_ID = "11111111-1111-4111-8111-111111111111"
NOTES_PAGE_ID = "22222222-2222-4222-8222-222222222222"
TRASHED_PAGE_ID = "33333333-3333-4333-8333-333333333333"
#: The parent of the other pages (its own parent is the workspace).
SPACE_PAGE_ID = "55555555-5555-4555-8555-555555555555"

#: The person who created the demo pages (the docs' example user id).
DEMO_USER_ID = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
WORKSPACE_ID = "99999999-9999-4999-8999-999999999999"
INTEGRATION_ID = "77777777-7777-4777-8777-777777777777"

#: The demo database and its size.
LIBRARY_DATABASE_ID = "66666666-6666-4666-8666-666666666666"
LIBRARY_PAGE_COUNT = 500

SELECT_OPTIONS: dict[str, list[dict[str, str]]] = {
    "Status": [
        {"id": "opt-draft", "name": "Draft", "color": "gray"},
        {"id": "opt-review", "name": "In review", "color": "yellow"},
        {"id": "opt-done", "name": "Done", "color": "green"},
    ],
    "SEO status": [
        {"id": "opt-needs-refresh", "name": "needs refresh", "color": "orange"},
        {"id": "opt-seo-ok", "name": "ok", "color": "green"},
    ],
}

#: The database schema: property name -> (property id, type).
LIBRARY_SCHEMA: dict[str, tuple[str, str]] = {
    "Name": ("title", "title"),
    "SEO status": ("seo-status", "select"),
    "Published": ("published", "checkbox"),
    "Summary": ("summary", "rich_text"),
    "Meta description": ("meta-description", "rich_text"),
}


def rich_text(content: str, url: str | None = None) -> list[dict[str, Any]]:
    """One text item in read-back form."""
    link = {"url": url} if url else None
    return [{"type": "text", "text": {"content": content, "link": link}, "plain_text": content, "href": url}]


def _user(user_id: str) -> dict[str, str]:
    return {"object": "user", "id": user_id}


def _page(
    page_id: str,
    title: str,
    *,
    parent: dict[str, Any],
    created: str,
    edited: str,
    summary: str | None = None,
    status: str | None = None,
    icon: dict[str, Any] | None = None,
    cover: dict[str, Any] | None = None,
    in_trash: bool = False,
) -> dict[str, Any]:
    properties: dict[str, Any] = {"title": {"id": "title", "type": "title", "title": rich_text(title)}}
    if summary is not None:
        properties["Summary"] = {"id": "summary", "type": "rich_text", "rich_text": rich_text(summary)}
    if status is not None:
        option = next((o for o in SELECT_OPTIONS["Status"] if o["name"] == status), None)
        properties["Status"] = {"id": "status", "type": "select", "select": dict(option) if option else None}
    return {
        "object": "page",
        "id": page_id,
        "page_type": "page",
        "created_time": created,
        "last_edited_time": edited,
        "created_by": _user(DEMO_USER_ID),
        "last_edited_by": _user(DEMO_USER_ID),
        "parent": parent,
        "in_trash": in_trash,
        "icon": icon,
        "cover": cover,
        "properties": properties,
        "url": f"https://buildin.ai/docs/{page_id}",
    }


def demo_pages() -> list[dict[str, Any]]:
    """Fresh copies of the demo pages (the emulator mutates what it gets)."""
    in_space = {"type": "page_id", "page_id": SPACE_PAGE_ID}
    return [
        _page(SPACE_PAGE_ID, "Team Space", parent={"type": "workspace", "workspace": True},
              created="2026-04-01T08:00:00.000Z", edited="2026-04-01T08:00:00.000Z",
              icon={"type": "emoji", "emoji": "🏠"}),
        _page(PLAN_PAGE_ID, "Quarterly Plan", parent=in_space,
              created="2026-04-09T08:00:00.000Z", edited="2026-04-09T09:30:00.000Z",
              summary="Goals and owners for the quarter.", status="Draft",
              icon={"type": "emoji", "emoji": "📈"}),
        _page(NOTES_PAGE_ID, "Release Notes", parent=in_space,
              created="2026-04-10T10:00:00.000Z", edited="2026-04-11T12:15:30.250Z",
              summary="What shipped.", status="In review",
              icon={"type": "external", "external": {"url": "https://example.com/icons/notes.png"}},
              cover={"type": "external", "external": {"url": "https://example.com/covers/notes.png"}}),
        _page(TRASHED_PAGE_ID, "Old Draft", parent=in_space,
              created="2026-03-01T09:00:00.000Z", edited="2026-03-02T09:00:00.000Z", in_trash=True),
    ]


_TOPICS = ["Hiking", "Camping", "Climbing", "Kayaking", "Cycling", "Skiing", "Fishing", "Trail running"]
_FORMATS = ["guide", "checklist", "review", "story", "how-to"]
_LIBRARY_EPOCH = datetime(2026, 2, 1, 8, 0, tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def library_page_id(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"buildin-sandbox-library-page-{index}"))


def seo_status(index: int) -> str | None:
    """``needs refresh`` on every third page, empty on a few, ``ok`` on the rest."""
    if index % 3 == 0:
        return "needs refresh"
    return None if index % 25 == 7 else "ok"


def library_database() -> dict[str, Any]:
    """The database object (``GET /v2/databases/{id}``): the schema under ``properties``, no records."""
    properties: dict[str, Any] = {}
    for name, (prop_id, kind) in LIBRARY_SCHEMA.items():
        config: dict[str, Any] = {"options": [dict(o) for o in SELECT_OPTIONS[name]]} if kind == "select" else {}
        properties[name] = {"id": prop_id, "name": name, "type": kind, kind: config}
    return {
        "object": "database",
        "id": LIBRARY_DATABASE_ID,
        "created_time": "2026-01-31T08:00:00.000Z",
        "last_edited_time": "2026-01-31T08:00:00.000Z",
        "created_by": _user(DEMO_USER_ID),
        "last_edited_by": _user(DEMO_USER_ID),
        "title": rich_text("Content Library"),
        "description": rich_text("Articles whose SEO metadata the example DAGs keep fresh."),
        "icon": {"type": "emoji", "emoji": "📚"},
        "cover": None,
        "parent": {"type": "page_id", "page_id": SPACE_PAGE_ID},
        "is_inline": False,
        "in_trash": False,
        "properties": properties,
        "url": f"https://buildin.ai/docs/{LIBRARY_DATABASE_ID}",
    }


def library_pages(count: int = LIBRARY_PAGE_COUNT) -> list[dict[str, Any]]:
    """Fresh database records, oldest first (one hour apart)."""
    parent = {"type": "database_id", "database_id": LIBRARY_DATABASE_ID}
    pages = []
    for i in range(count):
        topic, kind = _TOPICS[i % len(_TOPICS)], _FORMATS[(i // len(_TOPICS)) % len(_FORMATS)]
        title = f"{topic} {kind} #{i + 1:03d}"
        status = seo_status(i)
        option = next((dict(o) for o in SELECT_OPTIONS["SEO status"] if o["name"] == status), None)
        summary = f"A {kind} about {topic.lower()}, part {i + 1}."
        meta = [] if status == "needs refresh" else rich_text(f"{title}: {summary}")
        created = _LIBRARY_EPOCH + timedelta(hours=i)
        pid = library_page_id(i)
        pages.append({
            "object": "page",
            "id": pid,
            "page_type": "page",
            "created_time": _iso(created),
            "last_edited_time": _iso(created + timedelta(minutes=30 + i % 45)),
            "created_by": _user(DEMO_USER_ID),
            "last_edited_by": _user(DEMO_USER_ID),
            "parent": parent,
            "in_trash": False,
            "icon": None,
            "cover": None,
            "properties": {
                "Name": {"id": "title", "type": "title", "title": rich_text(title)},
                "SEO status": {"id": "seo-status", "type": "select", "select": option},
                "Published": {"id": "published", "type": "checkbox", "checkbox": i % 4 != 3},
                "Summary": {"id": "summary", "type": "rich_text", "rich_text": rich_text(summary)},
                "Meta description": {"id": "meta-description", "type": "rich_text", "rich_text": meta},
            },
            "url": f"https://buildin.ai/docs/{pid}",
        })
    return pages
