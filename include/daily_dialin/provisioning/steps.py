"""The steps of a provisioning run, as plain functions the DAG's tasks call, top to bottom.

``plan``            resolve the run's window, select the due meetings, report the rows no run can
                    select (bad ids, unreadable times, unknown statuses), the unknown requested
                    ids and the meetings given up on; cut the due ids into chunks. What goes to
                    XCom is O(1) per chunk: the run's settings once, a list of chunk numbers, and
                    each chunk's id range under its own key (``chunk_key``).
``provision_chunk`` per chunk: rows -> one :class:`Item` per meeting (row, spec, outcome) ->
                    batch create/reuse -> write every outcome back in one transaction. Only
                    counts, ids and reasons go to XCom: PINs stay in the table.
``retire_cancelled`` delete the rooms of meetings cancelled after provisioning (paced to Daily's
                    DELETE limit) and clear their PINs.
``summarize``       add everything up - also when ``plan`` or chunk tasks failed - and log it.
``verify``          fail the run if any meeting is left without a room, after all was written.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_daily.errors import DailyError, DailyInvalidRequestError, DailyValidationError
from airflow_provider_daily.models import RoomCreate, dial_string
from daily_dialin.errors import BadMeetingRow, ProvisioningFailed
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import Meeting, id_text, room_fingerprint, room_name_for
from daily_dialin.provisioning.table import Failure, MeetingsTable, Provisioned
from daily_dialin.provisioning.window import Selection, resolve_window
from daily_dialin.reporting import format_table

log = logging.getLogger(__name__)

OUTCOMES = ("created", "reused", "updated", "skipped", "failed")
LISTED = 50  # ids (and reasons) a result carries at most: XCom stays small whatever the run's size


def _utcnow() -> datetime:
    return datetime.now(UTC)


def chunk_key(index: int) -> str:
    """The XCom key under which ``plan`` leaves chunk ``index``'s id range."""
    return f"chunk_{index}"


