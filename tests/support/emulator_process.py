"""The Daily emulator in a process of its own (``python -m daily_emulator --port 0``), for tests
that move the test process's clock in-process (``time-machine``): the emulator keeps its own
wall clock, moved only through its admin API (``/_emulator/clock``), so the two clocks are set
together on purpose and never by accident.

May import: the standard library, :mod:`daily_emulator` (its admin client and settings),
:mod:`tests.support.daily`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from daily_emulator.admin_client import AdminClient
from tests.support.daily import emulator_settings

__all__ = ["EmulatorProcess"]

STARTUP_SECONDS = 60.0
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/v1)")


class EmulatorProcess:
    """``with EmulatorProcess() as emu: emu.base_url, emu.admin, emu.set_clock(unix_seconds)``.

    The emulator has the test domain's settings (:func:`tests.support.daily.emulator_settings`);
    its output goes to a log file in a temporary folder (``log_path``)."""

    def __init__(self, *, workdir: Path | None = None) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="daily-emulator-"))
        self.log_path = self.workdir / "emulator.log"
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._admin: AdminClient | None = None

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            raise RuntimeError("the emulator process is not running")
        return self._admin

    def start(self) -> EmulatorProcess:
        config = self.workdir / "emulator.json"
        config.write_text(json.dumps(emulator_settings().model_dump(mode="json")), encoding="utf-8")
        argv = [sys.executable, "-m", "daily_emulator", "--config", str(config), "--host", "127.0.0.1", "--port", "0"]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if not line and self._proc.poll() is not None:
                break
            match = _LISTENING.search(line)
            if match:
                self.base_url = match.group(1)
                self._admin = AdminClient(url=self.base_url.removesuffix("/v1"), timeout=30)
                return self
        self.stop()
        raise RuntimeError(f"the Daily emulator did not start (see {self.log_path})")

    def clock(self) -> float:
        """The emulator's now (unix seconds)."""
        return float(self.admin.advance_clock(0)["now"])

    def set_clock(self, unix_seconds: float) -> float:
        """Move the emulator's clock (forward or back) so that it reads ``unix_seconds`` now; its
        own wall clock keeps ticking from there. Returns the offset it now runs at."""
        return float(self.admin.advance_clock(unix_seconds - self.clock())["offset"])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
