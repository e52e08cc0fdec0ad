"""The bootstrap's settings folder (``airflow_settings/`` or your own): ``connections.json`` and
``variables.json`` read, ``${VAR}`` / ``${VAR:-default}`` expanded from the environment (every
missing required one named in one message), connections cleaned, the ``daily_provisioning``
Variable validated and typed, the ``daily_api`` pool sized from it. See :mod:`daily_dialin.bootstrap`
(which re-exports these names) for what the bootstrap does with them.

May import: the standard library; :mod:`daily_dialin.dags.defaults` and the provisioning settings
model (when called). Never Airflow: ``--print`` runs without an Airflow home.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SETTINGS_DIR = Path(__file__).resolve().parent / "airflow_settings"
PROVISIONING_VARIABLE = "daily_provisioning"
SECRET_FIELDS = frozenset({"password", "extra"})
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


MEETINGS_CONN_TYPE_ENV = "DAILY_MEETINGS_CONN_TYPE"
# what the shipped settings' required variables are, for the one message naming every missing one
VARIABLE_HELP = {
    "DAILY_API_KEY": "your Daily API key: dashboard -> Developers",
    "DAILY_MEETINGS_HOST": "the meetings database's host; with SQLite the database file's path",
}


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


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def meetings_conn_type(env: Mapping[str, str], *, importable: Callable[[str], bool] = _importable) -> str:
    """The meetings connection's type: ``$DAILY_MEETINGS_CONN_TYPE`` when set, else the installed
    extra's (``postgres`` when its provider is importable, else ``sqlite`` when that one is)."""
    explicit = (env.get(MEETINGS_CONN_TYPE_ENV) or "").strip()
    if explicit:
        return explicit
    if importable("airflow.providers.postgres"):
        return "postgres"
    return "sqlite" if importable("airflow.providers.sqlite") else "postgres"


def require_variables(settings_dir: Path, env: Mapping[str, str]) -> None:
    """One error naming every required ``${VAR}`` of the settings files that the environment lacks."""
    missing = [
        name for name, default in placeholders(settings_dir).items() if default is None and env.get(name) in (None, "")
    ]
    if missing:
        named = "; ".join(f"{name} ({VARIABLE_HELP.get(name, 'see the settings files')})" for name in missing)
        raise BootstrapError(f"environment variables not set: {named}. Set them all, then run the bootstrap again.")


def load_settings(settings_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The expanded, validated settings: ``connections``, ``variables``, ``pools`` (import formats)."""
    files = {name: settings_dir / f"{name}.json" for name in ("connections", "variables")}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise BootstrapError(f"settings files missing: {', '.join(missing)}")
    env = {**env, MEETINGS_CONN_TYPE_ENV: meetings_conn_type(env)}
    require_variables(settings_dir, env)  # every missing one in one message, before anything else
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
