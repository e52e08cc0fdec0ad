"""How a factory's arguments rank against the deployment's Variable, for every run of its DAG.

A run's settings are layered, later wins::

    model defaults  <-  factory ``settings``  <-  Variable  <-  factory identity  <-  the run's Params

* **identity** (``daily_conn_id``, ``meetings_conn_id``, ``table``, ``columns`` for provisioning;
  ``base_path``, ``storage_conn_id`` for invitations): which table and which Daily account a DAG
  is. Two DAGs built by the factory share one Variable, so the Variable cannot be allowed to point
  both at one table: a factory's identity arguments beat it. Left out (``None``), the Variable or the
  defaults decide, as for the shipped DAGs.
* **settings** (any other field, e.g. ``chunk_size``, ``provisionable_statuses``): the DAG's own
  defaults. The Variable still overrides them, so a deployment is tuned without a code change.

Only keys the Variable actually sets override the factory's settings (the keys pydantic saw, read
with the same loader the run uses, so a malformed Variable fails the same way). The settings are
validated when the DAG file is parsed: a typo is an import error in the UI, not a failed run.

It lives below the DAG wiring (``daily_dialin.dags``) because the freshness watcher
(:mod:`daily_dialin.freshness.trigger`, which runs in the triggerer) ranks a DAG's settings the same
way; ``daily_dialin.dags.layers`` re-exports it.

May import: pydantic and the settings models of this application (``provisioning.config``,
``invitations.settings``, imported where a factory asks for them), which load no provider HTTP code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

PROVISIONING_IDENTITY = ("daily_conn_id", "meetings_conn_id", "table", "columns")
INVITATION_IDENTITY = ("base_path", "storage_conn_id")


def given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not ``None``)."""
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class Layers:
    """One settings model's layers for a DAG: the factory's identity and settings."""

    model: type[BaseModel]
    identity: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        model: type[BaseModel],
        *,
        identity_fields: tuple[str, ...],
        identity: Mapping[str, Any],
        settings: Mapping[str, Any] | None,
    ) -> Layers:
        """Check the factory's arguments against ``model`` (raises on unknown fields or bad values)."""
        settings = dict(settings or {})
        misplaced = sorted(set(settings) & set(identity_fields))
        if misplaced:
            raise TypeError(f"pass {', '.join(misplaced)} as keyword argument(s) of the factory, not in settings")
        unknown = sorted(set(settings) - set(model.model_fields))
        if unknown:
            raise TypeError(f"unknown {model.__name__} setting(s) {unknown}; known: {sorted(model.model_fields)}")
        model(**{**settings, **identity})  # pydantic's ValidationError names the field
        return cls(model=model, identity=dict(identity), settings=settings)

    def overrides(self, run_values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``overrides`` for ``model.load``: settings the Variable leaves alone, identity, run values.

        Called in a task, at run time (it reads the Variable when there are settings to rank)."""
        settings = dict(self.settings)
        if settings:
            set_by_variable = self.model.load().model_fields_set  # type: ignore[attr-defined]
            settings = {key: value for key, value in settings.items() if key not in set_by_variable}
        run = {key: value for key, value in (run_values or {}).items() if value is not None}
        return {**settings, **self.identity, **run}


def provisioning_layers(*, identity: Mapping[str, Any], settings: Mapping[str, Any] | None) -> Layers:
    from daily_dialin.provisioning.config import ProvisioningConfig

    return Layers.build(ProvisioningConfig, identity_fields=PROVISIONING_IDENTITY, identity=identity, settings=settings)


def invitation_layers(*, identity: Mapping[str, Any], settings: Mapping[str, Any] | None) -> Layers:
    from daily_dialin.invitations.settings import InvitationSettings

    return Layers.build(InvitationSettings, identity_fields=INVITATION_IDENTITY, identity=identity, settings=settings)
