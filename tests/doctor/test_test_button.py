"""The Daily connection's Test button (``DailyHook.test_connection``): key, domain and the numbers
on the PIN flow, saying which part failed."""

from __future__ import annotations

from airflow_provider_daily.hooks.daily import DailyHook
from tests.support.daily import PIN_NUMBER, SPARE_NUMBER, daily_connection_uri


def test_reports_key_domain_and_numbers(hook):
    ok, message = hook.test_connection()
    assert ok, message
    assert "key: ok, domain 'acme'" in message and f"numbers: {PIN_NUMBER} on the PIN flow" in message


def test_says_the_key_failed(daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, key="other-domain"))
    ok, message = DailyHook().test_connection()
    assert not ok and message.startswith("key: ") and "authentication-error" in message
    assert "other-domain" not in message


def test_says_no_number_is_on_the_pin_flow(hook):
    for config in list(hook.iter_dialin_configs()):
        hook.delete_dialin_config(config.id)
    ok, message = hook.test_connection()
    assert not ok and "key: ok" in message and "numbers: no number is on the PIN flow" in message


def test_says_the_fallback_number_is_not_on_the_pin_flow(daily_conn, monkeypatch):
    uri = daily_connection_uri(daily_conn.base_url, default_dialin_number=SPARE_NUMBER)
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", uri)
    ok, message = DailyHook().test_connection()
    assert not ok and f"the fallback default_dialin_number {SPARE_NUMBER} is not on the PIN flow" in message
