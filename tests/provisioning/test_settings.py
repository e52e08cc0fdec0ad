"""Settings refused before a run starts: a status in two lists, the alert window's bounds."""

from __future__ import annotations

import pytest

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.provisioning.config import ProvisioningConfig


@pytest.mark.parametrize(
    "settings",
    [
        {"cancelled_statuses": ["Scheduled ", "cancelled"]},  # overlap with the default provisionable list
        {"provisionable_statuses": ["scheduled", "CANCELED"]},  # overlap with the default cancelled list
        {"provisionable_statuses": ["live"], "cancelled_statuses": ["live", "off"]},
    ],
)
def test_a_status_cannot_be_both_provisionable_and_cancelled(settings):
    with pytest.raises(DailyConfigError) as info:
        ProvisioningConfig.validated(settings)
    message = str(info.value)
    assert "provisionable_statuses" in message and "cancelled_statuses" in message, message
    assert "either provisionable" in message and "or cancelled" in message, message


def test_disjoint_status_lists_are_accepted():
    config = ProvisioningConfig.validated({"provisionable_statuses": ["Live"], "cancelled_statuses": ["Off"]})
    assert config.provisionable_statuses == ["live"] and config.cancelled_statuses == ["off"]


def test_the_alert_window_defaults_to_two_hours_and_can_be_switched_off():
    assert ProvisioningConfig().alert_within_minutes == 120
    assert ProvisioningConfig.validated({"alert_within_minutes": 0}).alert_within_minutes == 0
    with pytest.raises(DailyConfigError, match="alert_within_minutes"):
        ProvisioningConfig.validated({"alert_within_minutes": -1})
