"""``python -m daily_dialin doctor``: one command that says what is wrong with a deployment's Daily
domain, its Airflow and its meetings table, and how to fix each thing (like ``dbt debug``).

Each check is *ok*, *warn*, *fail* or *skip* with one line of why and one of what to do
(:mod:`.report`); the checks live in :mod:`.checks_daily`, :mod:`.checks_airflow` and
:mod:`.checks_table`. Exit code 0: all ok; 1: warnings; 2: failures. ``--json`` for machines.

The settings are the provisioning Variable's (``--variable``, default ``daily_provisioning``), with
``--daily-conn-id``, ``--meetings-conn-id`` and ``--table`` overriding it. Bad input to the doctor
itself (a malformed Variable, a connection or table that does not exist) is a *fail*, never a
traceback; nothing printed holds the API key, a PIN or a caller's number (:func:`.report.scrub`).

May import: :mod:`daily_dialin.provisioning.config` and ``table``, the provider's hook and errors,
and this package; Airflow lazily.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daily_dialin.doctor import checks_airflow, checks_daily, checks_table
from daily_dialin.doctor.report import Check, exit_code, fail, render_json, render_text, scrubbed, skip

__all__ = ["DoctorOptions", "build_parser", "diagnose", "main"]

VARIABLE = "daily_provisioning"


@dataclass(frozen=True, kw_only=True)
class DoctorOptions:
    """What to check: the settings Variable and the overrides the command line gives."""

    variable: str = VARIABLE
    daily_conn_id: str | None = None
    meetings_conn_id: str | None = None
    table: str | None = None
    room_quota: int | None = None
    callers_column: str | None = None
    in_task: bool = False

    def overrides(self) -> dict[str, Any]:
        values = {"daily_conn_id": self.daily_conn_id, "meetings_conn_id": self.meetings_conn_id, "table": self.table}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def of(cls, values: Mapping[str, Any], *, in_task: bool = False) -> DoctorOptions:
        """From the command line's arguments or the doctor DAG's form (unknown keys ignored; empty:
        the default): the one place both build the options."""
        fields = {name for name in cls.__dataclass_fields__ if name != "in_task"}
        given = {name: values[name] for name in fields if values.get(name) is not None}
        return cls(**{**given, "variable": values.get("variable") or VARIABLE}, in_task=in_task)


def load_config(options: DoctorOptions) -> tuple[Any, Check]:
    """The provisioning settings (``None`` when unusable) and the check saying so."""
    from airflow_provider_daily.errors import DailyConfigError
    from daily_dialin.provisioning.config import ProvisioningConfig, load_json_variable

    try:
        values = load_json_variable(options.variable)
        values.update(options.overrides())
        config = ProvisioningConfig.validated(values, source=f"Variable {options.variable!r}")
    except DailyConfigError as exc:
        fix = f"fix the Variable (airflow variables get {options.variable}) or the bootstrap's variables.json"
        return None, fail("settings", "variable", str(exc), fix)
    except Exception as exc:  # the metadata DB unreachable while reading the Variable
        return None, fail(
            "settings",
            "variable",
            f"cannot read Variable {options.variable!r} ({type(exc).__name__})",
            "airflow db check",
        )
    return config, Check(
        area="settings",
        name="variable",
        status="ok",
        why=f"Variable {options.variable!r}: table {config.table!r} on {config.meetings_conn_id!r}",
    )


def _table(config: Any) -> tuple[Any, Check | None]:
    from daily_dialin.provisioning.table import MeetingsTable

    try:
        return MeetingsTable.from_config(config), None
    except Exception as exc:  # DailyConfigError: the connection does not exist, its provider is missing
        fix = (
            f"create connection {config.meetings_conn_id!r} (python -m daily_dialin.bootstrap) "
            "or pass --meetings-conn-id"
        )
        return None, fail("table", "connection", str(exc), fix)


def _hook(config: Any, options: DoctorOptions) -> Any:
    from daily_dialin.hook import daily_hook

    return daily_hook(config, deadline=False, live_rooms=False)


def _table_part(config: Any, options: DoctorOptions, now: datetime) -> tuple[list[Check], Any]:
    table, problem = _table(config)
    if problem is not None:
        return [problem], checks_daily.Demand()
    checks = checks_table.run(table, now=now, callers_column=options.callers_column)
    demand = checks_daily.Demand()
    if checks[0].status != "fail":
        try:
            demand = checks_table.demand(table, now)
        except Exception as exc:  # reported by the table checks already
            checks.append(
                fail("table", "demand", f"cannot count what the table needs ({type(exc).__name__})", "see above")
            )
    return checks, demand


def webhook_url() -> tuple[str | None, Check | None]:
    """This deployment's receiver URL, as the bootstrap registers it: ``$DAILY_WEBHOOK_URL``, else the
    Variable ``daily_calls``'s ``webhook_url``; a malformed Variable is a finding."""
    url = os.environ.get("DAILY_WEBHOOK_URL")
    if url:
        return url, None
    try:
        from daily_dialin.calls.settings import CallsSettings

        return CallsSettings.load().webhook_url, None
    except Exception as exc:  # DailyConfigError: the Variable is malformed
        return None, fail("settings", "daily_calls", str(exc), "fix the Variable daily_calls (its webhook_url)")


def _daily_part(config: Any, options: DoctorOptions, demand: Any) -> list[Check]:
    url, problem = webhook_url()
    try:
        hook = _hook(config, options)
        found = checks_daily.run(
            hook, demand, prefix=config.room_name_prefix, room_quota=options.room_quota, webhook_url=url
        )
        return [problem, *found] if problem else found
    except Exception as exc:  # the connection missing or unreadable: the Airflow checks say why
        return [
            fail(
                "daily",
                "api key",
                f"the Daily connection is not usable ({type(exc).__name__})",
                f"see the airflow check of connection {config.daily_conn_id!r}",
            )
        ]


def diagnose(options: DoctorOptions, *, now: datetime | None = None) -> list[Check]:
    """Every check, in order: settings, Airflow, the table, Daily. Secrets scrubbed."""
    now = now or datetime.now(UTC)
    config, first = load_config(options)
    checks = [first, *checks_airflow.run(config, in_task=options.in_task)]
    if config is None:
        checks += [skip(area, "all", "the settings are not usable") for area in ("table", "daily")]
        return scrubbed(checks)
    table_checks, demand = _table_part(config, options, now)
    checks += table_checks
    checks += _daily_part(config, options, demand)
    return scrubbed(checks, _secrets(config))


def _secrets(config: Any) -> list[str]:
    """The API key and the database password, to be blanked wherever they might appear."""
    found = []
    for conn_id in (config.daily_conn_id, config.meetings_conn_id):
        try:
            conn = checks_airflow.stored_connection(conn_id)
            found += [conn.password or ""]
        except Exception:  # missing or unreadable: reported by the Airflow checks
            continue
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m daily_dialin doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variable", default=VARIABLE, help="the provisioning settings Variable (default: %(default)s)"
    )
    parser.add_argument("--daily-conn-id", help="the Daily connection (default: the Variable's daily_conn_id)")
    parser.add_argument("--meetings-conn-id", help="the meetings table's connection (default: the Variable's)")
    parser.add_argument("--table", help="the meetings table (default: the Variable's)")
    parser.add_argument("--room-quota", type=int, help="the plan's live-room quota (Daily does not report it)")
    parser.add_argument("--callers-column", help="a column with each meeting's expected phone callers")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    checks = diagnose(DoctorOptions.of(vars(args)))
    print(render_json(checks) if args.json else render_text(checks))
    return exit_code(checks)
