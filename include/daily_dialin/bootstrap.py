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
environment (secrets come from there, e.g. compose's ``.env``). After expansion, empty connection
fields are dropped (an empty ``host`` of ``daily_default`` means Daily's own API), ``port`` becomes a
number, and the ``daily_provisioning`` Variable is validated by the provisioning settings model
(a typo fails here, not in the first run) and stored with typed values; a key left empty is left
out, so the provider's own default applies (and stays the default when a new version changes it).

Running it again gives the same result: the settings folder is the source of truth, and values
changed in the UI are overwritten. Options: ``--migrate`` (``airflow db migrate`` first),
``--create-meetings-table`` (the shipped schema, if missing), ``--print`` (show the expanded
settings, secrets masked; no changes). With the simple auth manager and ``$AIRFLOW_ADMIN_PASSWORD`` set, the login
``$AIRFLOW_ADMIN_USERNAME`` (default ``admin``) gets that password.

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
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("daily_dialin.bootstrap")

SETTINGS_DIR = Path(__file__).resolve().parent / "airflow_settings"
PROVISIONING_VARIABLE = "daily_provisioning"
SECRET_FIELDS = frozenset({"password", "extra"})
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ALLOW_UNENCRYPTED = "DAILY_ALLOW_UNENCRYPTED_SECRETS"
GENERATE_FERNET_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
SET_FERNET_KEY = (
    f"Generate a key:\n    {GENERATE_FERNET_KEY}\nand set it: with docker compose as AIRFLOW_FERNET_KEY in .env "
    "(next to docker-compose.yaml); elsewhere as AIRFLOW__CORE__FERNET_KEY or [core] fernet_key in airflow.cfg, "
    "the same for every Airflow component. Keep it: connections stored with a key can only be read with it."
)


class BootstrapError(RuntimeError):
    """The settings are incomplete or invalid, or Airflow refused them."""


def pool_name() -> str:
    """The pool the chunk tasks use: one rule with the DAG factories (:mod:`daily_dialin.dags.defaults`)."""
    from daily_dialin.dags.defaults import pool_name as configured

    return configured()


def expand(value: Any, env: Mapping[str, str], *, where: str = "") -> Any:
    """``${VAR}`` / ``${VAR:-default}`` in every string of ``value`` (recursively), from ``env``."""
    if isinstance(value, dict):
        return {key: expand(item, env, where=f"{where}.{key}" if where else key) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, env, where=f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name)
        if found not in (None, ""):
            return found
        if default is not None:
            return default
        raise BootstrapError(f"{where}: environment variable {name} is not set (and has no default)")

    return _PLACEHOLDER.sub(replace, value)


def placeholders(settings_dir: Path = SETTINGS_DIR) -> dict[str, str | None]:
    """Every ``${VAR}`` the settings files use -> its default (``None``: required)."""
    found: dict[str, str | None] = {}
    for path in sorted(settings_dir.glob("*.json")):
        for match in _PLACEHOLDER.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), match.group(2))
    return found


def _connections(raw: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for conn_id, fields in expand(dict(raw), env).items():
        if not isinstance(fields, dict):
            raise BootstrapError(f"connection {conn_id!r}: use the JSON object form (conn_type, host, ...)")
        cleaned = {key: value for key, value in fields.items() if value not in (None, "", {})}
        if "port" in cleaned:
            try:
                cleaned["port"] = int(cleaned["port"])
            except ValueError:
                raise BootstrapError(f"connection {conn_id!r}: port {cleaned['port']!r} is not a number") from None
        if "conn_type" not in cleaned:
            raise BootstrapError(f"connection {conn_id!r} has no conn_type")
        out[conn_id] = cleaned
    return out


def _provisioning_variable(values: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Validated by the provisioning settings model: the typed values of the keys given, and api_concurrency."""
    from pydantic import ValidationError

    from daily_dialin.provisioning.config import ProvisioningConfig

    try:
        config = ProvisioningConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise BootstrapError(f"Variable {PROVISIONING_VARIABLE!r}: {problems}") from None
    return config.model_dump(mode="json", include=set(values)), config.api_concurrency


def load_settings(settings_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The expanded, validated settings: ``connections``, ``variables``, ``pools`` (import formats)."""
    files = {name: settings_dir / f"{name}.json" for name in ("connections", "variables")}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise BootstrapError(f"settings files missing: {', '.join(missing)}")
    raw = {name: json.loads(path.read_text(encoding="utf-8")) for name, path in files.items()}
    variables = expand(raw["variables"], env, where="variables")
    provisioning = variables.get(PROVISIONING_VARIABLE)
    if not isinstance(provisioning, dict):
        raise BootstrapError(f"variables.json must define {PROVISIONING_VARIABLE!r} as a JSON object")
    given = {key: value for key, value in provisioning.items() if value != ""}  # empty: the model's default
    variables[PROVISIONING_VARIABLE], concurrency = _provisioning_variable(given)
    pools = {
        pool_name(): {
            "slots": concurrency,
            "description": f"Daily API: chunk tasks at once (= {PROVISIONING_VARIABLE}.api_concurrency)",
            "include_deferred": False,
        }
    }
    return {"connections": _connections(raw["connections"], env), "variables": variables, "pools": pools}


def masked(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with connection secrets replaced by ``***``, for printing."""
    conns = {
        conn_id: {key: ("***" if key in SECRET_FIELDS else value) for key, value in fields.items()}
        for conn_id, fields in settings["connections"].items()
    }
    return {**settings, "connections": conns}


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
) -> dict[str, Any]:
    """Apply the settings folder to the Airflow this process is configured for; returns a summary."""
    env = os.environ if env is None else env
    settings = load_settings(settings_dir, env)  # everything validated before Airflow is touched
    encrypted = require_encryption(settings, env)
    summary: dict[str, Any] = {"settings": str(settings_dir), "secrets_encrypted": encrypted}
    if migrate:
        _airflow("db", "migrate")
        summary["migrated"] = True
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
        )
    except BootstrapError as exc:
        print(f"bootstrap failed: {exc}", file=sys.stderr)
        return 1
    log.info("bootstrap done: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
