"""Run one subprocess with a time limit, measuring its wall time, CPU time and peak memory (the larger of
``psutil`` samples of the process tree and the kernel's ``ru_maxrss`` from ``wait4``); on timeout its
process group gets SIGTERM, then SIGKILL. May import: the standard library and psutil.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

MIB = 1024 * 1024


@dataclass
class Measured:
    """What one subprocess did: exit code (None if it was killed at the time limit), wall seconds, memory,
    and the CPU seconds (user + system) of the child and the children it waited for (``None`` if killed)."""

    returncode: int | None
    seconds: float
    peak_rss_mib: float
    peak_tree_mib: float
    timed_out: bool
    cpu_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def _tree_rss(root: psutil.Process) -> tuple[float, float]:
    """(largest single RSS, sum of RSS) over ``root`` and its descendants, in bytes."""
    biggest = total = 0.0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            rss = proc.memory_info().rss
            biggest = max(biggest, rss)
            total += rss
    return biggest, total


def _stop_group(pid: int) -> tuple[int, float] | None:
    """SIGTERM, then SIGKILL, to the child's process group; returns the child's (wait status, maxrss bytes)."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                reaped, status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if reaped:
                return status, usage.ru_maxrss * 1024.0
            time.sleep(0.1)
    return None


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    log: Path,
    sample_seconds: float = 0.1,
    on_tick: Callable[[float], None] | None = None,
) -> Measured:
    """Run ``cmd`` (stdout and stderr appended to ``log``) for at most ``timeout`` seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        started = time.monotonic()
        proc = subprocess.Popen(
            list(cmd), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    root = psutil.Process(proc.pid)
    peak = peak_tree = maxrss = 0.0
    timed_out, status, cpu = False, None, None
    while not timed_out:
        pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, maxrss, cpu = wait_status, usage.ru_maxrss * 1024.0, usage.ru_utime + usage.ru_stime
            break
        biggest, total = _tree_rss(root)
        peak, peak_tree = max(peak, biggest), max(peak_tree, total)
        elapsed = time.monotonic() - started
        if on_tick is not None:
            on_tick(elapsed)
        timed_out = elapsed > timeout
        if timed_out:
            status, maxrss = _stop_group(proc.pid) or (None, maxrss)
        else:
            time.sleep(sample_seconds)
    seconds = time.monotonic() - started
    code = None if timed_out or status is None else os.waitstatus_to_exitcode(status)
    proc.returncode = -1 if code is None else code  # reaped here: keep Popen from waiting again
    return Measured(
        returncode=code,
        seconds=seconds,
        peak_rss_mib=max(peak, maxrss) / MIB,
        peak_tree_mib=max(peak_tree, maxrss) / MIB,
        timed_out=timed_out,
        cpu_s=cpu,
    )
