"""The doctor's Airflow checks: Fernet key, the ``daily_api`` pool, the connections, DAG import
errors, a triggerer for the meetings-table watcher, and ``[core] test_connection``.

From a shell (``python -m daily_dialin doctor``) every check reads Airflow's configuration and its
metadata DB. From a task (the ``daily_dialin_doctor`` DAG) Airflow 3 allows no metadata-DB access,
so the pool, import-error and triggerer checks say *skip* and point at the shell command.

May import: Airflow (lazily, inside the checks), :mod:`daily_dialin.doctor.report`,
:mod:`daily_dialin.dags.defaults` and :mod:`daily_dialin.provisioning.config`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from daily_dialin.doctor.report import Check, fail, ok, skip, warn

AREA = "airflow"
WATCHED_ASSET = (
    "daily_dialin_meetings_table"  # freshness.schedule.DEFAULT_ASSET_NAME (not imported: it loads the trigger)
)
FROM_SHELL = "run `python -m daily_dialin doctor` where the metadata DB is reachable"
SET_FERNET = (
    'generate one (python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") '
    "and set AIRFLOW__CORE__FERNET_KEY (compose: AIRFLOW_FERNET_KEY in .env) on every component, then run "
    "python -m daily_dialin.bootstrap again"
)


def fernet() -> Check:
    """Connection secrets (the Daily API key) are encrypted only with a valid Fernet key."""
    from airflow.exceptions import AirflowException
    from airflow.models.crypto import get_fernet

    try:
        encrypts = get_fernet().is_encrypted
    except AirflowException:
        return fail(AREA, "fernet key", "[core] fernet_key is set but is not a valid Fernet key", SET_FERNET)
    if not encrypts:
        return fail(AREA, "fernet key", "no [core] fernet_key: the Daily API key is stored unencrypted", SET_FERNET)
    return ok(AREA, "fernet key", "set: connection secrets are encrypted")


def pool(config: Any) -> Check:
    """The pool the chunk tasks use exists with ``api_concurrency`` slots."""
    from airflow.models.pool import Pool

    from daily_dialin.dags.defaults import pool_name

    name, wanted = pool_name(), config.api_concurrency
    found = Pool.get_pool(name)
    fix = f"airflow pools set {name} {wanted} 'Daily API' (or run python -m daily_dialin.bootstrap)"
    if found is None:
        return fail(AREA, "pool", f"pool {name!r} does not exist: the chunk tasks of every run would wait forever", fix)
    if found.slots != wanted:
        why = f"pool {name!r} has {found.slots} slots, the settings' api_concurrency is {wanted}"
        return warn(AREA, "pool", why + ": the rate-limit shares and the pool disagree", fix)
    return ok(AREA, "pool", f"pool {name!r} has {wanted} slots (= api_concurrency)")


def stored_connection(conn_id: str) -> Any:
    """The models' lookup, deprecated for tasks: the SDK's ``Connection.get`` reports a connection it
    cannot decrypt (another Fernet key) as not defined, this one raises ``InvalidToken`` - the finding."""
    import warnings

    from airflow.models.connection import Connection

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using Connection.get_connection_from_secrets", DeprecationWarning)
        return Connection.get_connection_from_secrets(conn_id)


def unreadable_in_metadata_db(conn_id: str) -> bool:
    """Whether the metadata DB holds ``conn_id`` with a secret the configured Fernet key cannot
    decrypt (Airflow's lookups log that and answer "not defined"). Reads the columns, never the model."""
    import sqlalchemy as sa
    from airflow.models.connection import Connection
    from airflow.models.crypto import get_fernet
    from airflow.utils.session import create_session

    table = Connection.__table__
    columns = (table.c.password, table.c.is_encrypted, table.c.extra, table.c.is_extra_encrypted)
    with create_session() as session:
        row = session.execute(sa.select(*columns).where(table.c.conn_id == conn_id)).first()
    if row is None:
        return False
    fernet = get_fernet()
    for value, encrypted in ((row[0], row[1]), (row[2], row[3])):
        try:
            if value and encrypted:
                fernet.decrypt(value.encode("utf-8"))
        except Exception:  # cryptography's InvalidToken
            return True
    return False


def _connection_task(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def connection(conn_id: str, *, expected_types: tuple[str, ...], role: str, in_task: bool = False) -> Check:
    """``conn_id`` resolves (env, secrets backend or metadata DB), can be decrypted, has a usable type."""
    name = f"connection {conn_id}"
    get: Callable[[str], Any] = _connection_task if in_task else stored_connection
    try:
        conn = get(conn_id)
    except Exception as exc:  # AirflowNotFoundException; a Fernet key mismatch (InvalidToken); a secrets backend
        mismatch = not in_task and _quietly(unreadable_in_metadata_db, conn_id)
        return _connection_error(name, conn_id, role, exc, fernet_mismatch=mismatch)
    conn_type = getattr(conn, "conn_type", None) or ""
    if expected_types and conn_type not in expected_types:
        why = f"type {conn_type!r}, the {role} needs {' or '.join(expected_types)}"
        return fail(AREA, name, why, f"airflow connections delete {conn_id}, then add it again with the right type")
    return ok(AREA, name, f"{role}: type {conn_type}")


def _quietly(check: Callable[[str], bool], conn_id: str) -> bool:
    try:
        return check(conn_id)
    except Exception:  # no metadata DB: the other checks say so
        return False


def _connection_error(name: str, conn_id: str, role: str, exc: Exception, *, fernet_mismatch: bool = False) -> Check:
    kind = type(exc).__name__
    if fernet_mismatch or kind == "InvalidToken":
        why = "stored with another Fernet key than the one configured: its secrets cannot be read"
        fix = (
            "set the old key again (AIRFLOW__CORE__FERNET_KEY), or list the new and old keys comma-separated "
            "and run `airflow rotate-fernet-key`; or delete the connection and run the bootstrap again"
        )
        return fail(AREA, name, why, fix)
    if "NotFound" in kind or "isn't defined" in str(exc):
        fix = (
            f"run python -m daily_dialin.bootstrap, or airflow connections add {conn_id} ..., "
            f"or set AIRFLOW_CONN_{conn_id.upper()}"
        )
        return fail(AREA, name, f"the {role} connection {conn_id!r} does not exist", fix)
    return fail(AREA, name, f"cannot be read ({kind})", "check the secrets backend and the connection's fields")


def import_errors() -> Check:
    """DAG files the DAG processor could not import (what the UI's banner shows)."""
    import sqlalchemy as sa
    from airflow.models.errors import ParseImportError
    from airflow.utils.session import create_session

    with create_session() as session:
        files = [row for row in session.scalars(sa.select(ParseImportError.filename)) if row]
    if not files:
        return ok(AREA, "dag import errors", "none recorded by the DAG processor")
    shown = ", ".join(sorted(os.path.basename(f) for f in files)[:3]) + (" ..." if len(files) > 3 else "")
    why = f"{len(files)} DAG file(s) failed to import: {shown}"
    return fail(AREA, "dag import errors", why, "airflow dags list-import-errors shows each traceback; fix the file")


def triggerer(now: datetime | None = None) -> Check:
    """The meetings-table watcher runs in the triggerer: with a watcher registered, one must be alive."""
    import sqlalchemy as sa
    from airflow.configuration import conf
    from airflow.models.asset import AssetWatcherModel
    from airflow.utils.session import create_session

    with create_session() as session:
        watchers = session.scalar(sa.select(sa.func.count()).where(AssetWatcherModel.name.like(f"{WATCHED_ASSET}%")))
        if not watchers:
            return ok(
                AREA, "triggerer", "no meetings-table watcher registered: runs follow the schedule, no triggerer needed"
            )
        beat = _latest_triggerer_heartbeat(session)
    threshold = conf.getfloat("triggerer", "triggerer_health_check_threshold", fallback=30.0)
    now = now or datetime.now(UTC)
    fix = "start one: airflow triggerer (compose: the airflow-triggerer service)"
    if beat is None:
        return fail(AREA, "triggerer", f"{watchers} watcher(s) registered but no triggerer ever ran", fix)
    age = (now - beat).total_seconds()
    if age > max(threshold, 1.0) * 2:
        return fail(AREA, "triggerer", f"the watcher needs a triggerer; the last heartbeat is {age:.0f} s old", fix)
    return ok(AREA, "triggerer", f"alive (heartbeat {age:.0f} s ago) for {watchers} watcher(s)")


def _latest_triggerer_heartbeat(session: Any) -> datetime | None:
    import sqlalchemy as sa
    from airflow.jobs.job import Job

    beat = session.scalar(sa.select(sa.func.max(Job.latest_heartbeat)).where(Job.job_type == "TriggererJob"))
    if beat is not None and beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return beat


def test_connection_setting() -> Check:
    """``[core] test_connection``: the connection form's Test button (it runs the Daily checks)."""
    from airflow.configuration import conf

    value = (conf.get("core", "test_connection", fallback="Disabled") or "Disabled").strip()
    if value.lower() == "enabled":
        return ok(AREA, "test_connection", "Enabled: the Daily connection's Test button checks key, domain and numbers")
    why = f"[core] test_connection is {value}: the Test button of the Daily connection is off"
    return warn(AREA, "test_connection", why, "set AIRFLOW__CORE__TEST_CONNECTION=Enabled on the API server")


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # the metadata DB not migrated / unreachable: a finding, never a traceback
        why = f"could not be checked ({type(exc).__name__})"
        return fail(AREA, name, why, "airflow db check; airflow db migrate (or the bootstrap's --migrate)")


def run(config: Any | None, *, in_task: bool = False) -> list[Check]:
    """Every Airflow check; ``config`` None (unreadable settings): the connection checks use the defaults."""
    from daily_dialin.provisioning.config import ProvisioningConfig

    settings = config or ProvisioningConfig()
    checks = [_guarded("fernet key", fernet)]
    if in_task:
        checks += [
            skip(AREA, name, "not from a task (no metadata-DB access)", FROM_SHELL)
            for name in ("pool", "dag import errors", "triggerer")
        ]
    else:
        checks += [
            _guarded("pool", lambda: pool(settings)),
            _guarded("dag import errors", import_errors),
            _guarded("triggerer", triggerer),
        ]
    checks.append(connection(settings.daily_conn_id, expected_types=("daily",), role="Daily API", in_task=in_task))
    checks.append(connection(settings.meetings_conn_id, expected_types=(), role="meetings table", in_task=in_task))
    checks.append(_guarded("test_connection", test_connection_setting))
    return checks
