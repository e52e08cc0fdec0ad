"""Operators for Daily dial-in: create a PIN dial-in room, put a number on the PIN flow, delete a room.

Each one validates its input before any API call (room specs and names through the hook, which
checks them once, at its boundary), is idempotent (a retried task converges on the
same state instead of duplicating it), and keeps PINs out of logs and XCom unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import BaseOperator
from pydantic import TypeAdapter, ValidationError

from airflow_provider_daily.errors import DailyConflictError, DailyValidationError
from airflow_provider_daily.links import XCOM_ROOM_URL, DailyRoomLink
from airflow_provider_daily.models import (
    DialinConfig,
    DialinProperties,
    DialinRoomNumber,
    RoomCreate,
    RoomProperties,
    dial_string,
    normalize_phone_number,
)
from airflow_provider_daily.text import clean_text

if TYPE_CHECKING:  # the hook (and the HTTP provider under it) loads when a task runs, not when a DAG parses
    from airflow.sdk import Context

    from airflow_provider_daily.hooks.daily import DailyHook

PIN_FLOW = "pin_dialin"
DEFAULT_CONN_ID = "daily_default"
# a templated flag renders to text: pydantic's boolean parser reads "true"/"false", "1"/"0", "yes"/"no",
# "on"/"off" (any case) and refuses anything else, instead of reading a typo as False
_FLAG = TypeAdapter(bool)


def parse_flag(value: Any, field: str) -> bool:
    """A boolean parameter, possibly rendered from a template; raises :class:`DailyValidationError`."""
    try:
        return _FLAG.validate_python(value.strip() if isinstance(value, str) else value)
    except ValidationError:
        raise DailyValidationError(f"{field} must be true or false, not {value!r}") from None


def _to_unix(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise DailyValidationError(f"{field} must be a time, not a boolean")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        return int(value.timestamp())
    try:
        return int(pendulum.parse(str(value), tz="UTC").timestamp())
    except Exception:
        raise DailyValidationError(f"{field}: {value!r} is not unix seconds or an ISO-8601 time") from None


class _DailyOperator(BaseOperator):
    """What every Daily operator shares: the connection id (templated, so a DAG can pick the Daily
    account per run, e.g. ``"{{ params.daily_conn_id }}"``) and the hook built from it."""

    template_fields: Sequence[str] = ("daily_conn_id",)

    def __init__(self, *, daily_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.daily_conn_id = daily_conn_id

    @cached_property
    def hook(self) -> DailyHook:
        from airflow_provider_daily.hooks.daily import DailyHook

        return DailyHook(daily_conn_id=self.daily_conn_id)


class DailyCreateDialinRoomOperator(_DailyOperator):
    """Create (or reuse) a Daily room with PIN dial-in.

    Idempotent by ``room_name``: a retry, or a second run, reuses the room and its PIN (and
    updates settings that drifted). Returns ``room_name``, ``room_url``, ``dialin_number`` and
    ``outcome`` (created/reused/updated). The PIN and the dial string are returned only with
    ``return_pin=True``, since return values are stored in XCom.

    :param room_name: ``[A-Za-z0-9_-]``, 1-128 characters; derive it from your meeting id.
    :param exp: when the room expires (unix seconds, datetime or ISO-8601); in the future and
        less than 365 days away, as Daily requires for dial-in rooms.
    :param display_name: name shown for phone participants; cleaned by the one text rule
        (:func:`~airflow_provider_daily.text.clean_text`: control and format characters such as
        bidi overrides and zero-width spaces removed, whitespace collapsed); blank: Daily's default.
    :param wait_for_meeting_start: callers hear hold music until the meeting starts.
    :param room_numbers: purchased numbers on the PIN flow to use (E.164); default: the domain's.
    :param eject_at_room_exp: eject participants at ``exp`` (recommended with owner tokens).
    :param nbf: the room opens at this time (optional).
    :param privacy: ``public`` or ``private`` (optional).
    :param extra_properties: other room properties, passed through unchanged.
    """

    template_fields: Sequence[str] = (
        *_DailyOperator.template_fields,
        "room_name",
        "exp",
        "nbf",
        "display_name",
        "room_numbers",
        "privacy",
        "extra_properties",
    )
    operator_extra_links = (DailyRoomLink(),)
    ui_color = "#1bebb9"

    def __init__(
        self,
        *,
        room_name: str,
        exp: int | datetime | str,
        display_name: str | None = None,
        wait_for_meeting_start: bool = True,
        room_numbers: list[str] | None = None,
        eject_at_room_exp: bool = True,
        nbf: int | datetime | str | None = None,
        privacy: str | None = None,
        extra_properties: dict[str, Any] | None = None,
        return_pin: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.room_name = room_name
        self.exp = exp
        self.display_name = display_name
        self.wait_for_meeting_start = wait_for_meeting_start
        self.room_numbers = room_numbers
        self.eject_at_room_exp = eject_at_room_exp
        self.nbf = nbf
        self.privacy = privacy
        self.extra_properties = extra_properties
        self.return_pin = return_pin

    def build_spec(self) -> RoomCreate:
        """The room request; raises :class:`DailyValidationError` for a malformed parameter. The
        spec's own rules (name, ``exp`` within 365 days) are checked by the hook, before any call."""
        if self.privacy not in (None, "public", "private"):
            raise DailyValidationError(f"privacy must be 'public' or 'private', not {self.privacy!r}")
        try:
            numbers = [DialinRoomNumber(phone_number=n) for n in (self.room_numbers or [])] or None
        except ValueError as exc:
            raise DailyValidationError(f"room_numbers: {exc}") from None
        props = RoomProperties(
            **{
                **(self.extra_properties or {}),
                "exp": _to_unix(self.exp, "exp"),
                "nbf": _to_unix(self.nbf, "nbf"),
                "eject_at_room_exp": self.eject_at_room_exp,
                "dialin": DialinProperties(
                    display_name=clean_text(self.display_name) or None,
                    wait_for_meeting_start=self.wait_for_meeting_start,
                    room_numbers=numbers,
                ),
            }
        )
        return RoomCreate(name=self.room_name, privacy=self.privacy, properties=props)

    def execute(self, context: Context) -> dict[str, Any]:
        spec = self.build_spec()
        ensured = self.hook.ensure_room(spec)
        room = ensured.room
        number = room.dialin_number(fallback=self.hook.settings.default_dialin_number)
        ti = context.get("ti") if context else None
        if ti is not None:
            ti.xcom_push(key=XCOM_ROOM_URL, value=room.url)
        self.log.info("Room %s %s: %s (dial-in number %s)", room.name, ensured.outcome, room.url, number)
        result: dict[str, Any] = {
            "room_name": room.name,
            "room_url": room.url,
            "dialin_number": number,
            "outcome": ensured.outcome,
        }
        if self.return_pin and room.pin and number:
            result["pin"] = room.pin
            result["dial_string"] = dial_string(number, room.pin)
        return result


