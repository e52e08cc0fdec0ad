"""The one place the application builds a :class:`~airflow_provider_daily.hooks.daily.DailyHook`
from its settings.

Every task that talks to Daily asks here, naming what it needs; the connection id, the rate-limit
share of a parallel chunk, the task's deadline and the live-room margin come from the settings, so
a setting added to the hook is passed by every caller at once.

May import: the provider (lazily: parsing a DAG file imports no HTTP code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_daily.hooks.daily import DailyHook


def daily_hook(config: Any, *, shared: bool = False, deadline: bool = True, live_rooms: bool = True) -> DailyHook:
    """A hook for ``config`` (any settings with ``daily_conn_id``; the provisioning settings give the rest).

    :param shared: the task runs beside others of its DAG run (a chunk): it gets
        ``rate_limit_share`` of Daily's limits instead of all of them.
    :param deadline: bound everything the hook does, retries included, by ``chunk_deadline_seconds``.
    :param live_rooms: keep a live room's ``exp`` within ``live_exp_margin_minutes`` (presence checked).
    """
    from airflow_provider_daily.hooks.daily import DailyHook

    kwargs: dict[str, Any] = {"daily_conn_id": config.daily_conn_id}
    if shared and hasattr(config, "rate_limit_share"):
        kwargs["rate_limit_share"] = config.rate_limit_share
    if deadline and getattr(config, "chunk_deadline_seconds", None) is not None:
        kwargs["deadline_seconds"] = config.chunk_deadline_seconds
    if live_rooms and hasattr(config, "live_exp_margin_minutes"):
        kwargs["live_exp_margin_seconds"] = config.live_exp_margin_minutes * 60
    return DailyHook(**kwargs)
