"""Daily's cursor paging: the one loop every ``iter_*`` method of the hook walks.

May import: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["walk_pages"]


def walk_pages(fetch: Callable[[str | None], list[Any]], page_size: int) -> Iterator[Any]:
    """Follow Daily's ``starting_after`` cursor (the last item's id) until a short page."""
    cursor: str | None = None
    while True:
        items = fetch(cursor)
        yield from items
        if len(items) < page_size or not getattr(items[-1], "id", None):
            return
        cursor = items[-1].id
