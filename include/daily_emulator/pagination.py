"""Cursor pagination (``limit``, ``starting_after``, ``ending_before`` incl. ``OLDEST``) for list endpoints."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from daily_emulator.errors import invalid

T = TypeVar("T")
OLDEST = "OLDEST"


def parse_limit(query: Mapping[str, str], *, maximum: int) -> int:
    raw = query.get("limit")
    if raw is None:
        return maximum
    try:
        limit = int(raw)
    except ValueError:
        raise invalid(f"limit must be an integer between 1 and {maximum} (got {raw!r})") from None
    if not 1 <= limit <= maximum:
        raise invalid(f"limit must be between 1 and {maximum} (got {limit})")
    return limit


def paginate(
    items: Sequence[T],
    *,
    query: Mapping[str, str],
    maximum: int,
    position_of_item: Callable[[T], int],
    position_of_id: Callable[[str], int | None],
) -> list[T]:
    """One page of ``items`` (already in listing order; positions increase along it).

    A cursor id is mapped to a position by ``position_of_id``, so a cursor still works after its
    object was deleted; an id that never existed is a 400.
    """
    limit = parse_limit(query, maximum=maximum)
    after = query.get("starting_after")
    before = query.get("ending_before")
    if after is not None and before is not None:
        raise invalid("use only one of starting_after and ending_before")
    if after is not None:
        pos = _cursor(after, position_of_id, "starting_after")
        return [item for item in items if position_of_item(item) > pos][:limit]
    if before is not None:
        if before == OLDEST:
            return list(items[-limit:])
        pos = _cursor(before, position_of_id, "ending_before")
        return [item for item in items if position_of_item(item) < pos][-limit:]
    return list(items[:limit])


def _cursor(value: str, position_of_id: Callable[[str], int | None], name: str) -> int:
    pos = position_of_id(value)
    if pos is None:
        raise invalid(f"{name}: no object with id {value!r}")
    return pos
