"""Demo data of the Buildin sandbox: a small workspace whose ids tests and example DAGs address.

Kept apart from the emulator so the shapes read like the page object of the Buildin V2 docs
(``GET /v2/pages/:page_id``): ids are UUIDs, times are ISO 8601 with milliseconds, and rich text
carries the read-back keys (``plain_text``, ``href``, ``link: null``) the docs show.
"""

from __future__ import annotations

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

SELECT_OPTIONS: dict[str, list[dict[str, str]]] = {
    "Status": [
        {"id": "opt-draft", "name": "Draft", "color": "gray"},
        {"id": "opt-review", "name": "In review", "color": "yellow"},
        {"id": "opt-done", "name": "Done", "color": "green"},
    ],
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
