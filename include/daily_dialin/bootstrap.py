"""One command sets up an Airflow deployment for this provider: ``python -m daily_dialin.bootstrap``.

The compose file's init service, the native cluster check, the demo and the UI quickstart all run it.
It loads one settings folder (default: ``airflow_settings/`` next to this file; ``--settings`` or
``$DAILY_AIRFLOW_SETTINGS`` for your own), in Airflow's own import formats:

* ``connections.json`` -> ``airflow connections import --overwrite``
* ``variables.json``   -> ``airflow variables import --action-on-existing-key overwrite``
* the pool ``daily_api`` (``$DAILY_API_POOL``) -> ``airflow pools import``, sized by the Variable's
  ``daily_provisioning.api_concurrency``: the one setting that also gives each chunk task its
  1/api_concurrency share of Daily's rate limit, so nothing has to agree by hand.

String values may hold ``${VAR}`` (required) and ``${VAR:-default}`` placeholders, expanded from the
environment (secrets come from there, e.g. compose's ``.env``); every required one that is missing is
named in one message. ``$DAILY_MEETINGS_CONN_TYPE`` defaults to the installed extra's database
(``postgres`` when its provider imports, else ``sqlite``). After expansion, empty connection
fields are dropped (an empty ``host`` of ``daily_default`` means Daily's own API), ``port`` becomes a
number, and the ``daily_provisioning`` Variable is validated by the provisioning settings model
(a typo fails here, not in the first run) and stored with typed values; a key left empty is left
out, so the provider's own default applies (and stays the default when a new version changes it).

Reading the settings folder (expansion, validation, the pool's size) is :mod:`daily_dialin.settings_files`
(its names are re-exported here); this module talks to Airflow and Daily.

Running it again gives the same result: the settings folder is the source of truth, and values
changed in the UI are overwritten. Options: ``--migrate`` (``airflow db migrate`` first),
``--create-meetings-table`` (the shipped schema, if missing, and the calls loop's tables),
``--print`` (show the expanded settings, secrets masked; no changes). With the simple auth manager
and ``$AIRFLOW_ADMIN_PASSWORD`` set, the login ``$AIRFLOW_ADMIN_USERNAME`` (default ``admin``) gets
that password.

**Daily webhooks** (the calls loop, ``docs/calls.md``): the webhook secret lives in the Daily
connection's ``webhook_secret`` extra (Airflow masks it). Every run keeps the secret already stored
there (importing ``connections.json`` would otherwise drop it), unless ``$DAILY_WEBHOOK_SECRET`` or
``connections.json`` give one. ``--register-webhook`` (URL from ``--webhook-url``,
``$DAILY_WEBHOOK_URL`` or the Variable ``daily_calls``'s ``webhook_url``) then registers Daily's
webhook for that URL (``POST /webhooks`` with the secret as ``hmac``), or re-arms it when Daily
marked it FAILED, or updates its event types; a fresh secret is made when none exists. Daily sends
a test request on creation, so the API server must be up: run it after the services started.

Connections with secrets (a ``password`` or ``extra``, e.g. the Daily API key) are stored only when
Airflow encrypts them: without a Fernet key (``[core] fernet_key``, ``$AIRFLOW__CORE__FERNET_KEY``;
compose: ``AIRFLOW_FERNET_KEY`` in ``.env``) the bootstrap stops before touching Airflow, saying how
to make one. ``DAILY_ALLOW_UNENCRYPTED_SECRETS=1`` stores them in plain text anyway (a throwaway
metadata DB on your own machine, never a deployment). A fresh ``AIRFLOW_HOME`` gets a key of its own:
Airflow writes one into the ``airflow.cfg`` it creates, which the bootstrap does first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from daily_dialin.settings_files import (  # noqa: F401 - re-exported: the bootstrap's public names
    MEETINGS_CONN_TYPE_ENV,
    PROVISIONING_VARIABLE,
    SECRET_FIELDS,
    SETTINGS_DIR,
    VARIABLE_HELP,
    BootstrapError,
    expand,
    load_settings,
    masked,
    meetings_conn_type,
    placeholders,
    pool_name,
    require_variables,
)

log = logging.getLogger("daily_dialin.bootstrap")

ALLOW_UNENCRYPTED = "DAILY_ALLOW_UNENCRYPTED_SECRETS"
GENERATE_FERNET_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
SET_FERNET_KEY = (
    f"Generate a key:\n    {GENERATE_FERNET_KEY}\nand set it: with docker compose as AIRFLOW_FERNET_KEY in .env "
    "(next to docker-compose.yaml); elsewhere as AIRFLOW__CORE__FERNET_KEY or [core] fernet_key in airflow.cfg, "
    "the same for every Airflow component. Keep it: connections stored with a key can only be read with it."
)


WEBHOOK_URL_ENV = "DAILY_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "DAILY_WEBHOOK_SECRET"
WEBHOOK_SECRET_EXTRA = "webhook_secret"
CALLS_VARIABLE = "daily_calls"


FERNET_MISMATCH = (
    "the metadata DB holds connections (or variables) stored with another Fernet key than the one configured, "
    "so Airflow cannot read them. Recover: configure the old key again ([core] fernet_key / "
    "AIRFLOW__CORE__FERNET_KEY; compose: AIRFLOW_FERNET_KEY); or, to move to the new key, set "
    "AIRFLOW__CORE__FERNET_KEY=<new key>,<old key>, run `airflow rotate-fernet-key`, then keep only the new key; "
    "if the old key is lost, delete those rows from the metadata DB's connection table and run the bootstrap again."
)


def _fernet_encrypts() -> bool:
    """Whether Airflow encrypts connection secrets: a valid Fernet key is configured.

    Writes the default ``airflow.cfg`` first when there is none, as every ``airflow`` command does
    (and, on a fresh ``AIRFLOW_HOME``, with a generated Fernet key), so the answer is the one the
    ``airflow connections import`` below will act on."""
    from airflow.configuration import write_default_airflow_configuration_if_needed
    from airflow.exceptions import AirflowException
    from airflow.models.crypto import get_fernet

    write_default_airflow_configuration_if_needed()
    try:
        return get_fernet().is_encrypted
    except AirflowException as exc:  # a key that is not a Fernet key
        raise BootstrapError(f"the Fernet key ([core] fernet_key) is not valid ({exc}). {SET_FERNET_KEY}") from None


def require_encryption(
    settings: Mapping[str, Any], env: Mapping[str, str], *, encrypts: Callable[[], bool] = _fernet_encrypts
) -> bool:
    """Refuse to store connection secrets Airflow would keep in plain text; returns whether they are encrypted.

    :param encrypts: tells whether Airflow has a valid Fernet key (tests pass their own).
    """
    secret = sorted(conn_id for conn_id, fields in settings["connections"].items() if SECRET_FIELDS & set(fields))
    if not secret or encrypts():
        return True
    if env.get(ALLOW_UNENCRYPTED, "").strip().lower() in ("1", "true", "yes"):
        log.warning(
            "No Fernet key: the secrets of %s are stored UNENCRYPTED in the metadata DB (%s is set)",
            ", ".join(secret),
            ALLOW_UNENCRYPTED,
        )
        return False
    raise BootstrapError(
        f"Airflow has no Fernet key, so the secrets of {', '.join(secret)} (such as the Daily API key) would be "
        f"stored unencrypted in the metadata DB. {SET_FERNET_KEY} (A throwaway metadata DB on your own machine: "
        f"{ALLOW_UNENCRYPTED}=1 stores them unencrypted.)"
    )


def _airflow(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "airflow", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 and "InvalidToken" in result.stdout + result.stderr:
        raise BootstrapError(f"`airflow {' '.join(args[:2])}` failed: {FERNET_MISMATCH}")
    if result.returncode != 0:
        raise BootstrapError(f"`airflow {' '.join(args[:2])}` failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return result


def _import_all(settings: Mapping[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="daily-bootstrap-") as tmp:
        folder = Path(tmp)
        for name in ("connections", "variables", "pools"):
            path = folder / f"{name}.json"
            path.touch(mode=0o600)
            path.write_text(json.dumps(settings[name], indent=2), encoding="utf-8")
        _airflow("connections", "import", "--overwrite", str(folder / "connections.json"))
        _airflow("variables", "import", "--action-on-existing-key", "overwrite", str(folder / "variables.json"))
        _airflow("pools", "import", str(folder / "pools.json"))


def _check_pool(settings: Mapping[str, Any]) -> None:
    from airflow.models.pool import Pool

    name, wanted = pool_name(), settings["pools"][pool_name()]["slots"]
    found = Pool.get_pool(name)
    if found is None or found.slots != wanted:
        raise BootstrapError(f"pool {name!r} should have {wanted} slots; Airflow has {found and found.slots}")


def meetings_table(settings: Mapping[str, Any]) -> Any:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    config = ProvisioningConfig(**settings["variables"][PROVISIONING_VARIABLE])
    fields = settings["connections"].get(config.meetings_conn_id)
    if fields is None:
        raise BootstrapError(f"no connection {config.meetings_conn_id!r} in connections.json")
    # this process resolves the connection from the environment, not from the metadata DB
    os.environ[f"AIRFLOW_CONN_{config.meetings_conn_id.upper()}"] = json.dumps(fields)
    try:
        return MeetingsTable.from_config(config)
    except Exception as exc:
        raise BootstrapError(str(exc)) from None


# -- Daily webhooks -----------------------------------------------------------------------------------
def daily_conn_id(settings: Mapping[str, Any]) -> str:
    from daily_dialin.provisioning.config import ProvisioningConfig

    return ProvisioningConfig(**settings["variables"][PROVISIONING_VARIABLE]).daily_conn_id


def _extra(fields: Mapping[str, Any]) -> dict[str, Any]:
    extra = fields.get("extra") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            raise BootstrapError("the Daily connection's extra is not a JSON object") from None
    if not isinstance(extra, dict):
        raise BootstrapError("the Daily connection's extra is not a JSON object")
    return dict(extra)


def stored_webhook_secret(conn_id: str) -> str | None:
    """The ``webhook_secret`` the metadata DB holds for ``conn_id`` (None: none, or no DB yet)."""
    try:
        from airflow.models import Connection
        from airflow.utils.session import create_session

        with create_session() as session:
            found = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            return (found.extra_dejson.get(WEBHOOK_SECRET_EXTRA) or None) if found is not None else None
    except Exception as exc:  # a metadata DB not migrated yet has nothing to keep
        log.debug("No stored webhook secret (%s)", type(exc).__name__)
        return None


def with_webhook_secret(settings: dict[str, Any], env: Mapping[str, str], stored: str | None) -> str | None:
    """Put the webhook secret into the Daily connection's extra before the import: ``$DAILY_WEBHOOK_SECRET``,
    else the one ``connections.json`` gives, else the one stored before. Returns it (None: there is none)."""
    conn_id = daily_conn_id(settings)
    fields = settings["connections"].get(conn_id)
    if fields is None:
        return None
    extra = _extra(fields)
    secret = env.get(WEBHOOK_SECRET_ENV) or extra.get(WEBHOOK_SECRET_EXTRA) or stored
    if secret:
        from daily_dialin.calls.signing import sign

        try:
            sign(secret, "0", b"")
        except ValueError:
            raise BootstrapError(
                f"the webhook secret (${WEBHOOK_SECRET_ENV} or the connection) is not base64"
            ) from None
        fields["extra"] = {**extra, WEBHOOK_SECRET_EXTRA: secret}
    return secret or None


def webhook_url(settings: Mapping[str, Any], env: Mapping[str, str], given: str | None = None) -> str | None:
    calls = settings["variables"].get(CALLS_VARIABLE) or {}
    return given or env.get(WEBHOOK_URL_ENV) or (calls.get("webhook_url") if isinstance(calls, dict) else None)


def _save_webhook_secret(conn_id: str, secret: str) -> None:
    """Store ``secret`` in the connection's extra in the metadata DB (encrypted like any extra)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        found = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if found is None:
            raise BootstrapError(f"connection {conn_id!r} is not in Airflow: cannot keep the webhook secret")
        found.set_extra(json.dumps({**found.extra_dejson, WEBHOOK_SECRET_EXTRA: secret}))


