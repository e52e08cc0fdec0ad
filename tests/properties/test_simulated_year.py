"""A simulated year of operation: a Hypothesis state machine runs the provisioning application for
at least 400 simulated days, the emulator's clock and the application's "now" moving together.

The world: a SQLite meetings table, the Daily emulator in a process of its own
(:class:`tests.support.emulator_process.EmulatorProcess`, its clock moved through
``/_emulator/clock``), and this process's clock frozen at the simulated now with ``time-machine``
(the code that reads the wall clock - ``time.time()`` in the provider's ``rooms``, the meetings'
``room_spec``, ``summarize`` - sees the simulated now too). Both clocks are set in the same step
(:meth:`SimulatedYear._set_now`). Runs go through the in-process engine of the DAG's tasks
(:func:`tests.support.engine.run_engine`: ``plan``, every chunk, ``retire_cancelled`` behind the
deletion gate, ``summarize``, ``verify``), always with an explicit ``now``.

Rules: bookings of one-off meetings (up to 400 days ahead, in zones with and without DST) and of
weekly or fortnightly series whose occurrences reach more than 365 days ahead (each at the same
local time, so their UTC instants move across DST changes), moves, cancellations (at most 3
rooms waiting to be deleted: under the gate's floor, so no approval is needed), reinstatements,
rows deleted (their rooms become orphans), rows with an impossible start (Feb 30, month 13), runs
for one meeting by id (often one too far ahead for Daily: it must wait, not be given up), safety
runs, a meeting booked while a run is under way (after its plan: no alert, no "missed"), watcher
polls (``MeetingsTable.pending_work``, counted by the test), Daily outages (scripted faults),
invitations runs, time passing (a safety run, then a jump of up to 30 days, never more than the
horizon: every meeting that starts in the jump was provisioned before it).

Invariants after every step, each with its own oracle (plain datetimes and the rows as booked,
never the application's rules nor :mod:`daily_devtools.audit`):

* after a clean safety run, every scheduled meeting it could see within the horizon has a room
  (the model books only valid meetings: a written reason is not enough here), and the run's
  verdict is "success" unless the table holds a row with an impossible time;
* no room is created or updated with ``exp`` 365 days or more ahead of the simulated now (every
  request the application sends to Daily is recorded, and the rooms Daily holds are checked);
* a series room never expires before an occurrence that has its PIN;
* rooms are deleted only for cancelled meetings or orphans;
* invitations show each occurrence at its local time across DST changes (after each invitations
  run, the files' DTSTART and DTEND, expanded with ``recurring-ical-events``, are in the meeting's
  zone, at the local time it was booked for, and equal the row's instants - or, for a meeting moved
  since the last clean run, where it was; right after a clean run, every provisioned upcoming
  occurrence is shown);
* a watcher poll counts exactly the new work and the cancelled rooms the test counts.

The test also fails when a check never saw anything over all examples (no room deleted, no
invitation across a DST change, ...): examples too tame to prove anything.

After the drawn steps, ``teardown`` lets the rest of the year pass (30-day jumps with safety runs,
the invariants checked after each) until at least 400 days were simulated.

Budget: the default profile runs in the fast stage in about two minutes on a loaded 2-core
machine; ``HYPOTHESIS_PROFILE=simulated-year-long`` (see ``CONTRIBUTING.md``) runs more and longer
examples. Shrunk failures are pinned down as plain regression tests at the end of the module.

May import: the application and provider packages, the emulator's admin client, ``tests.support``,
Hypothesis, ``time-machine``, ``icalendar``/``recurring-ical-events``, the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import requests
import time_machine
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from icalendar import Calendar

from airflow_provider_daily.errors import DailyError
from daily_dialin.freshness.pending import pending_work
from daily_dialin.provisioning.steps import RetireInterrupted
from daily_dialin.provisioning.table import MeetingsTable, schema_sql
from tests.support.daily import daily_connection_uri
from tests.support.emulator_process import EmulatorProcess
from tests.support.engine import run_engine

pytestmark = pytest.mark.slow  # a process of its own for the emulator, and a year per example

# -- the deployment -------------------------------------------------------------------------------
HORIZON_DAYS = 30
MAX_ATTEMPTS = 2
GRACE_SECONDS = 3600  # the default exp_grace_minutes (60), as the docs state it
CONFIG = {
    "horizon_days": HORIZON_DAYS,
    "max_attempts": MAX_ATTEMPTS,
    "chunk_size": 8,
    "batch_size": 4,
    "chunk_deadline_seconds": 60,
}
DAILY_LIMIT = timedelta(days=365)  # Daily: a dial-in room's exp must be less than 365 days ahead
LOOK_AHEAD = timedelta(hours=24)
SIMULATED_DAYS = 400
LEAD = timedelta(hours=2)  # bookings start at least this far ahead of the simulated now
SQLITE_TS = "%Y-%m-%d %H:%M:%S"
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC")
ROOM_PATHS = ("/rooms", "/batch/rooms")
CHECKED = (
    "room exp sent",
    "series occurrences with a PIN",
    "invitation events",
    "invitation events across a DST change",
    "rooms deleted",
    "clean runs",
    "due meetings with a room",
)
SAFE_PENDING_DELETES = 3  # the gate never asks a person about 3 rooms or fewer (deletions.DELETION_FLOOR)

# -- Hypothesis profiles --------------------------------------------------------------------------
_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
# the fast stage: the same examples on every run, not shrunk (a failure prints its whole run: shrink
# it with the long profile, which explores anew and shrinks)
settings.register_profile(
    "simulated-year",
    max_examples=10,
    stateful_step_count=50,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    **_COMMON,
)
settings.register_profile("simulated-year-long", max_examples=40, stateful_step_count=120, **_COMMON)
PROFILE = "simulated-year-long" if os.environ.get("HYPOTHESIS_PROFILE") == "simulated-year-long" else "simulated-year"
# a quick look while working on it: SIMULATED_YEAR_EXAMPLES=1 SIMULATED_YEAR_STEPS=10
OVERRIDES = {
    name: int(os.environ[var])
    for name, var in (("max_examples", "SIMULATED_YEAR_EXAMPLES"), ("stateful_step_count", "SIMULATED_YEAR_STEPS"))
    if os.environ.get(var)
}


# -- the model: meetings as they were booked ------------------------------------------------------
@dataclass(kw_only=True)
class Booking:
    """One row as the user booked it: its instants (UTC) and the local time it was booked for."""

    meeting_id: str
    zone: str
    local_start: datetime  # naive wall time in ``zone``
    minutes: int
    series_id: str | None = None
    status: str = "scheduled"
    earlier: list[datetime] = field(default_factory=list)  # local starts before moves since the last clean run

    @property
    def starts_at(self) -> datetime:
        return self.local_start.replace(tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


def local_start(zone: str, day: date, at: time) -> datetime | None:
    """The naive local time ``day at`` in ``zone``, or None if the clocks skip it (a DST gap)."""
    aware = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    back = aware.astimezone(UTC).astimezone(ZoneInfo(zone))
    return aware.replace(tzinfo=None) if back.replace(tzinfo=None) == aware.replace(tzinfo=None) else None


def text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SQLITE_TS)


def parse_text(value: Any) -> datetime | None:
    """A stored time read back by the test (its own parser): None for anything not a real instant."""
    try:
        return datetime.strptime(str(value), SQLITE_TS).replace(tzinfo=UTC)
    except ValueError:
        return None


# -- the world: emulator process, table, spy on what the application sends ----------------------
@dataclass(kw_only=True)
class World:
    emulator: EmulatorProcess
    db: Path
    invites: Path
    sent: list[dict[str, Any]] = field(default_factory=list)  # requests to Daily, as sent
    seen: Counter[str] = field(default_factory=Counter)  # what the checks saw, over every example

    def reset(self) -> None:
        self.emulator.admin.reset()
        self.emulator.admin.configure(room_quota=10_000)
        self.sent.clear()
        self.db.unlink(missing_ok=True)
        with closing(sqlite3.connect(self.db)) as conn:
            conn.executescript(schema_sql("sqlite"))
        shutil.rmtree(self.invites, ignore_errors=True)
        self.invites.mkdir(parents=True)

    def execute(self, sql: str, *args: Any) -> None:
        with closing(sqlite3.connect(self.db)) as conn:
            conn.execute(sql, args)
            conn.commit()

    def rows(self) -> dict[str, dict[str, Any]]:
        with closing(sqlite3.connect(self.db)) as conn:
            conn.row_factory = sqlite3.Row
            return {r["meeting_id"]: dict(r) for r in conn.execute("SELECT * FROM daily_meetings")}

    def rooms(self) -> dict[str, dict[str, Any]]:
        """Every room Daily stores (live or expired), by name."""
        return {room["name"]: room for room in self.emulator.admin.snapshot()["rooms"]}


def _spy(world: World, original: Callable[..., Any]) -> Callable[..., Any]:
    """``requests.Session.request`` that records every call to the emulator's API, then sends it."""

    def request(session: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(world.emulator.base_url):
            world.sent.append({"method": method.upper(), "path": url[len(world.emulator.base_url) :], **kwargs})
        return original(session, method, url, *args, **kwargs)

    return request


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    workdir = Path(tempfile.mkdtemp(prefix="simulated-year-"))
    with EmulatorProcess(workdir=workdir) as emulator, pytest.MonkeyPatch.context() as mp:
        # 3 tries per call (3 scripted faults in a row are an outage); 30 s per call: a loaded machine
        # must not turn a clean run into an outage
        built = World(emulator=emulator, db=workdir / "meetings.db", invites=workdir / "invites")
        mp.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, max_attempts=3, timeout=30))
        mp.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(built.db)}))
        mp.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps(CONFIG))
        mp.setattr(requests.Session, "request", _spy(built, requests.Session.request))
        yield built
    shutil.rmtree(workdir, ignore_errors=True)


