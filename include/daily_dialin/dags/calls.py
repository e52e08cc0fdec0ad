"""The calls DAG factory: ``calls_dag(dag_id="daily_dialin_calls") -> DAG``.

Started by the events-table watcher (:class:`~daily_dialin.calls.trigger.CallEventsTrigger` on
the asset ``daily_dialin_call_events``: why a watcher and not an asset event from the receiver is
in its docstring and ``docs/calls.md``), by the revoke watcher on the same asset
(:class:`~daily_dialin.calls.revoke_trigger.RevokeDueTrigger`: an ended meeting's room became due
for deletion, when no event may arrive), or by a safety cron (``@hourly``) as a backstop. Four tasks:
``read_meetings_api`` (only with ``calls_source: "meetings_api"``, only on the cron's and manual
runs: stores ended meetings read from ``GET /meetings`` as events, :mod:`daily_dialin.calls.meetings_api`),
``fold_events`` (the calls table, the meetings table's figure columns), ``alert_dialin_errors``
(fails, naming the meetings, when the folded events held dial-in errors; no retries, so notifiers
attached to the DAG fire once) and ``revoke_ended`` (after the fold, whatever its outcome: deletes
the rooms of ended one-off meetings once due, :mod:`daily_dialin.calls.revoke`).

Parse time imports only ``airflow.sdk``, this package and the trigger modules; the tasks import
:mod:`daily_dialin.calls.process` / :mod:`daily_dialin.calls.revoke` when they run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, task

from daily_dialin.dags.options import dag_options

TAGS = ("daily", "dial-in", "calls")
ASSET_NAME = "daily_dialin_call_events"

DOC = """
### Daily dial-in calls

Daily posts webhook events (`dialin.connected`/`stopped`/`error`/`warning`, `meeting.ended`, ...)
to Airflow's API server at `/daily/webhooks`; the receiver checks their signature and stores them.
A watcher sees stored events not folded in yet and starts this DAG within seconds
(and `{safety}` as a backstop). It writes:

* `daily_calls`: one row per phone call - room, meeting, session, **masked** caller number
  (country code and last two digits), joined, left, duration, error;
* the meetings table's figure columns, where the table has them: `phone_callers`,
  `phone_minutes`, `first_dialin_at`, `last_dialin_error`, `actual_end_at`, `participants`,
  `participant_minutes`.

`fold_events` then deletes processed events older than `events_retention_days` (default 7),
whole meetings at a time.

`alert_dialin_errors` fails, naming the meetings, when a `dialin.error` (or `dialin.warning`)
arrived: attach your notifiers to this DAG.

`revoke_ended` deletes the room of a one-off meeting once Daily reported `meeting.ended`, the
scheduled end passed and `revoke_after_minutes` (Variable `daily_provisioning`, default 15; 0 or
null: off) went by, unless someone is in it (deferred to the next run): its PIN stops working and
its row says `revoked: the meeting ended`. Series rooms are kept.

Without webhooks (`calls_source: "meetings_api"` in `daily_calls`), `read_meetings_api` reads
ended meetings from Daily's `GET /meetings` on the scheduled (`{safety}`) and manual runs: actual
end, participants and their minutes only - never phone callers or dial-in errors.

Settings: Variable `daily_calls`. See docs/calls.md.
"""


def calls_schedule(
    *, poll_seconds: float = 5.0, safety_schedule: str | None = "@hourly", revoke_poll_seconds: float = 15.0
) -> Any:
    """The watched asset (and the safety cron, UTC) for ``DAG(schedule=...)``: two watchers on it,
    stored events (:class:`CallEventsTrigger`) and rooms of ended meetings due for deletion
    (:class:`~daily_dialin.calls.revoke_trigger.RevokeDueTrigger`)."""
    from daily_dialin.calls.revoke_trigger import RevokeDueTrigger
    from daily_dialin.calls.trigger import CallEventsTrigger

    watcher = AssetWatcher(name=f"{ASSET_NAME}_watcher", trigger=CallEventsTrigger(poll_seconds=poll_seconds))
    revokes = AssetWatcher(
        name=f"{ASSET_NAME}_revoke_watcher", trigger=RevokeDueTrigger(poll_seconds=revoke_poll_seconds)
    )
    asset = Asset(ASSET_NAME, watchers=[watcher, revokes])
    if not safety_schedule:
        return asset
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(safety_schedule, timezone="UTC"), assets=asset)


def calls_dag(
    *,
    dag_id: str,
    poll_seconds: float = 5.0,
    safety_schedule: str | None = "@hourly",
    revoke_poll_seconds: float = 15.0,
    settings: Mapping[str, Any] | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build the calls DAG.

    :param poll_seconds: how often the watcher looks for stored events.
    :param safety_schedule: a cron run as a backstop (None: the watchers only).
    :param revoke_poll_seconds: how often the revoke watcher looks for ended meetings' rooms due.
    :param settings: :class:`~daily_dialin.calls.settings.CallsSettings` fields on top of the
        Variable ``daily_calls`` (like a run's overrides).
    :param dag_kwargs: anything else ``DAG`` takes (e.g. ``schedule`` instead of the watcher;
        :func:`~daily_dialin.dags.options.dag_options`).
    """
    overrides = dict(settings or {})
    if overrides:
        from daily_dialin.calls.settings import CallsSettings

        CallsSettings(**overrides)  # a typo is an import error, not a failed run
    opts = dag_options(dag_id=dag_id, dag_kwargs=dag_kwargs, tags=TAGS, keywords=())
    schedule = calls_schedule(
        poll_seconds=poll_seconds, safety_schedule=safety_schedule, revoke_poll_seconds=revoke_poll_seconds
    )
    with opts.dag(defaults={"schedule": schedule, "doc_md": DOC.format(safety=safety_schedule or "no cron")}) as dag:
        _wire(overrides)
    return dag


def _wire(overrides: dict[str, Any]) -> None:
    @task(multiple_outputs=False)
    def read_meetings_api(dag_run=None) -> dict:
        # calls_source "meetings_api" only, and not on the watchers' runs: /meetings is read by the
        # backstop cron (and manual runs), at most once an hour by default
        run_type = getattr(dag_run, "run_type", None)
        if str(getattr(run_type, "value", run_type)).lower() == "asset_triggered":
            return {"skipped": "a watcher's run: /meetings is read by the scheduled runs"}
        from daily_dialin.calls import meetings_api

        return meetings_api.read_meetings_api(settings_overrides=overrides)

    @task(multiple_outputs=False)
    def fold_events() -> dict:
        from daily_dialin.calls import process

        return process.fold_events(settings_overrides=overrides)

    @task(retries=0)
    def alert_dialin_errors(summary: dict) -> None:
        from daily_dialin.calls import process

        process.raise_alerts(summary)

    @task(trigger_rule="all_done")
    def revoke_ended() -> dict:
        from daily_dialin.calls import revoke

        return revoke.revoke_ended(settings_overrides=overrides)

    folded = fold_events()
    read_meetings_api() >> folded
    alert_dialin_errors(folded)
    folded >> revoke_ended()
