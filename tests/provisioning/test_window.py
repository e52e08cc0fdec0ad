"""The documented mapping from a run to the meetings it covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.errors import InvalidRunParams
from daily_dialin.provisioning.window import resolve_window

NOW = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)


def resolve(params=None, run_type="manual", logical_date=None):
    return resolve_window(
        params=params or {}, run_type=run_type, logical_date=logical_date, now=NOW, horizon_days=30, lead_days=30
    )


def test_scheduled_run_is_rolling_horizon():
    window = resolve(run_type="scheduled", logical_date=NOW)
    assert window.mode == "rolling"
    assert window.selection.starts_from is None
    assert window.selection.ends_after == NOW, "meetings already under way still get a room"
    assert window.selection.starts_before == NOW + timedelta(days=30)


def test_manual_run_with_logical_date_now_is_rolling():
    """``airflow dags test`` and ``dag.test()`` set logical_date = now on manual runs."""
    assert resolve(logical_date=NOW).mode == "rolling"


def test_backfill_run_covers_day_plus_lead():
    window = resolve(run_type="backfill", logical_date=datetime(2026, 11, 14, tzinfo=UTC))
    assert window.mode == "calendar_day"
    assert window.selection.starts_from == datetime(2026, 12, 14, tzinfo=UTC)
    assert window.selection.starts_before == datetime(2026, 12, 15, tzinfo=UTC)


def test_lead_days_is_a_setting():
    window = resolve_window(
        params={},
        run_type="backfill",
        logical_date=datetime(2026, 11, 1, 6, tzinfo=UTC),
        now=NOW,
        horizon_days=30,
        lead_days=45,
    )
    assert window.selection.starts_from == datetime(2026, 12, 16, tzinfo=UTC)


def test_calendar_day_mode_on_a_manual_run():
    window = resolve({"mode": "calendar_day"}, logical_date=datetime(2026, 11, 20, 23, 59, tzinfo=UTC))
    assert window.selection.starts_from == datetime(2026, 12, 20, tzinfo=UTC)
    with pytest.raises(InvalidRunParams, match="logical date"):
        resolve({"mode": "calendar_day"})


def test_manual_window_is_inclusive_utc_days():
    window = resolve({"window_start": "2026-12-14", "window_end": "2026-12-16"}, run_type="backfill", logical_date=NOW)
    assert window.mode == "manual", "an explicit window wins over the run's own mapping"
    assert window.selection.starts_from == datetime(2026, 12, 14, tzinfo=UTC)
    assert window.selection.starts_before == datetime(2026, 12, 17, tzinfo=UTC)


def test_window_start_alone_spans_the_horizon():
    window = resolve({"window_start": "2026-12-01"})
    assert window.selection.starts_before == datetime(2026, 12, 31, tzinfo=UTC)


def test_meeting_ids_alone_and_flags():
    window = resolve({"meeting_ids": "M1, M2 M1", "dry_run": True, "force": True})
    assert window.selection.meeting_ids == ("M1", "M2")
    assert window.selection.starts_before is None
    assert window.dry_run
    assert window.selection.force
    assert "dry run" in window.describe()


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"window_start": "2026-12-16", "window_end": "2026-12-14"}, "before window_start"),
        ({"window_start": "2026-12-01", "window_end": "2027-12-01"}, "365 days"),
        ({"window_start": "next tuesday"}, "YYYY-MM-DD"),
        ({"mode": "sometimes"}, "mode must be"),
    ],
)
def test_bad_params_are_refused_with_the_reason(params, reason):
    with pytest.raises(InvalidRunParams, match=reason):
        resolve(params)
