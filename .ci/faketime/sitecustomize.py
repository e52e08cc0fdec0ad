"""Loaded by every Python process of the date matrix in ``.ci/test`` (which puts this folder on
``PYTHONPATH`` and runs the tests under Debian's ``faketime`` with ``FAKETIME_DONT_FAKE_MONOTONIC=1``).

With the monotonic clock left real (threads' timed waits hang when it is faked), libfaketime 0.9.10
still shifts the absolute deadline ``time.sleep`` passes to ``clock_nanosleep`` on that clock, and
the call fails with ``EINVAL``. Here ``time.sleep`` waits with ``select``'s relative timeout instead,
which libfaketime leaves alone. Does nothing outside faketime. Imports only the standard library.
"""

from __future__ import annotations

import os
import select
import time


def _sleep(seconds: float) -> None:
    """``time.sleep`` on the real monotonic clock, in ``select`` waits."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


if os.environ.get("FAKETIME") and "faketime" in os.environ.get("LD_PRELOAD", ""):
    time.sleep = _sleep
