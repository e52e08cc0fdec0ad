"""Settings of the calls loop: the Airflow Variable ``daily_calls`` (JSON), read at run time.

Which meetings table, meetings connection, Daily connection and room prefix are used is not
repeated here: that comes from the provisioning settings (:meth:`ProvisioningConfig.load`), so the
receiver, the calls DAG and provisioning always agree on the table and on which rooms are ours.

**Figure columns** (written back into the meetings table, per meeting): ``phone_callers``,
``phone_minutes``, ``first_dialin_at``, ``last_dialin_error``, ``actual_end_at``. Each is optional:
left at its default name, it is written where the table has that column and skipped where it has
not (add it with ``ALTER TABLE``); mapped to another name in ``figure_columns``, the column must
exist (a run fails fast, saying what to add) - the rule the meetings table's ``series_id`` follows.

May import: pydantic and ``daily_dialin.provisioning.config`` (the shared Variable reading and
validation).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from daily_dialin.provisioning.config import (
    check_column_map,
    check_identifier,
    load_json_variable,
    validated_settings,
)

__all__ = ["DEFAULT_EVENT_TYPES", "FIGURES", "VARIABLE_KEY", "CallsSettings"]

VARIABLE_KEY = "daily_calls"
# logical figure -> what it holds (docs/calls.md renders nothing from this; keep both in step)
FIGURES: dict[str, str] = {
    "phone_callers": "phone sessions that connected (a wrong PIN never connects)",
    "phone_minutes": "their summed minutes (finished calls)",
    "first_dialin_at": "when the first caller connected (UTC)",
    "last_dialin_error": "the latest dialin.error / dialin.warning message",
    "actual_end_at": "when Daily ended the meeting (meeting.ended)",
    "participants": "attendances, web and phone together (participant.joined; no phone flag [doc])",
    "participant_minutes": "their summed minutes (finished attendances)",
}
DEFAULT_EVENT_TYPES: tuple[str, ...] = (
    "dialin.connected",
    "dialin.stopped",
    "dialin.warning",
    "dialin.error",
    "meeting.started",
    "meeting.ended",
    "participant.joined",
    "participant.left",
)


class CallsSettings(BaseModel):
    """Everything the calls loop needs besides the provisioning settings."""

    model_config = ConfigDict(extra="forbid")

    events_table: str = Field(default="daily_call_events", description="Stored webhook events (created if missing).")
    calls_table: str = Field(default="daily_calls", description="One row per phone call (created if missing).")
    figure_columns: dict[str, str] = Field(
        default_factory=dict, description="figure -> meetings-table column, for names other than the figure's own."
    )
    alert_on_warnings: bool = Field(default=True, description="dialin.warning fails the alert task like dialin.error.")
    webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="The public URL Daily posts to (the API server's /daily/webhooks); used by the bootstrap.",
    )
    event_types: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENT_TYPES), min_length=1)
    retry_type: Literal["circuit-breaker", "exponential"] = Field(
        default="exponential",
        description="Daily's retry mode: exponential (5 tries over ~15 min, then dropped) or circuit-breaker "
        "(3 failures mark the hook FAILED until the bootstrap re-arms it).",
    )

    calls_source: Literal["webhooks", "meetings_api"] = Field(
        default="webhooks",
        description="webhooks: Daily posts events to the receiver (needs a public URL). meetings_api: the calls "
        "DAG's scheduled runs read ended meetings from GET /meetings instead (later, fewer figures; docs/calls.md).",
    )
    meetings_api_lookback_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="meetings_api: how far before the newest meeting end already read to list meetings again "
        "(the longest meeting that is still read whole).",
    )

    events_retention_days: float = Field(
        default=7.0,
        ge=2,
        le=3660,
        description="Processed events are deleted this long after they arrived, a whole Daily meeting at a time "
        "(docs/calls.md). At least 2 days: replay protection needs an id for Daily's retry window (~15 min) plus "
        "the 5-minute timestamp tolerance, and revoking needs meeting.ended for revoke_after_minutes + "
        "exp_grace_minutes + 1 day.",
    )

    @field_validator("events_table", "calls_table")
    @classmethod
    def _table(cls, value: str) -> str:
        return check_identifier(value, allow_schema=True)

    @field_validator("figure_columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return check_column_map(value, known=FIGURES, what="figures")

    def figure_map(self) -> dict[str, str]:
        """Figure -> physical column (its own name unless mapped)."""
        return {**{name: name for name in FIGURES}, **self.figure_columns}

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> CallsSettings:
        """Defaults <- Variable ``daily_calls`` <- ``overrides``; a malformed Variable raises
        :class:`DailyConfigError` naming it, never falling back to the defaults."""
        values = load_json_variable(VARIABLE_KEY)
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return validated_settings(cls, values, source=f"Variable {VARIABLE_KEY!r}")
