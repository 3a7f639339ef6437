"""Deterministic demo data of the Hamgam sandbox: a file library and three pages with meta entries.

Page 38 is the page the Hamgam docs use in their examples (its ``image_top`` entry copies the
documented file meta that carries ``value_text: ""`` next to its file). Page 39 has more entries
than one default listing page (limit 10), so clients must paginate. Page 40 starts empty.

Pages 1001-1500 (:data:`BULK_PAGE_IDS`) are generated for bulk runs and benchmarks: each has a
``meta_title``, a ``meta_description`` and an ``og_image`` (a file), created after the demo rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

#: First demo timestamp; every later demo row is one minute newer, so ``-created_at`` is a total order.
DEMO_EPOCH = datetime(2025, 11, 23, 10, 18, 36, 325053, tzinfo=timezone.utc)

#: Files the meta entries may point at: id -> (type, name, size in bytes, media path).
DEMO_FILES: dict[int, tuple[str, str | None, int, str]] = {
    1: ("image", "logitech-logo", 2763, "2025/11/22/logitech.png"),
    2: ("image", "hero-banner", 118805, "2025/11/29/hero-banner.jpg"),
    3: ("text", "terms-of-service", 40960, "2025/11/30/terms.txt"),
    4: ("image", "rams", 118805, "2025/11/29/RAMFeatured.jpg"),
    5: ("video", None, 7340032, "2025/12/01/intro.mp4"),
}

#: Meta entries per page, oldest first: (key, value_text, value_file id). Page 38 follows the docs.
DEMO_PAGES: dict[int, list[tuple[str, str | None, int | None]]] = {
    38: [
        ("image_top", "", 1),
        ("contact_us_title", "contact us here", None),
        ("contact_us_url", "https://example.com/contact", None),
        ("meta_description", "Logitech accessories, delivered tomorrow.", None),
    ],
    39: [(f"spec_{n:02d}", f"value {n}", None) for n in range(1, 26)],
    40: [],
}

PAGED_PAGE_ID = 39
EMPTY_PAGE_ID = 40

#: Generated pages for bulk runs (500, each with three meta entries).
BULK_PAGE_IDS = range(1001, 1501)


def iso(moment: datetime) -> str:
    """DRF's rendering of an aware UTC datetime: microseconds and a ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def human_size(size: int) -> str:
    """Django's ``filesizeformat`` style (``116.02 KB``), as the docs' file objects show."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def bulk_entries(page_id: int) -> list[tuple[str, str | None, int | None]]:
    n = page_id - BULK_PAGE_IDS.start + 1
    return [
        ("meta_title", f"Product {n:03d} | Logitech Store", None),
        ("meta_description", f"Product {n:03d}: specifications, prices and delivery.", None),
        ("og_image", "", 1 + n % 2),
    ]


def demo_rows() -> tuple[dict[str, Any], ...]:
    """Every demo meta row with its page, in creation order (ids are assigned from 1 in this order).

    Built once, shared: callers copy a row before changing it (a reset must stay cheap with the
    1,500 generated rows).
    """
    return _ROWS


def _build_rows() -> tuple[dict[str, Any], ...]:
    rows: list[dict[str, Any]] = []
    pages = [*DEMO_PAGES.items(), *((page_id, bulk_entries(page_id)) for page_id in BULK_PAGE_IDS)]
    for page_id, entries in pages:
        for key, text, file_id in entries:
            moment = DEMO_EPOCH + timedelta(minutes=len(rows))
            rows.append({"page_id": page_id, "key": key, "value_text": text, "value_file": file_id,
                         "created_at": moment, "updated_at": moment})
    return tuple(rows)


_ROWS = _build_rows()
