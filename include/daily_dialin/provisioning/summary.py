"""The end of a provisioning run: the true totals, and the verdict.

``summarize``  add everything up - also when ``plan`` or chunk tasks failed (a failed chunk hands
               over what it did) -, name the meetings about to start without a room and those
               that started without one (read after every chunk wrote back), and log it.
``verify``     fail the run if any meeting is left without a room, after all was written.

May import: ``daily_dialin`` (errors, reporting) and the provisioning modules below the steps
(handover, table).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_dialin.errors import ProvisioningFailed
from daily_dialin.provisioning.handover import LISTED, ChunkResult, Counts, Listed, RetireResult, RunPlan, Summary
from daily_dialin.provisioning.table import MeetingsTable, Seen
from daily_dialin.reporting import format_table

__all__ = ["summarize", "verify"]

log = logging.getLogger(__name__)


def summarize(
    *,
    run: dict[str, Any] | None,
    chunk_results: Sequence[dict[str, Any] | None] | None,
    retired: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The run's true totals, as a :class:`Summary` (JSON): from every chunk's result (a failed
    chunk hands over what it did), the plan's report of unreadable rows, unknown ids and meetings
    given up on, the rooms of cancelled meetings, and - read after every chunk wrote back - the
    meetings about to start without a room and those that started without one. A failed
    ``plan`` is reported as such, never a crash."""
    if run is None:
        log.error("Daily dial-in provisioning: the plan task failed, nothing was provisioned; see its log")
        return Summary(plan_failed=True).to_xcom()
    planned = RunPlan.from_xcom(run)
    results = _received(chunk_results)
    summary = _totals(planned, results, RetireResult.from_xcom(retired) if retired else RetireResult())
    # the deletion task always hands over a result (also when interrupted): none means it failed
    # before it could, or never ran - its rooms may still be live, so the verdict must say so
    lost = retired is None and not planned.dry_run
    summary = summary.model_copy(update={**_freshness(planned, now or datetime.now(UTC)), "retire_lost": lost})
    log.info("Daily dial-in provisioning (%s)\n%s", planned.window, _summary_text(summary))
    return summary.to_xcom()


def _received(chunk_results: Sequence[dict[str, Any] | None] | None) -> list[ChunkResult]:
    """The results the chunk tasks handed over. Indexed, not iterated: Airflow's lazy XCom
    sequence stops iterating at the first mapped task that pushed nothing, which would hide the
    chunks after it."""
    if chunk_results is None:
        return []
    found = (chunk_results[i] for i in range(len(chunk_results)))
    return [ChunkResult.from_xcom(result) for result in found if result]


def _totals(planned: RunPlan, results: Sequence[ChunkResult], retired: RetireResult) -> Summary:
    counts, failures, changed, changed_count, waiting, waiting_count = Counts(), {}, [], 0, [], 0
    deferred, deferred_count = [], 0
    for result in results:
        deferred.extend(result.deferred.ids)
        deferred_count += result.deferred.count
        counts += result.counts
        failures.update(result.failures)
        changed.extend(result.pin_changed.ids)
        changed_count += result.pin_changed.count
        waiting.extend(result.waiting.ids)
        waiting_count += result.waiting.count
    report = planned.report
    for problem in report.problems:
        if problem.unreadable:
            failures.setdefault(str(problem.meeting_id), problem.reason)
    return Summary(
        mode=planned.mode,
        window=planned.window,
        dry_run=planned.dry_run,
        selected=planned.selected,
        counts=counts,
        failures=dict(list(failures.items())[:LISTED]),
        lost_chunks=max(planned.chunk_count - len(results), 0),
        unreadable=report.unreadable_count,
        unknown_status=report.unknown_status_count,
        unknown=report.unknown,
        given_up=report.given_up,
        pin_changed=Listed.of(changed, count=changed_count),
        waiting=Listed.of(waiting, count=waiting_count),
        deferred=Listed.of(deferred, count=deferred_count),
        retired=retired,
        alert_within_minutes=planned.config.alert_within_minutes,
    )


def _freshness(planned: RunPlan, now: datetime) -> dict[str, Any]:
    """Meetings starting within ``alert_within_minutes`` that still have no room, and meetings
    that started without ever having had one (marked in the table, so reported once) - read
    after this run's chunks wrote back. A dry run writes nothing and checks nothing."""
    if planned.dry_run:
        return {}
    config, scope = planned.config, planned.alert_scope
    # only meetings this run could have provisioned: those its plan saw (a plan made before the
    # scope existed - a run in flight during an upgrade - names every meeting, as it did)
    seen = None if scope is None else Seen(ids=tuple(scope.ids), complete=scope.complete, reach=scope.reach)
    try:
        table = MeetingsTable.from_config(config)
        within = timedelta(minutes=config.alert_within_minutes)
        soon = table.not_ready_soon(now=now, within=within, limit=LISTED, seen=seen)
        missed = table.mark_missed(now=now, limit=LISTED, seen=seen)
    except Exception as exc:  # the table is unreachable: say so, and let verify fail the run
        log.error("Could not check for meetings about to start without a room: %s: %s", type(exc).__name__, exc)
        return {"freshness_error": f"{type(exc).__name__}: {exc}"}
    return {"not_ready_soon": Listed.of(soon[1], count=soon[0]), "missed": Listed.of(missed[1], count=missed[0])}


