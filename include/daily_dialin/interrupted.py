"""Fail a task but keep what it did: the one protocol for "interrupted with a partial result".

A step that talks to Daily can be stopped part-way (an outage outlasting its deadline, a refused
key, any surprise) after it has already made or deleted rooms and written them back. Its task must
fail - the error's type still decides whether Airflow retries - and the next task (the summary,
the verdict) must still see what was done. So a step raises :class:`Interrupted` carrying its
typed ``result`` and the ``cause``; the task body runs the step through :func:`keep_partial`,
which pushes the partial result as the task's return value and re-raises the cause. The wiring in
``dags/`` stays wiring: one call, no ``try``.

May import: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar


class ToXcom(Protocol):
    """A typed hand-over that knows its small, JSON-able XCom form."""

    def to_xcom(self) -> Any: ...


R = TypeVar("R", bound=ToXcom)


class Interrupted(Exception):
    """A step stopped part-way: ``result`` is what it did (already written back), ``cause`` why
    it stopped - the error its task fails with."""

    def __init__(self, *, result: ToXcom, cause: BaseException, what: str = "step") -> None:
        super().__init__(f"{what} interrupted: {type(cause).__name__}: {cause}")
        self.result = result
        self.cause = cause


def keep_partial(step: Callable[[], R], *, push: Callable[[str, Any], None]) -> Any:
    """Run ``step`` and return its result's XCom form; when it is :class:`Interrupted`, push the
    partial result as the task's return value (``push("return_value", ...)``) and raise the cause,
    so downstream tasks that run on failure still read what was done."""
    try:
        return step().to_xcom()
    except Interrupted as interrupted:
        push("return_value", interrupted.result.to_xcom())
        raise interrupted.cause from interrupted
