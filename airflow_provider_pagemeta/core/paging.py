"""Bounds for every paginated listing the provider follows.

Pagination trusts the server to advance: a ``next`` link that points back at a page already read,
a cursor that repeats, an offset the server ignores, or a ``total`` it invents would each keep a
listing loop asking forever. A listing cut short is no better: a Hamgam sync would then re-create
keys it did not see. So each listing goes through one :class:`Paging` guard: a request already
sent is not sent again, a page whose items were all seen before ends the listing with an error,
and no listing runs past :data:`MAX_PAGES` requests. Each of those is a ``CMSInvalidResponseError``
naming the call: the server's answer is unusable, and the task says so instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from airflow_provider_pagemeta.exceptions import CMSInvalidResponseError

#: More listing requests than any real site needs (1,000,000 items at 100 per page).
MAX_PAGES = 10_000


class Paging:
    """The guard of one listing; see the module docstring for the why."""

    def __init__(self, cms: str, call: str, *, max_pages: int = MAX_PAGES, method: str = "GET") -> None:
        self.cms = cms
        self.call = call
        self.method = method  # a listing may be a POST (Buildin's database query)
        self.max_pages = max_pages
        self.pages = 0
        self._requests: set[Hashable] = set()
        self._items: set[Hashable] = set()

    def error(self, message: str) -> CMSInvalidResponseError:
        return CMSInvalidResponseError(message, cms=self.cms, method=self.method, call=self.call)

    def before_request(self, key: Hashable) -> None:
        """Refuse a request the listing already sent (a looping ``next`` or cursor) or one too many."""
        if key in self._requests:
            raise self.error(f"the listing points back at a page already read ({key!r}): paging does not advance")
        if self.pages >= self.max_pages:
            raise self.error(f"the listing did not end within {self.max_pages} pages")
        self._requests.add(key)
        self.pages += 1

    def items(self, value: Any, what: str, identity: Callable[[dict[str, Any]], Hashable]) -> list[dict[str, Any]]:
        """The page's items: a list of JSON objects, not all of them seen on earlier pages."""
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(f"the listing's {what!r} is not a list of objects")
        keys = [identity(item) for item in value]
        if keys and all(key in self._items for key in keys):
            raise self.error(f"the listing returned only {what} already seen: paging does not advance")
        self._items.update(keys)
        return value