# -- the state machine ----------------------------------------------------------------------------
picks = st.integers(0, 10**6)
clock_times = st.sampled_from([time(0, 0), time(9, 0), time(14, 30), time(23, 30)])


class SimulatedYear(RuleBasedStateMachine):
    """One example: a fresh table and emulator, a start instant, then the drawn steps."""

    world: ClassVar[World]
    base: ClassVar[datetime]

    def __init__(self) -> None:
        super().__init__()
        self.world.reset()
        self.model: dict[str, Booking] = {}
        self.seen = self.world.seen
        self.bad_rows: set[str] = set()  # rows with an impossible time (a user's typo)
        self.dirty: set[str] = set()  # changed since the last clean safety run
        self.last_clean: datetime | None = None
        self.settled = False  # nothing happened since the last clean run (no edit, no other run)
        self.serial = 0
        self.start: datetime = self.base
        self.now: datetime = self.base
        self.traveller: Any = None
        self.coordinates: Any = None
        self.checked_sent = 0

    # -- the clocks ------------------------------------------------------------------------------
    @initialize(shift_hours=st.integers(0, 366 * 24), opening=st.just(True))
    def begin(self, shift_hours: int, opening: bool) -> None:
        """Start the year at the real now (floored to the hour) plus a drawn shift: any season;
        ``opening``: with a weekly series in New York for more than a year (both DST changes, and
        beyond Daily's reach) and three one-off meetings within the horizon."""
        self.start = self.base + timedelta(hours=shift_hours, minutes=7)
        self.traveller = time_machine.travel(self.start, tick=False)
        self.coordinates = self.traveller.start()
        self._set_now(self.start)
        if opening:
            self.book_series(count=60, every=7, first=shift_hours % 7, at=time(9, 0), zone="America/New_York")
            for days, zone in ((1, "Europe/Berlin"), (5, "UTC"), (20, "Australia/Sydney")):
                self.book_meeting(days=days, at=time(14, 30), zone=zone, minutes=60)
        with contextlib.suppress(InvalidArgument):  # a regression test replays steps outside Hypothesis
            note(f"simulated start: {self.start.isoformat()}")

    def _set_now(self, moment: datetime) -> None:
        """Move both clocks: this process's (time-machine) and the emulator's (its admin API)."""
        self.now = moment
        self.coordinates.move_to(moment, tick=False)
        self.world.emulator.set_clock(moment.timestamp())

    def teardown(self) -> None:
        try:
            if self.traveller is not None:
                while self.now - self.start < timedelta(days=SIMULATED_DAYS):
                    self.advance(days=HORIZON_DAYS)
                    self._check_all()
        finally:
            if self.traveller is not None:
                self.traveller.stop()
            self.world.emulator.admin.clear_faults()

    # -- bookings --------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def _local_day(self, zone: str, days: int) -> date:
        return self.now.astimezone(ZoneInfo(zone)).date() + timedelta(days=days)

    def _insert(self, booking: Booking) -> None:
        self.world.execute(
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, series_id, status)"
            " VALUES (?, ?, ?, ?, ?, ?, 'scheduled')",
            booking.meeting_id,
            f"Call {booking.meeting_id}",
            text(booking.starts_at),
            text(booking.ends_at),
            booking.zone,
            booking.series_id,
        )
        self.model[booking.meeting_id] = booking
        self.dirty.add(booking.meeting_id)
        self.settled = False

    @rule(
        days=st.sampled_from([0, 1, 2, 6, 13, 29, 31, 45, 120, 300, 364, 366, 380, 400]),
        at=clock_times,
        zone=st.sampled_from(ZONES),
        minutes=st.sampled_from([30, 60, 90]),
    )
    def book_meeting(self, days: int, at: time, zone: str, minutes: int) -> None:
        for extra in range(3):
            start = local_start(zone, self._local_day(zone, days + extra), at)
            booking = start and Booking(meeting_id=self._new_id("M"), zone=zone, local_start=start, minutes=minutes)
            if booking and booking.starts_at >= self.now + LEAD:
                self._insert(booking)
                return

    @rule(
        count=st.sampled_from([3, 12, 60]),
        every=st.sampled_from([7, 14]),
        first=st.integers(0, 20),
        at=clock_times,
        zone=st.sampled_from(ZONES),
    )
    def book_series(self, count: int, every: int, first: int, at: time, zone: str) -> None:
        """A weekly or fortnightly series at one local time; 60 occurrences reach 420+ days ahead."""
        if len({b.series_id for b in self.model.values() if b.series_id}) >= 2:
            return  # two series at a time keep a run cheap
        series_id = self._new_id("S")
        for n in range(count):
            start = local_start(zone, self._local_day(zone, first + 1 + n * every), at)
            if start is None:
                continue  # that day's local time does not exist: no occurrence
            booking = Booking(meeting_id=f"{series_id}-{n}", zone=zone, local_start=start, minutes=60)
            booking.series_id = series_id
            if booking.starts_at >= self.now + LEAD:
                self._insert(booking)

    @rule(year_back=st.booleans(), month13=st.booleans(), real_end=st.booleans())
    def book_impossible_time(self, year_back: bool, month13: bool, real_end: bool) -> None:
        """A row whose start is no real instant (Feb 30, month 13; its end real or not): reported
        with its bad value, never taken for a meeting that started without a room."""
        year = self.now.year - (1 if year_back else 0)
        start = f"{year}-13-05 10:00:00" if month13 else f"{year}-02-30 10:00:00"
        end = text(self.now + timedelta(days=2)) if real_end else start.replace("10:00", "11:00")
        meeting_id = self._new_id("BAD")
        self.world.execute(
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, status)"
            " VALUES (?, 'Typo', ?, ?, 'UTC', 'scheduled')",
            meeting_id,
            start,
            end,
        )
        self.bad_rows.add(meeting_id)

    # -- edits -----------------------------------------------------------------------------------
    def _pick(self, pick: int, keep: Callable[[Booking], bool]) -> Booking | None:
        found = sorted((b for b in self.model.values() if keep(b)), key=lambda b: (b.starts_at, b.meeting_id))
        return found[pick % len(found)] if found else None

    def _write_times(self, booking: Booking) -> None:
        self.world.execute(
            "UPDATE daily_meetings SET starts_at = ?, ends_at = ? WHERE meeting_id = ?",
            text(booking.starts_at),
            text(booking.ends_at),
            booking.meeting_id,
        )
        self.dirty.add(booking.meeting_id)
        self.settled = False

    @rule(pick=picks, by=st.sampled_from(["+1h", "-1h", "+1d", "+7d", "+40d", "+250d"]))
    def move(self, pick: int, by: str) -> None:
        """Move a scheduled meeting (local wall-clock arithmetic: a week later is the same local time)."""
        booking = self._pick(pick, lambda b: b.status == "scheduled" and b.starts_at >= self.now + LEAD)
        if booking is None or (booking.series_id and by in ("+7d", "+40d", "+250d")):
            return  # occurrences move a little (a week later would be the next one's start)
        delta = {"+1h": timedelta(hours=1), "-1h": timedelta(hours=-1), "+1d": timedelta(days=1)}
        delta |= {"+7d": timedelta(days=7), "+40d": timedelta(days=40), "+250d": timedelta(days=250)}
        moved = local_start(
            booking.zone, (booking.local_start + delta[by]).date(), (booking.local_start + delta[by]).time()
        )
        if moved is None:
            return
        old = booking.local_start
        booking.local_start = moved
        if booking.starts_at < self.now + LEAD or booking.starts_at - self.now > timedelta(days=300):
            booking.local_start = old
            return
        booking.earlier.append(old)
        self._write_times(booking)

    def _pending_cancelled_rooms(self) -> int:
        return len({r["room_name"] for r in self.world.rows().values() if holds_cancelled_room(r)})

    @rule(pick=picks, with_room=st.booleans())
    def cancel(self, pick: int, with_room: bool) -> None:
        """Cancel a meeting (``with_room``: a one-off meeting that has its room); at most 3 rooms
        wait for deletion (under the gate's floor: no approval needed)."""
        rows = self.world.rows()
        booking = self._pick(
            pick,
            lambda b: (
                b.status == "scheduled"
                and (not with_room or (not b.series_id and bool(rows[b.meeting_id]["dialin_pin"])))
            ),
        )
        if booking is None or self._pending_cancelled_rooms() >= SAFE_PENDING_DELETES:
            return
        booking.status = "cancelled"
        self.world.execute("UPDATE daily_meetings SET status = 'cancelled' WHERE meeting_id = ?", booking.meeting_id)
        self.dirty.add(booking.meeting_id)
        self.settled = False

    @rule(pick=picks)
    def reinstate(self, pick: int) -> None:
        booking = self._pick(pick, lambda b: b.status == "cancelled" and b.starts_at >= self.now + LEAD)
        if booking is None:
            return
        booking.status = "scheduled"
        self.world.execute("UPDATE daily_meetings SET status = 'scheduled' WHERE meeting_id = ?", booking.meeting_id)
        self.dirty.add(booking.meeting_id)
        self.settled = False

    @rule(pick=picks, bad=st.booleans())
    def delete_row(self, pick: int, bad: bool) -> None:
        """The user deletes a row (its room, if any, becomes an orphan) - or a row with a typo."""
        if bad and self.bad_rows:
            meeting_id = sorted(self.bad_rows)[pick % len(self.bad_rows)]
            self.bad_rows.discard(meeting_id)
        else:
            booking = self._pick(pick, lambda b: True)
            if booking is None:
                return
            meeting_id = booking.meeting_id
            del self.model[meeting_id]
        self.world.execute("DELETE FROM daily_meetings WHERE meeting_id = ?", meeting_id)
        self.dirty.discard(meeting_id)
        self.settled = False

    # -- runs ------------------------------------------------------------------------------------
    def _run(self, **params: Any) -> dict[str, Any]:
        self._set_now(self.now)  # the emulator's clock ticked on by the seconds this step took
        self.settled = False  # a clean run settles it again
        before = self._snapshot()
        try:
            return run_engine(params=params or None, now=self.now)
        finally:
            self._check_deletions(before)

    @rule()
    def safety_run(self) -> None:
        self._clean_run()

    def _clean_run(self) -> None:
        result = self._run()
        assert result["errors"] == [], f"a clean run raised: {result['errors']!r}"
        expected = "success" if not self.bad_rows else "failed"
        assert result["verdict"].startswith("success") == (expected == "success"), (
            f"verdict {result['verdict']!r}, expected {expected} (impossible times: {sorted(self.bad_rows)})"
        )
        self.last_clean = self.now
        self.seen["clean runs"] += 1
        self.settled = True
        self.dirty.clear()
        for booking in self.model.values():
            booking.earlier.clear()
        self._check_bad_rows_reported()

    @rule(pick=picks)
    def ask_by_id(self, pick: int) -> None:
        """A manual run for one meeting without a room, by id - often one too far ahead for Daily."""
        rows = self.world.rows()
        booking = self._pick(pick, lambda b: b.status == "scheduled" and not rows[b.meeting_id]["room_name"])
        if booking is not None:
            self._run(meeting_ids=[booking.meeting_id])

    @rule(minutes=st.sampled_from([-10, 30, 90, 24 * 60]), zone=st.sampled_from(ZONES))
    def book_during_run(self, minutes: int, zone: str) -> None:
        """A meeting booked while a safety run is under way (after its plan; ``minutes`` < 0: already
        in progress): that run must not alert on it, nor call it missed - the next run provisions it."""
        start = (self.now + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        booking = Booking(meeting_id=self._new_id("LATE"), zone=zone, local_start=start, minutes=60)
        self._set_now(self.now)
        before = self._snapshot()
        result = run_split(now=self.now, between=lambda: self._insert(booking))
        self._check_deletions(before)
        assert result["errors"] == [], f"the run raised: {result['errors']!r}"
        if not self.bad_rows:
            assert result["verdict"] == "success", f"{booking.meeting_id} booked after the plan: {result['verdict']}"
        error = self.world.rows()[booking.meeting_id]["last_error"] or ""
        assert not error.startswith("missed"), f"{booking.meeting_id} booked during the run: {error!r}"

    @rule(
        kind=st.sampled_from(["500", "502", "503", "reset", "lost_create"]),
        path=st.sampled_from(["/batch/rooms", "/rooms", None]),
        times=st.integers(1, 8),
    )
    def outage(self, kind: str, path: str | None, times: int) -> None:
        """Daily fails ``times`` calls in a row (3 tries each: 3+ is an outage that ends a task)."""
        fault = {"kind": kind, **({"path": path} if path else {})}
        self.world.emulator.admin.script_faults([fault] * times)
        try:
            result = self._run()
        except RetireInterrupted as exc:  # the deletion task failed (run_engine lets it through)
            result = {"errors": [exc.cause]}
        finally:
            self.world.emulator.admin.clear_faults()
        for error in result["errors"]:
            assert isinstance(error, DailyError), f"a task failed with {type(error).__name__}: {error}"

    @rule(days=st.sampled_from([1, 3, 7, 14, 30]))
    def advance(self, days: int) -> None:
        """Time passes: a safety run, then ``days`` later (never more than the horizon)."""
        self._clean_run()
        self._set_now(self.now + timedelta(days=days))

    @rule(days=st.sampled_from([1, 7, 30]))
    def advance_more(self, days: int) -> None:
        self.advance(days=days)

    # -- the watcher -----------------------------------------------------------------------------
    @rule()
    def watcher_poll(self) -> None:
        """``pending_work`` against the rows, counted with the test's own datetimes."""
        from daily_dialin.provisioning.config import ProvisioningConfig

        table = MeetingsTable.from_config(ProvisioningConfig.load())
        work = pending_work(table, now=self.now, horizon_days=HORIZON_DAYS, look_ahead=LOOK_AHEAD)
        rows = self.world.rows()
        new = [mid for mid, r in rows.items() if self._is_new_work(mid, r)]
        cancelled = [mid for mid, r in rows.items() if holds_cancelled_room(r)]
        unprovisioned = {
            mid: (r["starts_at"], r["attempts"], r["last_error"], r["room_fingerprint"])
            for mid, r in rows.items()
            if r["provisioned_at"] is None and r["status"] == "scheduled"
        }
        # a row with an impossible time not reported yet may count as work (a run reports it), or not
        unreported = [mid for mid in self.bad_rows if rows[mid]["last_error"] is None]
        assert len(new) <= work.new <= len(new) + len(unreported) and work.cancelled == len(cancelled), (
            f"poll at {self.now}: {work}; new {new}, cancelled {cancelled}; rows without a room {unprovisioned}"
        )
        moved = [mid for mid, r in rows.items() if self._moved_since_provisioned(r)]
        assert work.changed >= len(moved), f"poll at {self.now}: {work}; moved provisioned meetings {moved}"

    def _is_new_work(self, meeting_id: str, row: dict[str, Any]) -> bool:
        booking = self.model.get(meeting_id)
        if booking is None or booking.status != "scheduled" or row["provisioned_at"] is not None:
            return False
        if row["attempts"] >= MAX_ATTEMPTS or row["room_fingerprint"] is not None:
            return False  # given up, or a reported problem of an unchanged row
        return booking.starts_at < self.now + timedelta(days=HORIZON_DAYS) and booking.ends_at > self.now

    def _moved_since_provisioned(self, row: dict[str, Any]) -> bool:
        """A provisioned one-off meeting starting within the look-ahead whose room was made for
        another end (its room_exp is its end plus the grace when made)."""
        booking = self.model.get(row["meeting_id"])
        if booking is None or booking.series_id or booking.status != "scheduled" or row["provisioned_at"] is None:
            return False
        if not (booking.starts_at < self.now + LOOK_AHEAD and booking.ends_at > self.now):
            return False
        return row["room_exp"] != int(booking.ends_at.timestamp()) + GRACE_SECONDS

    # -- invitations -----------------------------------------------------------------------------
    @rule()
    def send_invitations(self) -> None:
        """An invitations run over the whole table; every file read back and expanded."""
        write_invitations(self.world.invites, now=self.now)
        shown = check_invitations(
            self.world.invites, self.model, self.world.rows(), now=self.now, complete=self.settled
        )
        self.seen["invitation events"] += shown
        self.seen["invitation events across a DST change"] += dst_crossings(self.model, self.now)

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def after_every_step(self) -> None:
        if self.traveller is not None:
            self._check_all()

    def _check_all(self) -> None:
        rows, rooms = self.world.rows(), self.world.rooms()
        self._check_sent_exp()
        check_rooms_exp(rooms, now=self.now)
        self._check_provisioned(rows)
        self.seen["series occurrences with a PIN"] += check_series_rooms(self.model, rows, rooms, self.dirty)

    def _check_sent_exp(self) -> None:
        """No room created or updated with exp 365 days or more ahead of the simulated now."""
        for call in self.world.sent[self.checked_sent :]:
            for exp in sent_exps(call):
                self.seen["room exp sent"] += 1
                assert exp - self.now.timestamp() < DAILY_LIMIT.total_seconds(), (
                    f"{call['method']} {call['path']} sent exp {datetime.fromtimestamp(exp, UTC)} at {self.now}"
                )
        self.checked_sent = len(self.world.sent)

    def _check_provisioned(self, rows: dict[str, dict[str, Any]]) -> None:
        """After a clean run: every scheduled meeting it saw within the horizon has a room."""
        if self.last_clean is None:
            return
        reach = self.last_clean + timedelta(days=HORIZON_DAYS)
        missing = {}
        for meeting_id, booking in self.model.items():
            if meeting_id in self.dirty or booking.status != "scheduled":
                continue
            if not (booking.starts_at < reach and booking.ends_at > self.last_clean):
                continue
            row = rows[meeting_id]
            if not (row["room_name"] and row["dialin_pin"]):
                missing[meeting_id] = (text(booking.starts_at), row["attempts"], row["last_error"])
            self.seen["due meetings with a room"] += 1
        assert missing == {}, f"due meetings without a room after the run at {self.last_clean}: {missing}"

    def _check_bad_rows_reported(self) -> None:
        rows = self.world.rows()
        for meeting_id in self.bad_rows:
            error = rows[meeting_id]["last_error"] or ""
            assert error and not error.startswith("missed"), f"{meeting_id} {rows[meeting_id]['starts_at']}: {error!r}"

    def _snapshot(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        return self.world.rows(), self.world.rooms()

    def _check_deletions(self, before: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]) -> None:
        """Rooms live before and gone after were deleted: only for cancelled meetings or orphans."""
        rows, rooms = before
        after = {room["id"] for room in self.world.rooms().values()}
        now = self.now.timestamp()
        for name, room in rooms.items():
            if room["id"] in after or (room["config"].get("exp") or 0) <= now:
                continue  # still there, or expired (Daily forgets it when the name is used again)
            self.seen["rooms deleted"] += 1
            named_by = [r for r in rows.values() if r["room_name"] == name]
            assert all(r["status"] == "cancelled" for r in named_by), (
                f"room {name} deleted, named by {[(r['meeting_id'], r['status']) for r in named_by]}"
            )


def holds_cancelled_room(row: dict[str, Any]) -> bool:
    """A cancelled row that still holds its room's PIN (one that let go of it keeps only the name)."""
    return row["status"] == "cancelled" and bool(row["room_name"]) and bool(row["dialin_pin"] or row["provisioned_at"])


def run_split(*, now: datetime, between: Callable[[], None]) -> dict[str, Any]:
    """One run as :func:`tests.support.engine.run_engine` makes it, with ``between()`` called after
    its plan and before its chunks (a booking that lands while the run is under way)."""
    from daily_dialin.provisioning import steps

    planned = steps.plan(params={"mode": "auto"}, run_type="manual", logical_date=None, now=now)
    between()
    run, results, errors = planned["run"], [], []
    for index, bounds in enumerate(planned["bounds"]):
        try:
            results.append(steps.provision_chunk(index=index, bounds=bounds, run=run, now=now))
        except steps.ChunkInterrupted as exc:
            errors.append(exc.cause)
            results.append(exc.result.to_xcom())
    summary = steps.summarize(run=run, chunk_results=results, retired=steps.retire_cancelled(run=run), now=now)
    try:
        steps.verify(summary)
        verdict = "success"
    except Exception as exc:
        verdict = str(exc)
    return {**summary, "errors": errors, "verdict": verdict}


def sent_exps(call: dict[str, Any]) -> list[int]:
    """The ``exp`` of every room a request creates or updates."""
    if call["method"] != "POST" or not call["path"].startswith(ROOM_PATHS):
        return []
    body = call.get("json") or {}
    specs = body.get("rooms") if call["path"] == "/batch/rooms" else [body]
    return [s["properties"]["exp"] for s in specs or [] if (s.get("properties") or {}).get("exp") is not None]


def check_rooms_exp(rooms: dict[str, dict[str, Any]], *, now: datetime) -> None:
    """Every room Daily holds expires less than 365 days after now (the simulated now only grows,
    so a room made earlier with a lawful exp stays lawful)."""
    for name, room in rooms.items():
        exp = room["config"].get("exp")
        assert exp is None or exp - now.timestamp() < DAILY_LIMIT.total_seconds(), f"room {name}: exp {exp}"


def check_series_rooms(
    model: dict[str, Booking], rows: dict[str, dict[str, Any]], rooms: dict[str, dict[str, Any]], dirty: set[str]
) -> int:
    """A series room never expires before an occurrence that has its PIN (as the row says now; an
    occurrence moved or booked since the last clean run waits for a run to extend the room);
    returns how many occurrences were checked."""
    checked = 0
    for meeting_id, row in rows.items():
        booking = model.get(meeting_id)
        if booking is None or not booking.series_id or not row["dialin_pin"] or meeting_id in dirty:
            continue
        end = parse_text(row["ends_at"])
        room = rooms.get(row["room_name"])
        assert room is not None, f"{meeting_id} has the PIN of room {row['room_name']}, which Daily does not hold"
        exp = room["config"].get("exp") or 0
        assert end is not None and exp >= end.timestamp(), (
            f"{meeting_id} ({row['starts_at']} - {row['ends_at']}) has its PIN; room {row['room_name']} expires "
            f"{datetime.fromtimestamp(exp, UTC)}"
        )
        checked += 1
    return checked


# -- invitations: written by the application, read back by the test ------------------------------
def write_invitations(base: Path, *, now: datetime) -> None:
    """One invitations run (decide, then write every file and the manifest), without a DAG run."""
    from airflow.sdk import ObjectStoragePath

    from daily_dialin.invitations.run import _apply_all, _decide, _Writer
    from daily_dialin.invitations.settings import InvitationSettings
    from daily_dialin.invitations.store import InviteStore
    from daily_dialin.provisioning.config import ProvisioningConfig

    config = ProvisioningConfig.load()
    invite_settings = InvitationSettings(host_links=False)
    store = InviteStore(base=ObjectStoragePath(f"file://{base}"))
    manifest = store.read_manifest()
    decisions = _decide(
        settings=invite_settings,
        config=config,
        store=store,
        manifest=manifest,
        meeting_ids=None,
        force=False,
        now=now,
    )
    _apply_all(_Writer(settings=invite_settings, config=config, store=store), decisions, manifest, [])
    store.write_manifest(manifest)


def check_invitations(
    base: Path, model: dict[str, Booking], rows: dict[str, dict[str, Any]], *, now: datetime, complete: bool
) -> int:
    """Every event not yet over that the attendee files hold is a booked occurrence, in its zone, at
    its local time, at its row's instants (a meeting moved since the last clean run may still show
    where it was: its room is updated first); with ``complete`` (nothing happened since a clean
    run), every provisioned upcoming occurrence is shown."""
    by_room: dict[str, dict[tuple[datetime, datetime], tuple[Booking, datetime]]] = {}
    for booking in model.values():
        room = rows[booking.meeting_id]["room_name"]
        for local in (*booking.earlier, booking.local_start):
            start = local.replace(tzinfo=ZoneInfo(booking.zone)).astimezone(UTC)
            instants = (start, start + timedelta(minutes=booking.minutes))
            by_room.setdefault(str(room), {})[instants] = (booking, local)
    shown: set[str] = set()
    for path in sorted((base / "attendees").glob("*.ics")):
        calendar = Calendar.from_ical(path.read_bytes())
        if str(calendar.get("METHOD")) == "CANCEL":
            continue
        for event in recurring_ical_events.of(calendar).between(now, now + timedelta(days=800)):
            start, end = event["DTSTART"].dt, event["DTEND"].dt
            if end <= now:
                continue  # over: a file of a meeting deleted after it ended is left as it was
            found = by_room.get(path.stem, {}).get((start.astimezone(UTC), end.astimezone(UTC)))
            assert found is not None, f"{path.name}: an event at {start} - {end} that no row of that room has"
            booking, local = found
            assert str(start.tzinfo) == booking.zone, f"{path.name}: {start} not in {booking.zone}"
            assert start.replace(tzinfo=None) == local, (
                f"{path.name}: {booking.meeting_id} shown at {start}, booked for {local} {booking.zone}"
            )
            shown.add(booking.meeting_id)
    for meeting_id, booking in model.items():
        row = rows[meeting_id]
        upcoming = booking.starts_at > now + timedelta(hours=1)
        if complete and booking.status == "scheduled" and row["dialin_pin"] and upcoming and meeting_id not in shown:
            raise AssertionError(f"{meeting_id} ({text(booking.starts_at)}) has a room but no invitation shows it")
    return len(shown)


def dst_crossings(model: dict[str, Booking], now: datetime) -> int:
    """Upcoming occurrences whose UTC offset differs from their series' first one (a DST change
    lies between them)."""
    first: dict[str, timedelta | None] = {}
    crossing = 0
    for booking in sorted(model.values(), key=lambda b: b.starts_at):
        if not booking.series_id or booking.starts_at <= now:
            continue
        offset = booking.local_start.replace(tzinfo=ZoneInfo(booking.zone)).utcoffset()
        crossing += first.setdefault(booking.series_id, offset) != offset
    return crossing


# -- the test -------------------------------------------------------------------------------------
@pytest.mark.timeout(0 if PROFILE == "simulated-year-long" or OVERRIDES else 300)
def test_a_simulated_year_keeps_the_guarantees(world: World) -> None:
    SimulatedYear.world = world
    SimulatedYear.base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    world.seen.clear()
    run_state_machine_as_test(SimulatedYear, settings=settings(settings.get_profile(PROFILE), **OVERRIDES))
    print(f"simulated year, what the checks saw: {dict(world.seen)}")
    never = [what for what in CHECKED if not world.seen[what]]
    assert never == [], f"checks that never saw anything (the examples are too tame): {never}"


# -- found by the machine: its shrunk runs, replayed step by step ----------------------------------
def replay(world: World, steps: list[tuple[str, dict[str, Any]]], *, shift_hours: int = 0) -> None:
    """Run ``steps`` (rule name, arguments) on a fresh machine, the invariants after each, then the
    rest of the year (``teardown``)."""
    SimulatedYear.world = world
    SimulatedYear.base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    machine = SimulatedYear()
    try:
        machine.begin(shift_hours=shift_hours, opening=False)
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            machine.after_every_step()
    finally:
        machine.teardown()


def test_a_meeting_too_far_ahead_asked_for_by_id_waits_and_gets_its_room(world: World) -> None:
    """Runs by id for a meeting 400 days ahead: Daily cannot hold its room yet; that is waiting,
    not failing - when it comes within the horizon, the safety run provisions it."""
    far = {"days": 400, "at": time(9, 0), "zone": "UTC", "minutes": 60}
    replay(world, [("book_meeting", far), *[("ask_by_id", {"pick": 0})] * (MAX_ATTEMPTS + 1)])


@pytest.mark.parametrize("minutes", [-10, 30])
def test_a_meeting_booked_during_a_run_is_no_alert_and_no_miss(world: World, minutes: int) -> None:
    """Booked after the run's plan (starting in 30 minutes, or in progress for 10): the run does not
    alert on it nor mark it missed; the next run gives it its room."""
    replay(world, [("book_during_run", {"minutes": minutes, "zone": "UTC"}), ("safety_run", {})])


@pytest.mark.parametrize("real_end", [True, False])
@pytest.mark.parametrize(("year_back", "month13"), [(True, True), (False, False)])
def test_an_impossible_time_is_reported_as_such(world: World, year_back: bool, month13: bool, real_end: bool) -> None:
    """``<last year>-13-05`` and ``<this year>-02-30``: the run reports the bad value (every run
    fails while the row is there), never "missed: the meeting started without a room"."""
    bad = {"year_back": year_back, "month13": month13, "real_end": real_end}
    replay(world, [("book_impossible_time", bad), ("safety_run", {})])