class DailyAssignPinDialinNumberOperator(_DailyOperator):
    """Put a purchased phone number on the PIN dial-in flow (``/domain-dialin-config``).

    Looks first, so it is idempotent: already on the PIN flow -> nothing to do (or the prefix
    and greeting are updated if they differ); on the pinless flow -> a clear error unless
    ``move=True``, which deletes that config and creates the PIN one; not a purchased number of
    the domain -> a clear error. Returns ``{"config_id", "phone_number", "action"}``.

    :param move: a flag, or its text once templated (:func:`parse_flag`: ``true``/``false``,
        ``yes``/``no``, ``1``/``0``, ``on``/``off``); anything else fails the task before any call.
    """

    template_fields: Sequence[str] = (
        *_DailyOperator.template_fields,
        "phone_number",
        "name_prefix",
        "ivr_greeting",
        "move",
    )

    def __init__(
        self,
        *,
        phone_number: str,
        name_prefix: str | None = None,
        ivr_greeting: str | None = None,
        move: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.phone_number = phone_number
        self.name_prefix = name_prefix
        self.ivr_greeting = ivr_greeting
        self.move = move

    def _body(self, number: str) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PIN_FLOW, "phone_number": number}
        if self.name_prefix:
            body["name_prefix"] = self.name_prefix
        if self.ivr_greeting:
            body["ivr_greeting"] = {"message": self.ivr_greeting}
        return body

    def _drift(self, config: DialinConfig) -> bool:
        have_greeting = config.config.ivr_greeting.message if config.config.ivr_greeting else None
        return bool(
            (self.name_prefix and config.config.name_prefix != self.name_prefix)
            or (self.ivr_greeting and have_greeting != self.ivr_greeting)
        )

    def execute(self, context: Context) -> dict[str, Any]:
        move = parse_flag(self.move, "move")  # before any call: a typo fails the task, it is no "no"
        number = self._purchased_number()
        action = "created"
        for config in [c for c in self.hook.iter_dialin_configs() if c.config.phone_number == number]:
            if config.type == PIN_FLOW:
                return self._keep(config, number)
            self._move_off(config, number, move=move)
            action = "moved"
        created = self.hook.create_dialin_config(self._body(number))
        self.log.info("%s put on the PIN flow (config %s): %s", number, created.id, action)
        return {"config_id": created.id, "phone_number": number, "action": action}

    def _purchased_number(self) -> str:
        """``phone_number`` in E.164, checked to be one of the domain's purchased numbers."""
        try:
            number = normalize_phone_number(self.phone_number)
        except ValueError as exc:
            raise DailyValidationError(f"phone_number: {exc}") from None
        purchased = {n.number for n in self.hook.iter_purchased_phone_numbers()}
        if number not in purchased:
            raise DailyValidationError(
                f"{number} is not a purchased number of this Daily domain; buy it first "
                f"(purchased: {', '.join(sorted(purchased)) or 'none'})"
            )
        return number

    def _keep(self, config: DialinConfig, number: str) -> dict[str, Any]:
        """The number is on the PIN flow already: update its prefix and greeting if they differ."""
        action = "unchanged"
        if self._drift(config):
            body = {k: v for k, v in self._body(number).items() if k != "type"}
            config = self.hook.update_dialin_config(config.id, body)
            action = "updated"
        self.log.info("%s is on the PIN flow (config %s): %s", number, config.id, action)
        return {"config_id": config.id, "phone_number": number, "action": action}

    def _move_off(self, config: DialinConfig, number: str, *, move: bool) -> None:
        """Delete the number's config of another flow, if ``move`` allows it."""
        if not move:
            raise DailyConflictError(
                f"{number} is on the {config.type} flow (config {config.id}); a number can be in one "
                "flow only. Set move=True to delete that config and put the number on the PIN flow."
            )
        self.log.warning("Moving %s from %s config %s to the PIN flow", number, config.type, config.id)
        self.hook.delete_dialin_config(config.id)


class DailyDeleteRoomOperator(_DailyOperator):
    """Delete a room; a room that is already gone (404) counts as done. Returns whether it existed."""

    template_fields: Sequence[str] = (*_DailyOperator.template_fields, "room_name")

    def __init__(self, *, room_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.room_name = room_name

    def execute(self, context: Context) -> bool:
        deleted = self.hook.delete_room(self.room_name, missing_ok=True)
        self.log.info("Room %s %s", self.room_name, "deleted" if deleted else "was already gone")
        return deleted
