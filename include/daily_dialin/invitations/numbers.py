"""The dial-in numbers of one meeting: its own number first, then Daily's global numbers.

Every PIN works on the number its room reports and on Daily's shared (global) numbers, so an
invite lists them all, each with a one-tap string ``tel:+N,,PIN`` (``,,`` pauses until the call
connects, then the phone sends the PIN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_daily.models import dial_string, normalize_phone_number
from daily_dialin.invitations.settings import GlobalNumber

OWN_NUMBER_LABEL = "Dial-in"


@dataclass(frozen=True, kw_only=True)
class DialinNumber:
    """One number to call, E.164, with the label shown next to it."""

    number: str
    label: str

    @property
    def display(self) -> str:
        """``+1 209-503-8039`` for North American numbers, E.164 otherwise."""
        digits = self.number[1:]
        if len(digits) == 11 and digits.startswith("1"):
            return f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
        return self.number

    def one_tap(self, pin: str) -> str:
        """``tel:+12095038039,,12345678987``."""
        return dial_string(self.number, pin)


def dialin_numbers(own_number: str | None, global_numbers: Sequence[GlobalNumber]) -> tuple[DialinNumber, ...]:
    """The meeting's own number (labelled like the global number it may be), then every other
    global number, without duplicates."""
    labels = {g.number: g.label for g in global_numbers}
    numbers: list[DialinNumber] = []
    if own_number:
        own = normalize_phone_number(own_number)
        numbers.append(DialinNumber(number=own, label=labels.get(own, OWN_NUMBER_LABEL)))
    seen = {n.number for n in numbers}
    for item in global_numbers:
        if item.number not in seen:
            numbers.append(DialinNumber(number=item.number, label=item.label))
            seen.add(item.number)
    return tuple(numbers)
