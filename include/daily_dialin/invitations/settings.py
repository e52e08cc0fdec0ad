"""Settings of the invitations DAG: the Airflow Variable ``daily_invitations`` (JSON), read at run time.

Which meetings table and Daily connection to use is not repeated here: that comes from the
provisioning settings (:meth:`ProvisioningConfig.load`), so both DAGs always look at the same
table. Everything specific to invitations is in :class:`InvitationSettings`.

May import: the provider's models and ``daily_dialin.provisioning.config`` (the shared Variable
reading and validation).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airflow_provider_daily.models import US_GLOBAL_DIALIN_NUMBER, PhoneNumber
from daily_dialin.provisioning.config import check_identifier, load_json_variable, validated_settings

VARIABLE_KEY = "daily_invitations"
CA_GLOBAL_DIALIN_NUMBER = "+12268078039"
DEFAULT_FOLDER = "daily_invitations"


class GlobalNumber(BaseModel):
    """A shared Daily number every PIN works on, with the label shown next to it in invites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: PhoneNumber
    label: str = Field(min_length=1, max_length=60)


DEFAULT_GLOBAL_NUMBERS: tuple[GlobalNumber, ...] = (
    GlobalNumber(number=US_GLOBAL_DIALIN_NUMBER, label="United States"),
    GlobalNumber(number=CA_GLOBAL_DIALIN_NUMBER, label="Canada"),
)


class InvitationSettings(BaseModel):
    """Everything an invitations run needs besides the meetings table.

    :param base_path: where the files go, any ``ObjectStoragePath`` URL (``file:///…``,
        ``s3://bucket/prefix``, ``gs://…``) or a local folder; default
        ``<AIRFLOW_HOME>/daily_invitations``.
    :param storage_conn_id: the connection ``ObjectStoragePath`` uses for a remote base.
    :param global_numbers: Daily's shared numbers listed after the meeting's own number
        (strings or ``{"number", "label"}``); ``[]`` lists only the meeting's own.
    :param host_links: write a host file per meeting whose link carries an owner token.
    :param token_method: ``self_signed`` (a JWT signed with the API key, no API call) or ``api``
        (``POST /meeting-tokens``, one call per host file).
    :param store_host_tokens: also write each host file's token to the meetings table, column
        ``host_token_column`` (off by default: a token is a secret like the PIN; the column must
        exist, e.g. ``ALTER TABLE daily_meetings ADD COLUMN host_token TEXT``). Applies to host
        files written from then on; a cancelled meeting's token is cleared.
    :param host_token_column: that column's name.
    :param organizer_email: ``ORGANIZER`` of every event (iTIP wants one to send the files by
        mail); left out when empty.
    :param organizer_name: the organizer's display name (``CN``).
    :param uid_domain: right-hand side of each event's ``UID``; default the room URL's host.
    """

    model_config = ConfigDict(extra="forbid")

    base_path: str | None = None
    storage_conn_id: str | None = None
    global_numbers: list[GlobalNumber] = Field(default_factory=lambda: list(DEFAULT_GLOBAL_NUMBERS))
    host_links: bool = True
    token_method: Literal["self_signed", "api"] = "self_signed"
    store_host_tokens: bool = False
    host_token_column: str = "host_token"
    organizer_email: str | None = Field(default=None, pattern=r"^[^@\s:]+@[^@\s]+$")
    organizer_name: str | None = Field(default=None, max_length=100)
    uid_domain: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]{1,200}$")

    @field_validator("host_token_column")
    @classmethod
    def _column(cls, value: str) -> str:
        return check_identifier(value)

    @model_validator(mode="after")
    def _tokens_need_host_links(self) -> InvitationSettings:
        if self.store_host_tokens and not self.host_links:
            raise ValueError("store_host_tokens needs host_links: tokens are minted only for host files")
        return self

    @field_validator("global_numbers", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [{"number": item, "label": str(item)} if isinstance(item, str | int) else item for item in value]

    def storage_url(self) -> str:
        """The base as a URL: a plain local path becomes ``file://<absolute path>``."""
        base = self.base_path
        if not base:
            from airflow.configuration import AIRFLOW_HOME

            base = os.path.join(AIRFLOW_HOME, DEFAULT_FOLDER)
        if "://" not in base:
            base = "file://" + os.path.abspath(os.path.expanduser(base))
        return base.rstrip("/")

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> InvitationSettings:
        """Defaults <- Variable ``daily_invitations`` <- ``overrides``.

        A malformed Variable (not JSON, not an object, an unknown or invalid setting) fails the
        run with :class:`DailyConfigError` naming it, never silently falling back to the defaults."""
        values = load_json_variable(VARIABLE_KEY)
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return validated_settings(cls, values, source=f"Variable {VARIABLE_KEY!r}")
