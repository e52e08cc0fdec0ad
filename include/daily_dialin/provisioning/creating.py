"""Ensure a chunk's rooms through the provider: the one home of how a chunk task calls Daily.

Every room group - a one-off meeting or a recurring series (:mod:`~daily_dialin.provisioning.groups`)
- plans its room spec and the pipeline hands it here. One rule for all: the hook
(:func:`daily_dialin.hook.daily_hook`) gets the chunk's 1/n share of the rate limit and its deadline;
an error that ends the calls early (an outage outlasting the deadline, a refused key, any surprise)
does not lose what was done - ``outcomes`` keeps every room Daily confirmed, and the error is
returned for the caller to write back first and raise after
(:class:`~daily_dialin.interrupted.Interrupted`).

Live rooms: a room reused with its ``exp`` moved earlier, to less than ``live_exp_margin_minutes``
from now, keeps its ``exp`` while anyone is in it (the hook's rule, one ``GET /rooms/:name/presence``
for such a room only). Such a room's outcome is turned into a failure that is not an attempt,
*"deferred: live (N participants, M on the phone): ..."*, so its row keeps what it had (its old
``room_exp`` and fingerprint) and the next run tries again, until the room is empty.

May import: the provider (lazily: parsing a DAG file imports no HTTP code), ``daily_dialin.hook``
and the provisioning settings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_daily.errors import DailyError
from airflow_provider_daily.models import RoomCreate
from daily_dialin.provisioning.config import ProvisioningConfig

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Ensured:
    """What a chunk's calls to Daily came to: each room's outcome by name, the error that ended
    the calls (``None``: all done), the API calls made, and the connection's fallback number."""

    hook: Any
    outcomes: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None
    calls: dict[str, int] = field(default_factory=dict)
    fallback: str | None = None


def ensure_rooms(*, specs: Iterable[RoomCreate], config: ProvisioningConfig, label: str) -> Ensured:
    """Create or reuse every room of ``specs`` (read lazily: the creator asks for the next spec as
    it fills a batch, so building batch k+1 overlaps batch k's call). Never raises for Daily's
    answers: the error that ended the calls is in the result, next to what was done."""
    from airflow_provider_daily.bulk import BulkRoomCreator
    from daily_dialin.hook import daily_hook

    hook = daily_hook(config, shared=True)
    creator = BulkRoomCreator(
        hook=hook, batch_size=config.batch_size, concurrency=config.batch_concurrency, per_room=config.per_room
    )
    ensured = Ensured(hook=hook)
    try:
        creator.ensure_rooms(specs, ensured.outcomes)
    except Exception as exc:  # an outage past the deadline, a refused key, any surprise: keep what was done
        ensured.error = exc
        log.error("%s interrupted after %d room request(s): %s", label, len(ensured.outcomes), exc)
    ensured.calls = creator.calls
    ensured.fallback = fallback_number(hook)
    defer_live(ensured.outcomes, label=label)
    return ensured


def defer_live(outcomes: dict[str, Any], *, label: str) -> int:
    """Turn each outcome whose ``exp`` was held back for a live room into a failure that is not an
    attempt, with the reason: the row keeps its old values and is tried again next run. Returns how many."""
    deferred = [outcome for outcome in outcomes.values() if getattr(outcome, "deferred", None) and not outcome.error]
    for outcome in deferred:
        outcome.error, outcome.counts = outcome.deferred, False
    if deferred:
        log.warning(
            "%s: %d room(s) live, their exp kept (next run tries again): %s",
            label,
            len(deferred),
            "; ".join(f"{o.name}: {o.deferred}" for o in deferred[:20]),
        )
    return len(deferred)


def fallback_number(hook: Any) -> str | None:
    """The connection's fallback dial-in number, for rooms whose config names none."""
    try:
        return hook.settings.default_dialin_number
    except DailyError:  # the connection itself was the problem
        return None
