"""How a factory's arguments rank against the deployment's Variable: re-exported from
:mod:`daily_dialin.settings_layers`, where the rule lives (below the DAG wiring, so the freshness
watcher can use it without importing ``daily_dialin.dags``).

May import: :mod:`daily_dialin.settings_layers` only.
"""

from __future__ import annotations

from daily_dialin.settings_layers import (
    INVITATION_IDENTITY,
    PROVISIONING_IDENTITY,
    Layers,
    given,
    invitation_layers,
    provisioning_layers,
)

__all__ = [
    "INVITATION_IDENTITY",
    "PROVISIONING_IDENTITY",
    "Layers",
    "given",
    "invitation_layers",
    "provisioning_layers",
]