def _wanted_webhook(settings: Mapping[str, Any], url: str, secret: str) -> dict[str, Any]:
    from daily_dialin.calls.settings import CallsSettings

    calls = CallsSettings(**(settings["variables"].get(CALLS_VARIABLE) or {}))
    return {"url": url, "eventTypes": list(calls.event_types), "hmac": secret, "retryType": calls.retry_type}


def _differs(hook: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    if sorted(hook.get("eventTypes") or []) != sorted(wanted["eventTypes"]):
        return True
    if hook.get("retryType") not in (None, wanted["retryType"]):
        return True
    return hook.get("hmac") not in (None, wanted["hmac"])  # [doc] returned by Daily; compared when present


def register_webhook(settings: Mapping[str, Any], *, url: str, secret: str | None) -> dict[str, Any]:
    """Create, re-arm or update Daily's webhook for ``url``; keep its secret in the Daily connection.

    Returns what was done (``created``, ``re-armed``, ``updated``, ``kept``), the hook's uuid and
    state: never the secret."""
    from airflow_provider_daily.errors import DailyError
    from airflow_provider_daily.hooks.daily import DailyHook
    from daily_dialin.calls.signing import new_secret

    conn_id = daily_conn_id(settings)
    secret = secret or new_secret()
    _save_webhook_secret(conn_id, secret)  # before Daily can sign anything with it
    fields = {**settings["connections"][conn_id]}
    fields["extra"] = {**_extra(fields), WEBHOOK_SECRET_EXTRA: secret}
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(fields)  # this process reads it from here
    wanted = _wanted_webhook(settings, url, secret)
    try:
        hook = DailyHook(daily_conn_id=conn_id)
        found = next((h for h in hook.list_webhooks() if h.get("url") == url), None)
        if found is None:
            result, action = (
                hook.create_webhook(
                    url=url, event_types=wanted["eventTypes"], hmac_secret=secret, retry_type=wanted["retryType"]
                ),
                "created",
            )
        elif str(found.get("state", "")).upper() == "FAILED" or _differs(found, wanted):
            action = "re-armed" if str(found.get("state", "")).upper() == "FAILED" else "updated"
            result = hook.update_webhook(str(found["uuid"]), wanted)
        else:
            result, action = found, "kept"
    except DailyError as exc:
        raise BootstrapError(f"Daily webhook for {url} not registered: {exc}") from None
    return {"action": action, "uuid": result.get("uuid"), "url": url, "state": result.get("state")}


def _create_calls_tables(settings: Mapping[str, Any], table: Any) -> list[str]:
    """The calls loop's events and calls tables, next to the meetings table (if missing), so the
    receiver's first request does no DDL."""
    from daily_dialin.calls.settings import CallsSettings
    from daily_dialin.calls.store import CallsStore

    calls = CallsSettings(**(settings["variables"].get(CALLS_VARIABLE) or {}))
    CallsStore(engine=table.engine, settings=calls).ensure_schema()
    return [calls.events_table, calls.calls_table]


def _write_login(env: Mapping[str, str]) -> str | None:
    password = env.get("AIRFLOW_ADMIN_PASSWORD")
    if not password:
        return None
    from airflow.configuration import conf

    manager = conf.get("core", "auth_manager", fallback="")
    if not manager.endswith("SimpleAuthManager"):
        return None
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    username = env.get("AIRFLOW_ADMIN_USERNAME") or "admin"
    path = Path(SimpleAuthManager.get_generated_password_file())
    passwords = json.loads(path.read_text(encoding="utf-8")) if path.is_file() and path.stat().st_size else {}
    passwords[username] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(passwords) + "\n", encoding="utf-8")
    return username


