"""Client settings read from a ``daily`` connection's extras, with sane defaults.

Every key can be set in the connection form (declared in ``get_provider_info``) or in the extra
JSON. Older Airflow UIs stored form fields as ``extra__daily__<key>``; both spellings are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_provider_daily.models import US_GLOBAL_DIALIN_NUMBER, normalize_phone_number
from airflow_provider_daily.pacing import DEFAULT_SAFETY, parse_rate_limits


class DailyClientSettings(BaseModel):
    """Retry, timeout and pacing settings of a :class:`DailyHook`."""

    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for one answer.")
    max_attempts: int = Field(default=6, ge=1, le=50, description="Tries per request, first included.")
    retry_min_wait: float = Field(default=0.5, ge=0, description="First backoff, seconds.")
    retry_max_wait: float = Field(default=30.0, gt=0, description="Longest single backoff, seconds.")
    retry_deadline: float = Field(default=180.0, gt=0, description="Give up retrying after this long.")
    rate_limits: dict[str, list[tuple[int, float]]] = Field(
        default_factory=lambda: parse_rate_limits(None),
        description="Daily's rate limits per endpoint class: [[requests, per seconds], ...] for each window.",
    )
    rate_limit_safety: float = Field(
        default=DEFAULT_SAFETY, gt=0, le=1, description="Fraction (0-1] of those limits the client paces itself to."
    )
    default_dialin_number: str = Field(
        default=US_GLOBAL_DIALIN_NUMBER,
        description="Number for the dial string when Daily reports none for a room.",
    )

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _limits(cls, value: Any) -> Any:
        return parse_rate_limits(value) if isinstance(value, Mapping) or value is None else value

    @field_validator("default_dialin_number", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return normalize_phone_number(value)

    @classmethod
    def extra_keys(cls) -> frozenset[str]:
        return frozenset(cls.model_fields)

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> DailyClientSettings:
        values: dict[str, Any] = {}
        for key in cls.model_fields:
            for spelling in (key, f"extra__daily__{key}"):
                value = extra.get(spelling)
                if value not in (None, ""):
                    values[key] = value
                    break
        return cls(**values)