def _summary_text(summary: Summary) -> str:
    counts = summary.counts
    rows: list[tuple[str, Any]] = [
        ("provisioned (new room)", counts.created),
        ("reused (room existed)", counts.reused),
        ("updated (settings fixed)", counts.updated),
        ("skipped", counts.skipped),
        ("failed", counts.failed),
    ]
    extra = (
        ("rows no run can select", summary.unreadable),
        ("rows with an unknown status", summary.unknown_status),
        ("requested ids not in the table", summary.unknown.count),
        ("given up (attempts used up)", summary.given_up.count),
        ("PIN changed: re-send invitations", summary.pin_changed.count),
        ("waiting: beyond Daily's 365 days", summary.waiting.count),
        ("deferred: live rooms (people in them; changed once empty)", summary.deferred.count),
        ("cancelled: rooms deleted", summary.retired.deleted),
        ("cancelled: rooms not deleted", summary.retired.failed + summary.retired.pending),
        ("cancelled: rooms waiting for a person's decision (the approval DAG)", summary.retired.held),
        ("cancelled: rooms deferred (people in them)", summary.retired.deferred),
        ("chunk tasks lost (no result)", summary.lost_chunks),
        (f"starting within {summary.alert_within_minutes} min without a room", summary.not_ready_soon.count),
        ("started without ever having had a room", summary.missed.count),
    )
    rows += [(label, value) for label, value in extra if value]
    text = format_table([("outcome", "meetings"), *rows])
    if summary.failures:
        text += "\n" + format_table([("meeting", "reason"), *sorted(summary.failures.items())])
    return text + "".join(_listed_text(summary))


def _listed_text(summary: Summary) -> Iterator[str]:
    for label, listed in (
        ("Not in the table", summary.unknown),
        ("Given up on", summary.given_up),
        ("New PIN (re-send the invitation)", summary.pin_changed),
        ("Waiting: beyond Daily's 365 days (a later run provisions them)", summary.waiting),
        ("Deferred: live rooms (people in them; a later run changes them once empty)", summary.deferred),
        (f"Starting within {summary.alert_within_minutes} min without a room", summary.not_ready_soon),
        ("Started without ever having had a room", summary.missed),
    ):
        if listed.ids:
            yield f"\n{label}: " + ", ".join(repr(i) for i in listed.ids)
    if summary.retired.deferred_rooms:  # kept for the people in them; a later run deletes them once empty
        yield "\nRooms of cancelled meetings kept: " + "; ".join(
            f"{room}: {why}" for room, why in sorted(summary.retired.deferred_rooms.items())
        )
    if summary.freshness_error:
        yield f"\nCould not check for meetings about to start without a room: {summary.freshness_error}"


def verify(summary: dict[str, Any]) -> None:
    """Fail the run when any meeting is left without a room - after everything was written."""
    checked = Summary.from_xcom(summary)
    if checked.plan_failed:
        raise ProvisioningFailed("the plan task failed: nothing was provisioned (see the plan task's log)")
    found = [f"{count} {label}" for label, count in _verdict_counts(checked) if count]
    found += _freshness_findings(checked)
    if checked.retire_lost:
        found.append("the deletion of cancelled meetings' rooms did not finish (see the retire_cancelled task)")
    if found:
        ids = ", ".join(repr(i) for i in [*checked.failures, *checked.given_up.ids][:20])
        raise ProvisioningFailed("; ".join(found) + (f" - see last_error of: {ids}" if ids else ""))


def _verdict_counts(summary: Summary) -> list[tuple[str, int]]:
    return [
        ("meeting(s) failed", summary.counts.failed),
        ("row(s) no run can select", summary.unreadable),
        ("meeting(s) given up on", summary.given_up.count),
        ("chunk task(s) lost", summary.lost_chunks),
        ("cancelled room(s) not deleted", summary.retired.failed),
    ]


def _freshness_findings(summary: Summary) -> list[str]:
    """Meetings about to start, or started, without a room: named by id (they may have no last_error)."""
    found = []
    for listed, label in (
        (summary.not_ready_soon, f"meeting(s) starting within {summary.alert_within_minutes} minutes without a room"),
        (summary.missed, "meeting(s) started without ever having had a room"),
    ):
        if listed.count:
            found.append(f"{listed.count} {label} ({', '.join(repr(i) for i in listed.ids[:20])})")
    if summary.freshness_error:
        found.append(f"the check for meetings about to start without a room failed ({summary.freshness_error})")
    return found
