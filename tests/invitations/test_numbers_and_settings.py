"""Dial-in numbers of an invite and the ``daily_invitations`` settings."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from daily_dialin.invitations.numbers import OWN_NUMBER_LABEL, DialinNumber, dialin_numbers
from daily_dialin.invitations.settings import DEFAULT_GLOBAL_NUMBERS, GlobalNumber, InvitationSettings
from tests.invitations.helpers import CA, OWN_NUMBER, PIN, US


def test_own_number_first_then_the_global_numbers():
    numbers = dialin_numbers(OWN_NUMBER, DEFAULT_GLOBAL_NUMBERS)
    assert [n.number for n in numbers] == [OWN_NUMBER, US, CA]
    assert [n.label for n in numbers] == [OWN_NUMBER_LABEL, "United States", "Canada"]
    assert [n.one_tap(PIN) for n in numbers] == [f"tel:{n},,{PIN}" for n in (OWN_NUMBER, US, CA)]


def test_own_number_that_is_a_global_number_is_listed_once_with_its_label():
    numbers = dialin_numbers("12095038039", DEFAULT_GLOBAL_NUMBERS)
    assert [(n.number, n.label) for n in numbers] == [(US, "United States"), (CA, "Canada")]


def test_no_own_number_and_no_global_numbers():
    assert [n.number for n in dialin_numbers(None, DEFAULT_GLOBAL_NUMBERS)] == [US, CA]
    assert dialin_numbers(None, []) == ()
    assert [n.number for n in dialin_numbers(OWN_NUMBER, [])] == [OWN_NUMBER]


def test_display_format():
    assert DialinNumber(number=US, label="x").display == "+1 209-503-8039"
    assert DialinNumber(number="+442071234567", label="x").display == "+442071234567"


def test_settings_defaults():
    settings = InvitationSettings()
    assert [g.number for g in settings.global_numbers] == [US, CA]
    assert settings.host_links is True
    assert settings.token_method == "self_signed"
    assert settings.storage_url().startswith("file:///")
    assert settings.storage_url().endswith("/daily_invitations")


def test_settings_accept_plain_number_strings_and_validate():
    settings = InvitationSettings(global_numbers=["+44 20 7123 4567", {"number": "12095038039", "label": "US"}])
    assert settings.global_numbers == [
        GlobalNumber(number="+442071234567", label="+44 20 7123 4567"),
        GlobalNumber(number=US, label="US"),
    ]
    with pytest.raises(ValidationError):
        InvitationSettings(global_numbers=["not a number"])
    with pytest.raises(ValidationError):
        InvitationSettings(token_method="guess")
    with pytest.raises(ValidationError):
        InvitationSettings(unknown=1)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("/srv/invites/", "file:///srv/invites"),
        ("file:///srv/invites", "file:///srv/invites"),
        ("s3://bucket/invites/", "s3://bucket/invites"),
    ],
)
def test_storage_url(base, url):
    assert InvitationSettings(base_path=base).storage_url() == url


def test_settings_load_reads_the_variable_at_run_time(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(tmp_path), "host_links": False}))
    settings = InvitationSettings.load()
    assert settings.storage_url() == f"file://{tmp_path}"
    assert settings.host_links is False
    assert InvitationSettings.load({"host_links": True}).host_links is True


def test_storing_host_tokens_is_off_by_default_and_needs_host_links_and_a_plain_column():
    assert InvitationSettings().store_host_tokens is False
    assert InvitationSettings(store_host_tokens=True).host_token_column == "host_token"
    with pytest.raises(ValidationError, match="store_host_tokens needs host_links"):
        InvitationSettings(store_host_tokens=True, host_links=False)
    with pytest.raises(ValidationError):
        InvitationSettings(store_host_tokens=True, host_token_column="token; DROP TABLE x")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [('{"base_path": "/tmp/x",}', "not valid JSON"), ('["base_path"]', "must be a JSON object")],
)
def test_a_malformed_variable_fails_instead_of_falling_back_to_the_defaults(monkeypatch, raw, reason):
    from airflow_provider_daily.errors import DailyConfigError

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_INVITATIONS", raw)
    with pytest.raises(DailyConfigError, match=reason) as info:
        InvitationSettings.load()
    assert "daily_invitations" in str(info.value)


def test_invalid_settings_in_the_variable_name_the_variable(monkeypatch):
    from airflow_provider_daily.errors import DailyConfigError

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"host_linkz": True}))
    with pytest.raises(DailyConfigError, match="daily_invitations.*host_linkz"):
        InvitationSettings.load()
