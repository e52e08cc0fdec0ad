"""The provisioning DAG's ``schedule``: the meetings table watched by :class:`MeetingsTableTrigger`,
or that or a safety cron, or (``watch=False``) the cron alone as before.

With a watch, a row added, moved or cancelled is provisioned within about ``poll_seconds`` plus one
run; the safety cron (``@daily`` by default) still runs the whole rolling horizon once a day, for what
the watch does not look at (moved meetings further ahead than its look-ahead) and as a backstop.

Runs started by the watch are ``asset_triggered`` with no logical date; ``resolve_window`` gives them
the rolling window (like scheduled runs), since their params hold no window and mode ``auto``.
Under ``max_active_runs=1``, events during a run queue one follow-up run, not one per event (see
``trigger.py``).

The watched asset must not be one the DAG itself emits (``daily_dialin_meetings[...]``, the outlet
of ``summarize``): every run would then trigger the next. Pass it as ``emitted_assets``; a factory
building several provisioning DAGs gives each its own :func:`watch_asset_name` and the same
``identity``/``settings`` it ranks against the Variable for its runs, so the watch reads the same
table with the same settings as the runs it starts.

May import: :mod:`airflow.sdk` and :mod:`daily_dialin.freshness.trigger` (light: no provisioning code
is imported while a DAG file is parsed).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable

from daily_dialin.freshness.trigger import MeetingsTableTrigger

__all__ = ["DEFAULT_ASSET_NAME", "provisioning_schedule", "watch_asset_name"]

DEFAULT_ASSET_NAME = "daily_dialin_meetings_table"
_NOT_CRON = frozenset({"@once", "@continuous"})


def watch_asset_name(*, meetings_conn_id: str | None = None, table: str | None = None) -> str:
    """The watched asset of a table: ``daily_dialin_meetings_table[.<meetings_conn_id>][.<table>]``
    (one per provisioning DAG; never the asset the DAG emits)."""
    return ".".join([DEFAULT_ASSET_NAME, *(part for part in (meetings_conn_id, table) if part)])


def provisioning_schedule(
    *,
    safety_schedule: str | None = "@daily",
    watch: bool = True,
    poll_seconds: float = 10,
    config_overrides: Mapping[str, Any] | None = None,
    asset_name: str = DEFAULT_ASSET_NAME,
    identity: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    emitted_assets: Collection[str] = ("daily_dialin_meetings",),
    look_ahead_hours: float = 48,
    refire_seconds: float = 300,
) -> Any:
    """The object for ``DAG(schedule=...)``.

    * ``watch=False``: ``safety_schedule`` as given (a cron string or preset, or None: manual only).
    * ``watch=True``: ``AssetOrTimeSchedule`` of the cron (UTC) and the watched asset; with
      ``safety_schedule`` None, the watched asset alone.

    ``identity``, ``settings``, ``config_overrides``, ``poll_seconds``, ``look_ahead_hours`` and
    ``refire_seconds`` go to :class:`MeetingsTableTrigger`; they are its identity in Airflow (a
    change replaces the trigger), so keep them deterministic (no timestamps, no secrets).
    """
    safety = (safety_schedule or "").strip() or None
    if not watch:
        return safety
    if asset_name in set(emitted_assets):
        raise ValueError(f"asset {asset_name!r} is emitted by the provisioning DAG: watching it would loop")
    if safety in _NOT_CRON:
        raise ValueError(f"safety_schedule must be a cron expression or preset, not {safety!r}")
    trigger = MeetingsTableTrigger(
        identity=_given(identity),
        settings=dict(settings or {}),
        config_overrides=_given(config_overrides),
        poll_seconds=poll_seconds,
        look_ahead_hours=look_ahead_hours,
        refire_seconds=refire_seconds,
    )
    asset = Asset(asset_name, watchers=[AssetWatcher(name=f"{asset_name}_watcher", trigger=trigger)])
    if safety is None:
        return asset
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(safety, timezone="UTC"), assets=asset)


def _given(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """``values`` without the ``None`` ones (an argument not given is no part of the trigger's identity)."""
    return {key: value for key, value in (values or {}).items() if value is not None}
