"""The doctor's results: one :class:`Check` per finding, the exit code, a table for people, JSON.

A check is *ok*, *warn*, *fail* or *skip* (not configured, or not checkable from here), with one
line saying why and one saying what to do. Everything printed passes through :func:`scrub`, which
blanks the secrets the doctor was given and anything shaped like a PIN (11 digits), so no API key,
PIN or caller number reaches a terminal, a log or XCom even if a database or Daily error quotes one.

May import: the standard library and ``tabulate`` (lazily).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

__all__ = ["Check", "exit_code", "render_json", "render_text", "scrub"]

STATUSES = ("ok", "warn", "fail", "skip")
_EXIT = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}
# a PIN is 11 digits [doc]; a phone number is + and up to 15 digits (E.164): an 11-digit run that is
# not part of a longer number or a + number is blanked
_PIN_LIKE = re.compile(r"(?<![+\d])\d{11}(?!\d)")
_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


@dataclass(frozen=True)
class Check:
    """One finding: ``area`` (daily, airflow, table), ``name``, ``status``, ``why``, ``fix``."""

    area: str
    name: str
    status: str
    why: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")


def ok(area: str, name: str, why: str) -> Check:
    return Check(area=area, name=name, status="ok", why=why)


def warn(area: str, name: str, why: str, fix: str) -> Check:
    return Check(area=area, name=name, status="warn", why=why, fix=fix)


def fail(area: str, name: str, why: str, fix: str) -> Check:
    return Check(area=area, name=name, status="fail", why=why, fix=fix)


def skip(area: str, name: str, why: str, fix: str = "") -> Check:
    return Check(area=area, name=name, status="skip", why=why, fix=fix)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets and without PIN-shaped digit runs."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _PIN_LIKE.sub("<11 digits>", text)


def scrubbed(checks: Sequence[Check], secrets: Iterable[str] = ()) -> list[Check]:
    hidden = list(secrets)
    return [
        Check(area=c.area, name=c.name, status=c.status, why=scrub(c.why, hidden), fix=scrub(c.fix, hidden))
        for c in checks
    ]


def exit_code(checks: Sequence[Check]) -> int:
    """0: all ok (or skipped), 1: a warning, 2: a failure."""
    return max((_EXIT[c.status] for c in checks), default=0)


def summary(checks: Sequence[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in STATUSES}
    verdict = {0: "all ok", 1: "warnings", 2: "failures"}[exit_code(checks)]
    return f"{verdict}: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])


def render_text(checks: Sequence[Check]) -> str:
    """A table for people (``tabulate``), then one summary line."""
    from tabulate import tabulate

    rows = [(_MARKS[c.status], c.area, c.name, c.why + (f"\n-> {c.fix}" if c.fix else "")) for c in checks]
    table = tabulate(
        rows, headers=("", "area", "check", "why / what to do"), tablefmt="simple", maxcolwidths=[None, None, None, 90]
    )
    return f"{table}\n\n{summary(checks)}"


def render_json(checks: Sequence[Check]) -> str:
    """``{"exit_code", "summary", "checks": [...]}`` for machines."""
    body = {"exit_code": exit_code(checks), "summary": summary(checks), "checks": [asdict(c) for c in checks]}
    return json.dumps(body, indent=2)
