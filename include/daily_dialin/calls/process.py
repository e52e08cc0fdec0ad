"""The calls DAG's steps: fold the stored events into the calls table and the meetings table's
figure columns (:func:`fold_events`), then fail on dial-in errors (:func:`raise_alerts`).

Each run takes the events not folded in yet, reloads **every** stored event of their rooms and
recomputes those rooms' calls and figures from scratch (:mod:`.fold` is a pure function of the set),
so late and out-of-order events converge and a retried run writes the same values. Writes come
first, marking the events processed last: a run that dies half-way leaves them pending, and the
next run (or the retry) does the same work again.

The hand-over (XCom) holds counts and alerts (meeting id, room, kind, the scrubbed error text):
never a caller number.

May import: Airflow's exceptions, ``daily_dialin.calls``, ``daily_dialin.provisioning`` (config, table).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_daily.errors import DailyConfigError, DailyError
from daily_dialin.calls.fold import Figures, MeetingSpan, attribute, fold_calls, meeting_figures, when
from daily_dialin.calls.settings import FIGURES, CallsSettings
from daily_dialin.calls.store import CallsStore, StoredEvent
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable

log = logging.getLogger(__name__)

__all__ = ["CallsTables", "DialinAlert", "calls_tables", "fold_events", "prune_events", "raise_alerts"]

BATCH = 5000
RUN_SECONDS = 600.0  # one run folds batches until none is left or this long has passed
_TIMES = ("first_dialin_at", "actual_end_at")
_ALERT_TYPES = {"dialin.error": "error", "dialin.warning": "warning"}
# written from dialin.* events only: left alone when calls come from GET /meetings (no phone flag [doc])
PHONE_FIGURES = frozenset({"phone_callers", "phone_minutes", "first_dialin_at", "last_dialin_error"})


class DialinAlert(DailyError, AirflowFailException):
    """Dial-in failed in some meetings: the run fails (no retry) naming them, so notifiers alert."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CallsTables:
    """What a calls task works on: both settings, the meetings table and the calls store (schema ensured)."""

    config: ProvisioningConfig
    settings: CallsSettings
    table: MeetingsTable
    store: CallsStore


def calls_tables(config_overrides: dict[str, Any] | None, settings_overrides: dict[str, Any] | None) -> CallsTables:
    """The settings (Variables <- overrides), the meetings table and the calls store on its engine."""
    config = ProvisioningConfig.load(config_overrides)
    settings = CallsSettings.load(settings_overrides)
    table = MeetingsTable.from_config(config)
    store = CallsStore(engine=table.engine, settings=settings)
    store.ensure_schema()
    return CallsTables(config=config, settings=settings, table=table, store=store)


def prune_events(store: CallsStore, settings: CallsSettings, now: datetime) -> int:
    """Delete processed events older than ``events_retention_days`` (:meth:`CallsStore.prune`)."""
    pruned = store.prune(cutoff=now - timedelta(days=settings.events_retention_days))
    if pruned:
        log.info("Pruned %d processed event(s) older than %s day(s)", pruned, settings.events_retention_days)
    return pruned


def figure_columns(table: MeetingsTable, settings: CallsSettings) -> dict[str, str]:
    """Figure -> column for the figures the table has a column for. A column mapped in
    ``figure_columns`` must exist (:class:`DailyConfigError` saying what to add); a default-named
    one is skipped when missing."""
    found: dict[str, str] = {}
    for figure, physical in settings.figure_map().items():
        try:
            table.check_optional_column(physical, f"figure_columns.{figure}")
        except DailyConfigError:
            if figure in settings.figure_columns:
                raise
            continue
        found[figure] = physical
    return found


def meeting_spans(table: MeetingsTable, rooms: Iterable[str]) -> dict[str, list[MeetingSpan]]:
    """The meetings-table rows naming each of ``rooms`` (a series room: several)."""
    c, spans = table.c, {}
    rooms = sorted(set(rooms))
    with table.engine.connect() as conn:
        for start in range(0, len(rooms), 500):
            query = sa.select(c.meeting_id, c.room_name, c.starts_at, c.ends_at).where(
                c.room_name.in_(rooms[start : start + 500]), c.meeting_id.is_not(None)
            )
            for meeting_id, room, starts, ends in conn.execute(query.order_by(c.meeting_id)):
                spans.setdefault(room, []).append(MeetingSpan(str(meeting_id), _time(starts), _time(ends)))
    return spans


def _time(value: Any) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else when(value)


