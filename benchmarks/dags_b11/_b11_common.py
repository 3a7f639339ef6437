"""Shared by the B11 DAGs: the pages to update (written next to the DAG files by
``benchmarks/bulk_scheduler.py``), and the peak-RSS callback of the B2 DAGs."""

from __future__ import annotations

import json
from pathlib import Path

from _b2_common import record_rss

PAGES_FILE = Path(__file__).with_name("b11_pages.json")

__all__ = ["buildin_pages", "hamgam_pages", "meta_description", "record_rss"]


def _pages(cms: str) -> list[int | str]:
    """The page ids of one CMS; empty when the file is absent (the DAG still parses)."""
    if not PAGES_FILE.exists():
        return []
    return list(json.loads(PAGES_FILE.read_text())[cms])


def hamgam_pages() -> list[int | str]:
    return _pages("hamgam")


def buildin_pages() -> list[int | str]:
    return _pages("buildin")


def meta_description(text: str) -> dict[str, object]:
    """A Buildin rich-text property value."""
    return {"rich_text": [{"type": "text", "text": {"content": text}}]}
