"""Errors of the dial-in application (provisioning, invitations, reconcile), on top of the provider's.

* :class:`InvalidRunParams` - a run's params describe no usable window: fails the run at once.
* :class:`BadMeetingRow` - one row that cannot become a room; recorded in its ``last_error``,
  never raised out of a task.
* :class:`ProvisioningFailed` - the run's verdict, raised by ``verify`` after everything was written.

May import: the provider's :mod:`airflow_provider_daily.errors` only.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_daily.errors import DailyConfigError, DailyError

__all__ = ["BadMeetingRow", "DailyConfigError", "InvalidRunParams", "ProvisioningFailed"]


class InvalidRunParams(DailyConfigError):
    """A run's params do not describe a usable window (end before start, past the 365-day limit,
    an unknown mode). Fails the run at once, without retries."""


class BadMeetingRow(ValueError):
    """A row that cannot be provisioned; the message is written to its ``last_error``.

    Counts as an attempt of that meeting: the row itself must change before it can succeed."""

    def __init__(self, meeting_id: str, reason: str) -> None:
        self.meeting_id = meeting_id
        self.reason = reason
        super().__init__(f"meeting {meeting_id!r}: {reason}")


class ProvisioningFailed(DailyError, AirflowFailException):
    """The run's verdict: some meetings are left without a room. Their reasons are in the
    summary and in each row's ``last_error``; everything done was written back first."""