# -- plan ---------------------------------------------------------------------------------------
def plan(
    *,
    params: dict[str, Any],
    run_type: str | None,
    logical_date: datetime | None,
    config_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Select the run's due meetings. Returns ``run`` (settings and report, for every later
    task), ``chunks`` (chunk numbers, what the mapped task expands over) and ``bounds`` (each
    chunk's first and last id, published one key per chunk by :func:`publish_plan`)."""
    now = now or _utcnow()
    config = ProvisioningConfig.load(config_overrides)
    window = resolve_window(
        params=params,
        run_type=run_type,
        logical_date=logical_date,
        now=now,
        horizon_days=config.horizon_days,
        lead_days=config.lead_days,
    )
    table = MeetingsTable.from_config(config)
    table.check_columns()
    selection = window.selection
    ids = table.select_due_ids(selection)
    unknown = sorted(set(selection.meeting_ids) - table.existing_ids(selection.meeting_ids))
    problems = table.problem_rows(now)
    due = set(ids)  # a forced run retries given-up meetings itself
    given_up = [mid for mid in table.given_up(selection) if mid not in due]
    given_up_count, given_up_ids = len(given_up), given_up[:LISTED]
    log.info("Window: %s -> %d meeting(s) due", window.describe(), len(ids))
    if unknown:
        log.warning("%d requested meeting id(s) are not in the table: %s", len(unknown), unknown[:LISTED])
    for problem in problems[:LISTED]:
        log.warning("Row %s cannot be provisioned: %s", _shown(problem["meeting_id"]), problem["reason"])
    if given_up_count:
        log.warning(
            "%d meeting(s) given up after %d failures (fix the row and reset attempts, or run with force): %s",
            given_up_count,
            config.max_attempts,
            given_up_ids,
        )
    if window.dry_run:
        log.info("Dry run: nothing is created or written.\n%s", _dry_run_report(table, ids, selection, config, now))
        bounds: list[list[str]] = []
    else:
        # rows no run can select get their reason now (not an attempt: the row must change first)
        table.write_failures([Failure(meeting_id=p["meeting_id"], reason=p["reason"], counts=False) for p in problems])
        bounds = [[part[0], part[-1]] for part in _cut(ids, config.chunk_size)]
    run = {
        "config": config.model_dump(mode="json"),
        "selection": selection.to_json(),
        "mode": window.mode,
        "window": window.describe(),
        "dry_run": window.dry_run,
        "selected": len(ids),
        "chunk_count": len(bounds),
        "unknown_ids": unknown[:LISTED],
        "unknown_count": len(unknown),
        "problems": [{"meeting_id": _shown(p["meeting_id"]), "reason": p["reason"]} for p in problems[:LISTED]],
        "problem_count": len(problems),
        "unreadable_count": sum(1 for p in problems if p["problem"] != "status"),
        "given_up_ids": given_up_ids,
        "given_up_count": given_up_count,
    }
    return {"run": run, "bounds": bounds}


def _shown(meeting_id: Any) -> str | None:
    """An id as XCom can carry it: text as it is, anything else (a BLOB, a number) as its repr."""
    return meeting_id if meeting_id is None or isinstance(meeting_id, str) else repr(meeting_id)


def publish_plan(result: dict[str, Any], push: Callable[[str, Any], None]) -> dict[str, Any]:
    """Push each chunk's bounds under :func:`chunk_key` and return what the plan task returns.

    A chunk reads only its own key: resolving a mapped argument pulls the whole upstream list and
    renders every string in it, so the mapped list holds only ints and the per-chunk hand-over
    stays O(1) however many meetings a run has."""
    for index, bounds in enumerate(result["bounds"]):
        push(chunk_key(index), bounds)
    return result["run"]


def chunk_numbers(run: dict[str, Any]) -> list[int]:
    """What the mapped chunk task expands over: ints only (nothing for Jinja to render)."""
    return list(range(run["chunk_count"]))


def _cut(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _dry_run_report(
    table: MeetingsTable, ids: Sequence[str], selection: Selection, config: ProvisioningConfig, now: datetime
) -> str:
    rows = table.fetch(ids[:1000])
    lines: list[tuple[Any, ...]] = [("meeting", "starts (UTC)", "room", "would", "title / problem")]
    for meeting_id in ids[:1000]:
        row = rows.get(meeting_id, {"meeting_id": meeting_id})
        would = "update" if row.get("provisioned_at") else "create"
        try:
            meeting = Meeting.from_row(row)
            spec = meeting.room_spec(config, now=now.timestamp())
            lines.append((meeting_id, f"{meeting.starts_at:%Y-%m-%d %H:%M}", spec.name, would, meeting.title))
        except BadMeetingRow as exc:
            lines.append((meeting_id, "-", "-", "fail", exc.reason))
    text = format_table(lines)
    if len(ids) > 1000:
        text += f"\n... and {len(ids) - 1000} more"
    done = table.provisioned_in(selection)
    due = set(ids)
    already = [r for r in done if r["meeting_id"] not in due]
    if already:
        listed = [("meeting", "starts (UTC)", "room", "provisioned at")]
        listed += [(r["meeting_id"], r["starts_at"], r["room_name"], r["provisioned_at"]) for r in already[:1000]]
        text += f"\nAlready provisioned in this window ({len(already)}), nothing to do:\n{format_table(listed)}"
    return text


# -- one chunk ----------------------------------------------------------------------------------
@dataclass
class Item:
    """One meeting's way through a chunk: its row, the room it needs, and what became of it."""

    meeting_id: str
    row: dict[str, Any]
    spec: RoomCreate | None = None
    provisioned: Provisioned | None = None
    outcome: str | None = None
    failure: Failure | None = None
    pin_changed: bool = False

    def fail(self, reason: str, *, counts: bool) -> None:
        self.failure = Failure(meeting_id=self.meeting_id, reason=reason, counts=counts)


def provision_chunk(
    *,
    index: int,
    bounds: Sequence[str],
    run: dict[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Provision one chunk and write every outcome back in one transaction.

    Idempotency: the room name is the key (injective in the meeting id), so whatever happened
    before - a lost response, a killed task, an overlapping run - a repeat finds the room by its
    name and reuses it with its PIN. An error that ends the chunk early (an outage outlasting the
    chunk's deadline, a refused key) still writes back every room made and the reason on the
    rest, without counting it as an attempt of theirs, then raises: the result so far is
    attached to the error (``exc.chunk_result``) for the DAG to hand to ``summarize``.
    """
    now = now or _utcnow()
    config = ProvisioningConfig(**run["config"])
    selection = Selection.from_json(run["selection"])
    table = MeetingsTable.from_config(config)
    items = [Item(meeting_id=row["meeting_id"], row=row) for row in table.fetch_range(selection, *bounds)]

    _fail_shared_names(items, config)
    specs = _specs(items, config, now)
    error: BaseException | None = None
    calls: dict[str, int] = {}
    first = next(specs, None)
    if first is not None:
        from airflow_provider_daily.bulk import BulkRoomCreator
        from airflow_provider_daily.hooks.daily import DailyHook

        hook = DailyHook(
            daily_conn_id=config.daily_conn_id,
            rate_limit_share=config.rate_limit_share,
            deadline_seconds=config.chunk_deadline_seconds,
        )
        creator = BulkRoomCreator(
            hook=hook, batch_size=config.batch_size, concurrency=config.batch_concurrency, per_room=config.per_room
        )
        outcomes: dict = {}
        try:
            # specs are built as the creator asks for them: building batch k+1 overlaps batch k's call
            creator.ensure_rooms(itertools.chain([first], specs), outcomes)
        except Exception as exc:  # an outage past the deadline, a refused key, any surprise: keep what was done
            error = exc
            log.error("Chunk %d interrupted after %d room request(s): %s", index, len(outcomes), exc)
        for _ in specs:  # rows the interruption left unread still get their spec (or their reason)
            pass
        calls = creator.calls
        try:
            fallback: str | None = hook.settings.default_dialin_number
        except DailyError:  # the connection itself was the problem
            fallback = None
        for item in items:
            if item.spec is not None:
                _record(item, outcomes.get(item.spec.name), error, fallback, config)

    table.write_results(
        provisioned=[i.provisioned for i in items if i.provisioned],
        failed=[i.failure for i in items if i.failure],
        now=now,
    )
    result = _chunk_result(index, items)
    log.info(
        "Chunk %d: %d meeting(s): %s (API calls: %s)",
        index,
        len(items),
        ", ".join(f"{k}={result['counts'][k]}" for k in OUTCOMES),
        calls,
    )
    if error is not None:
        error.chunk_result = result  # type: ignore[union-attr]
        raise error
    return result


def chunk_task(*, ti: Any, index: int, run: dict[str, Any]) -> dict[str, Any]:
    """The mapped task's body: read this chunk's bounds (its own XCom key), provision it, and on
    failure still hand ``summarize`` what was done, as this try's return value."""
    bounds = ti.xcom_pull(task_ids="plan", key=chunk_key(index))
    try:
        return provision_chunk(index=index, bounds=bounds, run=run)
    except Exception as exc:
        result = getattr(exc, "chunk_result", None)
        if result is not None:
            ti.xcom_push(key="return_value", value=result)
        raise


def _fail_shared_names(items: list[Item], config: ProvisioningConfig) -> None:
    """Two rows on one room name (one id twice in a table without a key; in theory a hash
    collision) both fail, before anything is sent: never two meetings on one room."""
    by_name: dict[str, list[Item]] = {}
    for item in items:
        meeting_id = id_text(item.meeting_id)
        if meeting_id.strip():  # a blank id fails on its own, in _specs
            by_name.setdefault(room_name_for(meeting_id, config.room_name_prefix), []).append(item)
    for name, sharing in by_name.items():
        if len(sharing) > 1:
            ids = ", ".join(repr(i.meeting_id) for i in sharing)
            for item in sharing:
                item.fail(f"meetings {ids} map to one room name {name}: rename one of them", counts=True)


def _specs(items: list[Item], config: ProvisioningConfig, now: datetime) -> Iterator[RoomCreate]:
    """Row -> room spec for each item not failed yet, lazily; a bad row fails alone."""
    for item in items:
        if item.failure is not None:
            continue
        try:
            item.spec = Meeting.from_row(item.row).room_spec(config, now=now.timestamp())
        except BadMeetingRow as exc:
            item.fail(exc.reason, counts=True)
            continue
        except Exception as exc:  # never let one row take its chunk down, whatever it holds
            item.fail(f"unreadable row ({type(exc).__name__}: {exc})", counts=True)
            continue
        yield item.spec


def _record(item: Item, outcome: Any, error: BaseException | None, fallback: str | None, config) -> None:
    spec = item.spec
    assert spec is not None
    room = outcome.room if outcome is not None else None
    if outcome is not None and outcome.ok and room is not None and room.pin:
        number = room.dialin_number(fallback=fallback)
        old_pin = (item.row.get("dialin_pin") or "").strip() or None
        item.pin_changed = old_pin is not None and old_pin != room.pin
        item.outcome = outcome.outcome or "created"
        item.provisioned = Provisioned(
            meeting_id=item.meeting_id,
            room_name=spec.name,
            room_url=room.url,
            pin=room.pin,
            number=number,
            dial_string=dial_string(number, room.pin),
            room_exp=int(spec.properties.exp or 0),
            fingerprint=room_fingerprint(item.row, config),
        )
    elif outcome is not None and outcome.error:
        item.fail(outcome.error, counts=outcome.counts)
    else:
        # not reached: the chunk ended early. Not this meeting's fault: not an attempt.
        reason = f"not provisioned: {type(error).__name__}: {error}" if error else "not provisioned: no room returned"
        item.fail(reason, counts=False)


def _chunk_result(index: int, items: Sequence[Item]) -> dict[str, Any]:
    counts = Counter(i.outcome for i in items if i.outcome)
    failures = [i.failure for i in items if i.failure]
    return {
        "index": index,
        "counts": {**{k: counts.get(k, 0) for k in OUTCOMES}, "failed": len(failures)},
        "failures": {f.meeting_id: f.reason for f in failures[:LISTED]},
        "pin_changed": [i.meeting_id for i in items if i.pin_changed][:LISTED],
        "pin_changed_count": sum(1 for i in items if i.pin_changed),
    }


# -- cancelled meetings -----------------------------------------------------------------------
def retire_cancelled(*, run: dict[str, Any], limit: int = 2000) -> dict[str, Any]:
    """Delete the rooms of meetings cancelled after provisioning and clear their PINs.

    Deletes go one by one through the hook's ``delete`` rate class (Daily allows 2/s); what the
    chunk deadline leaves undone is picked up by the next run. A room already gone counts as
    deleted (404 = done)."""
    config = ProvisioningConfig(**run["config"])
    if run.get("dry_run") or not config.delete_cancelled_rooms:
        return {"deleted": 0, "pending": 0, "failures": {}}
    table = MeetingsTable.from_config(config)
    cancelled = table.cancelled_with_rooms(limit=limit)
    if not cancelled:
        return {"deleted": 0, "pending": 0, "failures": {}}
    from airflow_provider_daily.hooks.daily import DailyHook

    hook = DailyHook(daily_conn_id=config.daily_conn_id, deadline_seconds=config.chunk_deadline_seconds)
    retired: list[tuple[str, str]] = []
    failures: dict[str, str] = {}
    try:
        for entry in cancelled:
            try:
                hook.delete_room(entry["room_name"])  # 404: already gone, which is what we want
            except (DailyInvalidRequestError, DailyValidationError) as exc:
                # this room only; outages and a refused key end the task (after the write-back)
                failures[entry["meeting_id"]] = f"could not delete room {entry['room_name']}: {exc}"
                continue
            retired.append((entry["meeting_id"], entry["room_name"]))
    finally:
        table.clear_rooms(retired)
        log.info("Cancelled meetings: %d room(s) deleted, %d left", len(retired), len(cancelled) - len(retired))
    return {
        "deleted": len(retired),
        "pending": len(cancelled) - len(retired) - len(failures),
        "failures": dict(list(failures.items())[:LISTED]),
    }


# -- summary and verdict ------------------------------------------------------------------------
def summarize(
    *,
    run: dict[str, Any] | None,
    chunk_results: Sequence[dict[str, Any] | None] | None,
    retired: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's true totals: from every chunk's result (a failed chunk hands over what it did),
    the plan's report of unreadable rows, unknown ids and meetings given up on. A failed ``plan``
    is reported as such, never a crash."""
    if run is None:
        summary = {"plan_failed": True, "counts": dict.fromkeys(OUTCOMES, 0), "failures": {}, "lost_chunks": 0}
        log.error("Daily dial-in provisioning: the plan task failed, nothing was provisioned; see its log")
        return summary
    totals: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
    failures: dict[str, str] = {}
    pin_changed: list[str] = []
    pin_changed_count = 0
    # index, don't iterate: Airflow's lazy XCom sequence stops iterating at the first mapped
    # task that pushed nothing, which would hide the chunks after it
    chunk_results = [] if chunk_results is None else chunk_results
    received = [r for r in (chunk_results[i] for i in range(len(chunk_results))) if r]
    for result in received:
        totals.update(result["counts"])
        failures.update(result["failures"])
        pin_changed.extend(result["pin_changed"])
        pin_changed_count += result["pin_changed_count"]
    for problem in run["problems"]:
        if not problem["reason"].startswith("status "):
            failures.setdefault(str(problem["meeting_id"]), problem["reason"])
    lost = run["chunk_count"] - len(received)
    retired = retired or {"deleted": 0, "pending": 0, "failures": {}}
    summary = {
        "plan_failed": False,
        "mode": run["mode"],
        "window": run["window"],
        "dry_run": run["dry_run"],
        "selected": run["selected"],
        "counts": dict(totals),
        "lost_chunks": lost,
        "unreadable": run["unreadable_count"],
        "unknown_ids": run["unknown_ids"],
        "unknown_count": run["unknown_count"],
        "given_up": run["given_up_count"],
        "given_up_ids": run["given_up_ids"],
        "pin_changed": pin_changed[:LISTED],
        "pin_changed_count": pin_changed_count,
        "retired": retired["deleted"],
        "retire_failed": len(retired["failures"]),
        "failures": dict(list(failures.items())[:LISTED]),
    }
    rows: list[tuple[str, Any]] = [
        ("provisioned (new room)", totals["created"]),
        ("reused (room existed)", totals["reused"]),
        ("updated (settings fixed)", totals["updated"]),
        ("skipped", totals["skipped"]),
        ("failed", totals["failed"]),
    ]
    for label, value in (
        ("rows no run can select", run["unreadable_count"]),
        ("rows with an unknown status", run["problem_count"] - run["unreadable_count"]),
        ("requested ids not in the table", run["unknown_count"]),
        ("given up (attempts used up)", run["given_up_count"]),
        ("PIN changed: re-send invitations", pin_changed_count),
        ("cancelled: rooms deleted", retired["deleted"]),
        ("cancelled: rooms not deleted", len(retired["failures"]) + retired.get("pending", 0)),
        ("chunk tasks lost (no result)", lost),
    ):
        if value:
            rows.append((label, value))
    text = format_table([("outcome", "meetings"), *rows])
    if failures:
        text += "\n" + format_table([("meeting", "reason"), *sorted(summary["failures"].items())])
    if run["unknown_ids"]:
        text += "\nNot in the table: " + ", ".join(repr(i) for i in run["unknown_ids"])
    if run["given_up_ids"]:
        text += "\nGiven up on: " + ", ".join(repr(i) for i in run["given_up_ids"])
    if pin_changed:
        text += "\nNew PIN (re-send the invitation): " + ", ".join(repr(i) for i in pin_changed)
    log.info("Daily dial-in provisioning (%s)\n%s", run["window"], text)
    return summary


def verify(summary: dict[str, Any]) -> None:
    """Fail the run when any meeting is left without a room - after everything was written."""
    if summary.get("plan_failed"):
        raise ProvisioningFailed("the plan task failed: nothing was provisioned (see the plan task's log)")
    failed = summary["counts"].get("failed", 0)
    problems = {
        "meeting(s) failed": failed,
        "row(s) no run can select": summary.get("unreadable", 0),
        "meeting(s) given up on": summary.get("given_up", 0),
        "chunk task(s) lost": summary.get("lost_chunks", 0),
        "cancelled room(s) not deleted": summary.get("retire_failed", 0),
    }
    found = {label: count for label, count in problems.items() if count}
    if found:
        ids = ", ".join(repr(i) for i in [*summary.get("failures", {}), *summary.get("given_up_ids", [])][:20])
        raise ProvisioningFailed(
            "; ".join(f"{count} {label}" for label, count in found.items())
            + (f" - see last_error of: {ids}" if ids else "")
        )
