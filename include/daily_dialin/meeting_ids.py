"""The one ``meeting_ids`` Param and the one parser of it, for every DAG that takes it (the
provisioning and invitations DAGs).

The rule, one for both DAGs:

* an id is taken exactly as given: ``" M1 "`` is not ``"M1"`` (rooms are named from the exact
  text, and a row's id is compared byte for byte);
* a blank id (empty or whitespace only) names no row - the table reports such rows as problem rows
  and never provisions them - so it is dropped; the form rejects it before a run (``pattern``);
* a list of blank ids only is an error (:class:`~daily_dialin.errors.InvalidRunParams`): no ids
  means "no filter" (every meeting), and a slip in the form must never widen a run to that;
* a string is a comma or whitespace separated list (``-c '{"meeting_ids": "M1, M2"}'`` from the CLI);
* duplicates are dropped, the first one's place kept.

May import: :mod:`daily_dialin.errors`; ``airflow.sdk`` only inside :func:`meeting_ids_param`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_IDS = 10_000
MAX_ID_LENGTH = 100
NOT_BLANK = r"\S"  # JSON Schema "pattern" is a search: at least one non-whitespace character


def meeting_ids_param(description: str) -> Any:
    """The form field (optional: ``null`` or ``[]`` means no filter); only the text differs per DAG."""
    from airflow.sdk import Param

    return Param(
        [],
        type=["null", "array"],  # optional: without "null" the form marks it required
        items={"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": NOT_BLANK},
        maxItems=MAX_IDS,
        title="Meeting ids",
        description=description,
    )


def parse_meeting_ids(raw: str | Iterable[Any] | None) -> tuple[str, ...]:
    """A run's ``meeting_ids`` as unique ids in the given order (see the module's rule)."""
    if raw is None:
        return ()
    items = raw.replace(",", " ").split() if isinstance(raw, str) else [str(item) for item in raw]
    ids = tuple(dict.fromkeys(item for item in items if item.strip()))
    if raw and not ids:  # "" and [] are an empty field; " ", [" "] and " , " are blanks
        from daily_dialin.errors import InvalidRunParams

        raise InvalidRunParams(
            "meeting_ids holds blank ids and no other: a blank id names no meeting "
            "(leave the field empty to mean every meeting)"
        )
    return ids
