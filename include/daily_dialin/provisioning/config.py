"""Settings of the provisioning DAGs, validated once per run and handed to every chunk task.

Defaults suit the embedded demo; a deployment overrides any of them with the Airflow Variable
``daily_provisioning`` (a JSON object with the same keys), read at run time - never while the
DAG file is parsed.

May import: the provider's settings-level modules (``airflow_provider_daily.errors``, ``.models``,
``.rooms``) and pydantic - no other module of the application: every floor above reads these settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from airflow_provider_daily.errors import DailyConfigError
from airflow_provider_daily.models import BATCH_LIMIT
from airflow_provider_daily.rooms import MAX_DIALIN_LIFETIME_DAYS

VARIABLE_KEY = "daily_provisioning"
Settings = TypeVar("Settings", bound=BaseModel)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# How far ahead a run may look: a room's exp (the meeting's end plus up to 7 days of grace) must
# stay within Daily's 365 days, with room for multi-week meetings.
MAX_AHEAD_DAYS = MAX_DIALIN_LIFETIME_DAYS - 35

# the columns the user fills in, and those the DAG writes back (logical names)
SOURCE_COLUMNS: tuple[str, ...] = (
    "meeting_id",
    "title",
    "starts_at",
    "ends_at",
    "timezone",
    "dialin_display_name",
    "wait_for_meeting_start",
    "requested_phone_number",
    "status",
)
WRITTEN_COLUMNS: tuple[str, ...] = (
    "room_name",
    "room_url",
    "dialin_pin",
    "dialin_number",
    "dial_string",
    "provisioned_at",
    "room_exp",
    "room_fingerprint",
    "last_error",
    "attempts",
)
# source columns a table may lack: reflected, and without one the table works as before it existed.
# ``series_id``: the recurring series an occurrence belongs to (NULL or no column: a one-off meeting)
OPTIONAL_COLUMNS: tuple[str, ...] = ("series_id",)
# logical column -> default physical name
DEFAULT_COLUMNS: dict[str, str] = {name: name for name in (*SOURCE_COLUMNS, *WRITTEN_COLUMNS, *OPTIONAL_COLUMNS)}


def normalize_status(value: Any) -> str:
    """The one status rule: ``str(value).strip().casefold()``; ``None`` is ``""``. Here, on the
    settings' floor, because the settings validate their status lists with it; rows (and everyone
    else) import it from :mod:`daily_dialin.rows`. Its SQL mirror: ``LOWER(TRIM(status))``."""
    return "" if value is None else str(value).strip().casefold()


def check_identifier(value: str, *, allow_schema: bool = False) -> str:
    parts = value.split(".") if allow_schema else [value]
    if len(parts) > 2 or not all(IDENTIFIER.fullmatch(part) for part in parts):
        raise ValueError(f"{value!r} is not a plain SQL identifier (letters, digits, '_'; max 63)")
    return value


def check_column_map(value: dict[str, str], *, known: Collection[str], what: str) -> dict[str, str]:
    """A ``{logical name: physical column}`` map: known names only, plain identifiers only (the
    meetings table's ``columns`` and the calls settings' ``figure_columns`` alike)."""
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {sorted(known)}")
    for physical in value.values():
        check_identifier(physical)
    return value


class ProvisioningConfig(BaseModel):
    """Everything a provisioning run needs besides the run's own window."""

    model_config = ConfigDict(extra="forbid")

    daily_conn_id: str = "daily_default"
    meetings_conn_id: str = "daily_meetings_db"
    table: str = "daily_meetings"
    columns: dict[str, str] = Field(default_factory=dict, description="logical -> physical names")
    provisionable_statuses: list[str] = Field(
        default_factory=lambda: ["scheduled"],
        min_length=1,
        description="Statuses whose meetings get rooms (compared trimmed and case-insensitively).",
    )
    cancelled_statuses: list[str] = Field(
        default_factory=lambda: ["cancelled", "canceled"],
        description="Statuses whose provisioned rooms are deleted and PINs cleared.",
    )
    ignored_statuses: list[str] = Field(
        default_factory=lambda: ["draft", "tentative", "completed", "done", "archived"],
        description="Other known statuses: no room, no report. Any status in none of the lists is reported.",
    )
    room_name_prefix: str = Field(default="mtg", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    privacy: str | None = Field(default=None, pattern=r"^(public|private)$")
    exp_grace_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    nbf_lead_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    eject_at_room_exp: bool = True
    chunk_size: int = Field(
        default=5 * BATCH_LIMIT,
        ge=1,
        le=50_000,
        description="Meetings per mapped chunk task (one write-back transaction, one retry unit).",
    )
    batch_size: int = Field(default=BATCH_LIMIT, ge=1, le=BATCH_LIMIT)
    batch_concurrency: int = Field(
        default=5,
        ge=1,
        le=16,
        description="Calls one chunk keeps in flight (batches, or single creates with per_room) to overlap "
        "Daily's latency; the client's pacer keeps the rate limit however many are in flight.",
    )
    per_room: bool = Field(
        default=False,
        description="Create rooms with one POST /rooms each instead of POST /batch/rooms.",
    )
    horizon_days: int = Field(default=30, ge=1, le=MAX_AHEAD_DAYS)
    lead_days: int = Field(default=30, ge=0, le=MAX_AHEAD_DAYS)
    max_attempts: int = Field(
        default=5, ge=1, description="Failures of one meeting (its row, or Daily refusing its room) before giving up."
    )
    api_concurrency: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Chunk tasks calling Daily at once: the size of the pool, and each chunk's 1/n share "
        "of Daily's rate limit. The bootstrap sizes the pool from this one setting.",
    )
    chunk_deadline_seconds: float = Field(
        default=300,
        gt=0,
        le=6 * 3600,
        description="Total time one chunk task may spend waiting out Daily faults (retries included); "
        "then it writes back what it did and fails, and Airflow retries the task.",
    )
    delete_cancelled_rooms: bool = Field(
        default=True, description="Delete the room of a meeting cancelled after provisioning, and clear its PIN."
    )
    alert_within_minutes: int = Field(
        default=120,
        ge=0,
        le=7 * 24 * 60,
        description="Every run fails, naming them, while meetings starting within this many minutes have no "
        "room yet (0: no such alert). Meetings that started without ever having had a room are reported "
        "once, by the first run after their start.",
    )
    revoke_after_minutes: int | None = Field(
        default=15,
        ge=0,
        le=7 * 24 * 60,
        description="A one-off meeting's room is deleted (its PIN stops working) this many minutes after Daily "
        "reported meeting.ended and the scheduled end passed, once nobody is in it (the calls DAG, task "
        "revoke_ended; docs/calls.md). Series rooms are kept. null or 0: off (the PIN lives until the room's exp).",
    )
    live_exp_margin_minutes: int = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="A room's exp moved earlier (an end edited to earlier, a cancellation) to less than this "
        "many minutes from now is kept as it is while anyone is in the room; the meeting is retried on the next "
        "runs until the room is empty (docs/reconcile.md, live meetings).",
    )
    # -- deletions (daily_dialin.provisioning.deletions) -------------------------------------------
    max_deletions_without_approval: int = Field(
        default=25,
        ge=0,
        description="Deletions that would take the rooms deleted without approval within "
        "deletion_budget_window_hours past this (or past max_deletion_share_without_approval of the live "
        "rooms, whichever is smaller, but never fewer than 3) wait for a person in the Airflow UI (task "
        "approve_deletions of the DAG <dag_id>_deletions). 0: every deletion waits for approval.",
    )
    max_deletion_share_without_approval: float = Field(
        default=0.10,
        gt=0,
        le=1,
        description="The share of this deployment's live rooms one run may delete without approval.",
    )
    approval_timeout_minutes: int = Field(
        default=24 * 60,
        ge=1,
        le=30 * 24 * 60,
        description="How long a mass deletion waits for approval; then it counts as rejected: nothing is "
        "deleted and the approval DAG's run fails (a later run asks again).",
    )
    deletion_budget_window_hours: int = Field(
        default=24,
        ge=1,
        le=30 * 24,
        description="The rolling window the deletion limit counts over: rooms deleted without approval within "
        "this many hours add up, so runs that each stay under the limit still ask a person once their sum "
        "passes it.",
    )
    delete_orphans: bool = Field(
        default=True,
        description="Reconcile deletes rooms under room_name_prefix that no row names, after "
        "orphan_grace_minutes (false: it only reports them).",
    )
    orphan_grace_minutes: int = Field(
        default=60,
        ge=0,
        le=30 * 24 * 60,
        description="How long a room must have been seen without an owning row before reconcile deletes it.",
    )

    @property
    def rate_limit_share(self) -> float:
        return 1.0 / self.api_concurrency

    @field_validator("provisionable_statuses", "cancelled_statuses", "ignored_statuses")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(status for status in map(normalize_status, value) if status))

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return check_identifier(value, allow_schema=True)

    @model_validator(mode="after")
    def _disjoint(self) -> ProvisioningConfig:
        # after the model: a list left at its default (not validated as a field) is checked too
        overlap = set(self.cancelled_statuses) & set(self.provisionable_statuses)
        if overlap:
            raise ValueError(
                f"cancelled_statuses and provisionable_statuses share {sorted(overlap)}: a status is either "
                "provisionable (the meeting gets a room) or cancelled (its room is deleted), not both"
            )
        return self

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return check_column_map(value, known=DEFAULT_COLUMNS, what="logical columns")

    def column_map(self) -> dict[str, str]:
        return {**DEFAULT_COLUMNS, **self.columns}

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> ProvisioningConfig:
        """Defaults <- Variable ``daily_provisioning`` <- ``overrides`` (e.g. run params).

        A malformed Variable fails the run with :class:`DailyConfigError` saying what is wrong;
        it is never silently replaced by the defaults (``Variable.get(..., deserialize_json=True)``
        returns the default on malformed JSON, so the raw text is parsed here)."""
        values = load_json_variable(VARIABLE_KEY)
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.validated(values, source=f"Variable {VARIABLE_KEY!r}")

    @classmethod
    def validated(cls, values: dict[str, Any], *, source: str = "settings") -> ProvisioningConfig:
        return validated_settings(cls, values, source=source)


def load_json_variable(key: str) -> dict[str, Any]:
    """The Airflow Variable ``key`` as a JSON object; ``{}`` when it is not set (or empty).

    Malformed JSON, or JSON that is not an object, raises :class:`DailyConfigError` naming the
    Variable and the error: ``Variable.get(..., deserialize_json=True)`` would silently return
    the default instead, so the raw text is parsed here. Every settings Variable is read this way."""
    from airflow.sdk import Variable

    raw = Variable.get(key, default=None)
    if raw in (None, ""):
        return {}
    try:
        loaded = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise DailyConfigError(f"Variable {key!r} is not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise DailyConfigError(f"Variable {key!r} must be a JSON object, not {type(loaded).__name__}")
    return dict(loaded)


def validated_settings(model: type[Settings], values: dict[str, Any], *, source: str = "settings") -> Settings:
    """``model(**values)``, or :class:`DailyConfigError` naming ``source`` and every invalid setting."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors())
        raise DailyConfigError(f"{source} has invalid settings: {problems}") from None
