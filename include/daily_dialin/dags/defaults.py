"""The one home of the names and defaults the DAGs share: the pool, the meetings asset, the start
date, the default task arguments.

Standard library only: the bootstrap (which sizes the pool) and the DAG factories both read it,
and neither should pay for the other's imports.

* **Pool**: ``daily_api``, or ``$DAILY_API_POOL`` (read when called: when a DAG file is parsed, or
  when the bootstrap runs). The chunk and reconcile tasks run in it; the bootstrap creates it.
* **Meetings asset**: what the provisioning and reconcile DAGs emit when they changed rows and the
  invitations DAG listens to. Named after the table a factory was given (and its meetings
  connection, if given), so two provisioning DAGs on two tables emit two assets and each
  invitations DAG hears its own; a factory given neither uses ``daily_dialin_meetings`` (the shipped
  DAGs: their table comes from the Variable or the defaults).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_POOL = "daily_api"
POOL_ENV = "DAILY_API_POOL"
MEETINGS_ASSET = "daily_dialin_meetings"

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
RUN_TIMEOUT = timedelta(hours=4)
# retried with backoff: Daily's and the database's transient faults outlast a plain retry
DEFAULT_ARGS: Mapping[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}


def pool_name(env: Mapping[str, str] | None = None) -> str:
    """The pool of the tasks that call Daily: ``$DAILY_API_POOL``, else ``daily_api``."""
    env = os.environ if env is None else env
    return env.get(POOL_ENV) or DEFAULT_POOL


def meetings_asset_name(*, meetings_conn_id: str | None = None, table: str | None = None) -> str:
    """The meetings asset of a table: ``daily_dialin_meetings[.<meetings_conn_id>][.<table>]``.

    Built from what a factory was given, not from the Variable (an asset is fixed when the DAG is
    parsed): give the invitations DAG the same ``table`` (and ``meetings_conn_id``) as the
    provisioning DAG it follows, or the same ``asset_name``."""
    return ".".join([MEETINGS_ASSET, *(part for part in (meetings_conn_id, table) if part)])


def dag_defaults(default_args: Mapping[str, Any] | None, base: Mapping[str, Any] = DEFAULT_ARGS) -> dict[str, Any]:
    """``base`` task arguments updated with a caller's ``default_args`` (theirs win, key by key)."""
    return {**base, **(default_args or {})}
