"""Keyset paging for the dial-in page's list: a page starts after the last row of the page before,
found through the index of the sort column, instead of skipping ``OFFSET`` rows (whose state the
table module's rules would decide one by one: 0.37 s for page 1,000 at 100,000 rows).

The order is the sort column, then ``meeting_id``. A :class:`Cursor` holds the last row's values of
both and how many rows with exactly those values were shown already (``seen``: ids are unique, so
1 - but a table may hold rows without an id, which tie); the next page is the rows at or after the
cursor (:meth:`Order.at_or_after`), less those ``seen``. Rows that tie come in any order, so a page
never ends inside a run of them (the page shows the whole run: a few rows more). NULLs sort where the database puts them
(SQLite: smallest; PostgreSQL: largest), so the index still serves the ``ORDER BY``; a column the
table declares ``NOT NULL`` gets no ``IS NULL`` branch.

May import: SQLAlchemy and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["Cursor", "Order"]

_DT = "dt"  # a datetime in a cursor: {"dt": iso text}


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DT: value.isoformat()}
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _load(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(value[_DT])
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError("not a cursor value")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's sort value and id, and how many rows with both were shown."""

    value: Any
    key: Any
    seen: int = 1

    def encode(self) -> str:
        text = json.dumps([_dump(self.value), _dump(self.key), self.seen], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor of :meth:`encode`; ``ValueError`` for anything else."""
        try:
            value, key, seen = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(value=_load(value), key=_load(key), seen=int(seen))
        except (binascii.Error, TypeError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a cursor of this list: {exc}") from None
        if not 0 < cursor.seen <= 10_000:
            raise ValueError("not a cursor of this list")
        return cursor


@dataclass(frozen=True)
class Order:
    """The list's order: ``column`` (the sort column) then ``key`` (``meeting_id``), ascending or not."""

    column: ColumnElement[Any]
    key: ColumnElement[Any]
    descending: bool
    nulls_smallest: bool  # the database's NULL placement: SQLite's (True), PostgreSQL's (False)
    nullable: frozenset[str]  # the names of the order's columns that may hold NULL

    @property
    def by_key(self) -> bool:
        return self.column.name == self.key.name

    def order_by(self) -> list[ColumnElement[Any]]:
        columns = [self.key] if self.by_key else [self.column, self.key]
        return [column.desc() if self.descending else column.asc() for column in columns]

    def _nulls_first(self) -> bool:
        return self.nulls_smallest != self.descending

    def _may_be_null(self, column: ColumnElement[Any]) -> bool:
        return column.name in self.nullable

    def _beyond(self, column: ColumnElement[Any], value: Any, *, inclusive: bool) -> ColumnElement[bool]:
        """``column`` after ``value`` in this order (``inclusive``: or equal), NULLs where they sort."""
        if value is None:  # only NULLs tie with NULL; all values follow NULLs sorted first
            if self._nulls_first():
                return sa.true() if inclusive else column.is_not(None)
            return column.is_(None) if inclusive else sa.false()
        if self.descending:
            base = column <= value if inclusive else column < value
        else:
            base = column >= value if inclusive else column > value
        if self._nulls_first() or not self._may_be_null(column):
            return base
        return sa.or_(base, column.is_(None))

    def at_or_after(self, cursor: Cursor) -> list[ColumnElement[bool]]:
        """WHERE terms of the rows at or after ``cursor`` (the first term alone narrows the index range)."""
        if self.by_key:
            return [self._beyond(self.key, cursor.key, inclusive=True)]
        column = self.column
        same = column.is_(None) if cursor.value is None else column == cursor.value
        return [
            self._beyond(column, cursor.value, inclusive=True),
            sa.or_(
                self._beyond(column, cursor.value, inclusive=False),
                sa.and_(same, self._beyond(self.key, cursor.key, inclusive=True)),
            ),
        ]

    def tie_terms(self, row: Any) -> list[ColumnElement[bool]]:
        """WHERE terms of the rows that tie with ``row`` in this order (only rows without an id do)."""
        value, key = self._values(row)
        terms = [self.key.is_(None) if key is None else self.key == key]
        if not self.by_key:
            terms.append(self.column.is_(None) if value is None else self.column == value)
        return terms

    def ties(self, row: Any, other: Any) -> bool:
        return self._values(row) == self._values(other)

    def _values(self, row: Any) -> tuple[Any, Any]:
        return (row[self.key.name] if self.by_key else row[self.column.name]), row[self.key.name]

    def skip_seen(self, rows: Sequence[Any], cursor: Cursor | None) -> list[Any]:
        """``rows`` (at or after ``cursor``) less the first ``cursor.seen`` equal to it (shown already)."""
        rows = list(rows)
        if cursor is None:
            return rows
        skipped = 0
        while skipped < min(cursor.seen, len(rows)) and self._values(rows[skipped]) == (cursor.value, cursor.key):
            skipped += 1
        return rows[skipped:]

    def next_cursor(self, rows: Sequence[Any], cursor: Cursor | None) -> Cursor:
        """The cursor after the last of ``rows`` (the page shown after ``cursor``)."""
        last = self._values(rows[-1])
        seen = 0
        for row in reversed(rows):
            if self._values(row) != last:
                break
            seen += 1
        if seen == len(rows) and cursor is not None and (cursor.value, cursor.key) == last:
            seen += cursor.seen  # a run of ties across pages
        return Cursor(value=last[0], key=last[1], seen=seen)