def run(
    *,
    settings_dir: Path,
    migrate: bool = False,
    create_meetings_table: bool = False,
    env: Mapping[str, str] | None = None,
    register: bool = False,
    url: str | None = None,
) -> dict[str, Any]:
    """Apply the settings folder to the Airflow this process is configured for; returns a summary.

    ``register``: also register Daily's webhook (at ``url``, else ``$DAILY_WEBHOOK_URL`` or the
    Variable ``daily_calls``'s ``webhook_url``); the API server must be up (Daily pings the URL)."""
    env = os.environ if env is None else env
    settings = load_settings(settings_dir, env)  # everything validated before Airflow is touched
    url = webhook_url(settings, env, url) if register else None
    if register and not url:
        raise BootstrapError(
            f"--register-webhook needs a URL: --webhook-url, ${WEBHOOK_URL_ENV} or daily_calls.webhook_url"
        )
    encrypted = require_encryption(settings, env)
    summary: dict[str, Any] = {"settings": str(settings_dir), "secrets_encrypted": encrypted}
    if migrate:
        _airflow("db", "migrate")
        summary["migrated"] = True
    secret = with_webhook_secret(settings, env, stored_webhook_secret(daily_conn_id(settings)))
    _import_all(settings)
    _check_pool(settings)
    summary.update(
        connections=sorted(settings["connections"]),
        variables=sorted(settings["variables"]),
        pool={pool_name(): settings["pools"][pool_name()]["slots"]},
    )
    if create_meetings_table:
        table = meetings_table(settings)
        table.create_schema()
        summary["meetings_table"] = table.table
        summary["calls_tables"] = _create_calls_tables(settings, table)
    if url:
        summary["webhook"] = register_webhook(settings, url=url, secret=secret)
    login = _write_login(env)
    if login:
        summary["login"] = login
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m daily_dialin.bootstrap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path(os.environ.get("DAILY_AIRFLOW_SETTINGS") or SETTINGS_DIR),
        help="folder with connections.json and variables.json (default: %(default)s)",
    )
    parser.add_argument("--migrate", action="store_true", help="run `airflow db migrate` first")
    parser.add_argument("--create-meetings-table", action="store_true", help="create the meetings table if missing")
    parser.add_argument("--print", action="store_true", help="print the expanded settings (secrets masked) only")
    parser.add_argument(
        "--register-webhook",
        action="store_true",
        help="register (or re-arm) Daily's webhook for the calls loop; the API server must be up",
    )
    parser.add_argument("--webhook-url", help=f"the receiver's public URL (default: ${WEBHOOK_URL_ENV})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.print:
            print(json.dumps(masked(load_settings(args.settings, os.environ)), indent=2))
            return 0
        summary = run(
            settings_dir=args.settings,
            migrate=args.migrate,
            create_meetings_table=args.create_meetings_table,
            register=args.register_webhook,
            url=args.webhook_url,
        )
    except BootstrapError as exc:
        print(f"bootstrap failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a stored secret read in this process with another Fernet key
        if type(exc).__name__ != "InvalidToken":
            raise
        print(f"bootstrap failed: {FERNET_MISMATCH}", file=sys.stderr)
        return 1
    log.info("bootstrap done: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
