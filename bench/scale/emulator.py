"""The benchmark's Daily emulator: one ``python -m daily_emulator`` process on loopback for the whole run,
with Daily's documented rate limits, +100 ms per request and +1 ms per room on ``POST /batch/rooms``;
reset between variants, what a variant did is the difference of two counter readings. May import: the
standard library and ``daily_emulator``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from daily_emulator.admin_client import AdminClient

API_KEY = "bench-scale-key"
PIN_NUMBER = "+12095550100"
LATENCY_MS = 100.0
BATCH_ROOM_LATENCY_MS = 1.0
BATCH_LIMIT = 1000  # rooms per POST /batch/rooms (Daily's documented maximum)


def documented_rate_limits() -> dict[str, list[dict[str, float]]]:
    """Daily's documented limits, as the emulator ships them."""
    from daily_emulator.settings import default_rate_limits

    return {cls: [w.model_dump() for w in windows] for cls, windows in default_rate_limits().items()}


def sustained_rate(limits: dict[str, list[dict[str, float]]], cls: str = "default") -> float:
    """Requests per second a client can keep up in the long run: the tightest window of the class."""
    return min(w["requests"] / w["per_seconds"] for w in limits[cls])


def settings(*, room_quota: int) -> dict[str, Any]:
    return {
        "api_keys": [API_KEY],
        "domain": "bench",
        "purchased_numbers": [PIN_NUMBER, "+12095550101"],
        "rate_limits": documented_rate_limits(),
        "latency_ms": LATENCY_MS,
        "batch_room_latency_ms": BATCH_ROOM_LATENCY_MS,
        "room_quota": room_quota,
        "seed": 0,
    }


def server_floor_seconds(n: int) -> float:
    """Sequential server time of the fewest calls that make N rooms: ceil(N/1000) batches, 1 ms a room."""
    return math.ceil(n / BATCH_LIMIT) * LATENCY_MS / 1000 + n * BATCH_ROOM_LATENCY_MS / 1000


def diff_counters(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What happened between two ``/_emulator/counters`` readings."""

    def sub(key: str) -> dict[str, int]:
        old, new = before.get(key, {}), after.get(key, {})
        return {k: new.get(k, 0) - old.get(k, 0) for k in sorted(set(old) | set(new)) if new.get(k, 0) != old.get(k, 0)}

    rooms = after.get("rooms_created", 0) - before.get("rooms_created", 0)
    return {**{key: sub(key) for key in ("requests", "rate_limited", "faults")}, "rooms_created": rooms}


def server_seconds(delta: dict[str, Any]) -> float:
    """The emulator's own latency summed over the requests of ``delta`` (approximate): 429s cost nothing;
    rooms made by batch are all rooms made minus successful ``POST /rooms``."""
    served = sum(delta["requests"].values()) - sum(delta["rate_limited"].values())
    single = delta["requests"].get("POST /rooms", 0) - delta["rate_limited"].get("POST /rooms", 0)
    batch_rooms = max(0, delta["rooms_created"] - single) if delta["requests"].get("POST /batch/rooms") else 0
    return served * LATENCY_MS / 1000 + batch_rooms * BATCH_ROOM_LATENCY_MS / 1000


class Emulator:
    """``with Emulator(workdir, room_quota=...) as emu: emu.base_url, emu.admin``."""

    def __init__(self, workdir: Path, *, room_quota: int, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = env
        self.config = settings(room_quota=room_quota)
        self.proc: subprocess.Popen | None = None
        self.base_url = ""
        self.admin: AdminClient | None = None

    def start(self) -> Emulator:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "emulator.json"
        config.write_text(json.dumps(self.config))
        log = (self.workdir / "emulator.log").open("ab")
        cmd = [sys.executable, "-m", "daily_emulator", "--config", str(config), "--host", "127.0.0.1", "--port", "0"]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True, env=self.env
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+/v1)", line)
            if match:
                self.base_url = match.group(1)
                self.admin = AdminClient(url=self.base_url.removesuffix("/v1"), timeout=60)
                return self
        self.stop()
        raise RuntimeError(f"the Daily emulator did not start (see {self.workdir / 'emulator.log'})")

    def counters(self) -> dict[str, Any]:
        assert self.admin is not None
        return self.admin.counters()

    def reset(self) -> None:
        assert self.admin is not None
        self.admin.reset()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self.admin is not None:
            with contextlib.suppress(Exception):
                self.admin.close()
        self.proc = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
