"""The test domain: its API key, phone numbers, emulator settings and the ``daily`` connection
that points at it (with fast retries). Imported by fixtures and tests alike."""

from __future__ import annotations

import json

from daily_emulator import EmulatorSettings
from tests.support.paths import REPO

__all__ = [
    "FAST_RETRIES",
    "OTHER_NUMBER",
    "PIN_NUMBER",
    "REPO",
    "SPARE_NUMBER",
    "TEST_KEY",
    "daily_connection_uri",
    "emulator_settings",
    "provisioning_conf",
]

TEST_KEY = "test-key-9f8e7d6c5b4a"
PIN_NUMBER = "+12095550100"
OTHER_NUMBER = "+12095550101"
SPARE_NUMBER = "+12095550102"
FAST_RETRIES = {"timeout": 2, "retry_min_wait": 0.01, "retry_max_wait": 0.2, "max_attempts": 6, "retry_deadline": 30}


def emulator_settings() -> EmulatorSettings:
    return EmulatorSettings(
        api_keys=[TEST_KEY],
        domain="acme",
        purchased_numbers=[PIN_NUMBER, OTHER_NUMBER, SPARE_NUMBER],
        pin_dialin_numbers=[PIN_NUMBER],
    )


def daily_connection_uri(base_url: str, key: str = TEST_KEY, **extra) -> str:
    return json.dumps({"conn_type": "daily", "host": base_url, "password": key, "extra": {**FAST_RETRIES, **extra}})


def provisioning_conf(**overrides) -> dict:
    """A full run conf for ``daily_dialin_provisioning`` (every Param at its default, then
    ``overrides``): ``dag.test()`` keeps the previous run's params on the shared DAG object."""
    from daily_dialin.provisioning.params import PROVISIONING_PARAMS

    return {**{name: param.value for name, param in PROVISIONING_PARAMS.items()}, **overrides}