def write_figures(table: MeetingsTable, columns: Mapping[str, str], figures: Mapping[str, Figures]) -> None:
    for figure, physical in columns.items():
        values = []
        for meeting_id, f in sorted(figures.items()):
            value = getattr(f, figure)
            values.append((table.ts(value) if figure in _TIMES and value is not None else value, meeting_id))
        table.write_optional_column(physical, values)


def _alerts(batch: Sequence[StoredEvent], spans: Mapping[str, list[MeetingSpan]], *, warnings: bool) -> list[dict]:
    alerts = []
    for event in batch:
        kind = _ALERT_TYPES.get(event.event_type)
        if kind is None or (kind == "warning" and not warnings):
            continue
        at = when(event.payload.get("timestamp")) or when(event.event_ts)
        alerts.append(
            {
                "meeting_id": attribute(spans.get(event.room or "", ()), at),
                "room": event.room,
                "kind": kind,
                "message": str(event.payload.get("error_msg") or event.event_type)[:500],
            }
        )
    return alerts


def _fold_batch(
    store: CallsStore, table: MeetingsTable, columns: Mapping[str, str], settings: CallsSettings, now: datetime
) -> dict[str, Any] | None:
    batch = store.unprocessed(limit=BATCH)
    if not batch:
        return None
    rooms = {event.room for event in batch if event.room}
    events = store.events_of_rooms(rooms)
    spans = meeting_spans(table, rooms)
    calls = fold_calls(events, spans)
    figures = meeting_figures(calls, events, spans)
    store.replace_calls(calls, now=now)
    write_figures(table, columns, figures)
    store.mark_processed([event.seq for event in batch], now=now)
    return {
        "events": len(batch),
        # sets: a room whose events straddle two batches is folded twice but counted once
        "rooms": rooms,
        "calls": {call.session_id for call in calls},
        "meetings": set(figures),
        "alerts": _alerts(batch, spans, warnings=settings.alert_on_warnings),
    }


def _written_columns(table: MeetingsTable, settings: CallsSettings) -> dict[str, str]:
    """Figure -> column of the figures this run writes (logs the ones the table has no column for)."""
    columns = figure_columns(table, settings)
    skipped = sorted(set(FIGURES) - set(columns))
    if skipped:
        log.info("Meetings table has no column for %s: those figures are not written", skipped)
    if settings.calls_source == "meetings_api":  # no dialin.* events: a 0 there would be a guess
        columns = {figure: column for figure, column in columns.items() if figure not in PHONE_FIGURES}
    return columns


def fold_events(
    *,
    now: datetime | None = None,
    config_overrides: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fold every pending event in (batches of :data:`BATCH`, up to :data:`RUN_SECONDS`), then prune
    processed events past the retention; the summary."""
    opened = calls_tables(config_overrides, settings_overrides)
    settings, table, store = opened.settings, opened.table, opened.store
    columns = _written_columns(table, settings)
    summary: dict[str, Any] = {"events": 0, "alerts": [], "columns": columns}
    seen: dict[str, set[str]] = {"rooms": set(), "calls": set(), "meetings": set()}
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        done = _fold_batch(store, table, columns, settings, now or _utcnow())
        if done is None:
            break
        summary["events"] += done["events"]
        for key, found in seen.items():
            found.update(done[key])
        summary["alerts"] += done["alerts"]
    summary.update({key: len(found) for key, found in seen.items()})
    summary["pending"] = store.pending()[0]
    summary["pruned"] = prune_events(store, settings, now or _utcnow())
    log.info(
        "Folded %d event(s) of %d room(s): %d call(s), figures of %d meeting(s); %d alert(s), %d event(s) left",
        summary["events"],
        summary["rooms"],
        summary["calls"],
        summary["meetings"],
        len(summary["alerts"]),
        summary["pending"],
    )
    return summary


def raise_alerts(summary: Mapping[str, Any]) -> None:
    """Fail, naming each meeting, when the folded events held ``dialin.error`` (or ``.warning``)."""
    alerts = summary.get("alerts") or []
    if not alerts:
        log.info("No dial-in errors")
        return
    lines = [
        f"dial-in {a['kind']} in meeting {a['meeting_id'] or '(no meeting row)'} (room {a['room']}): {a['message']}"
        for a in alerts
    ]
    meetings = sorted({str(a["meeting_id"] or a["room"]) for a in alerts})
    raise DialinAlert(f"dial-in failed in {len(meetings)} meeting(s) {meetings}:\n" + "\n".join(lines))
