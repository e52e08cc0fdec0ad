"""Command line: ``python -m daily_emulator`` (console script ``daily-emulator``) serves the emulator."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daily_emulator.server import EmulatorServer
from daily_emulator.settings import EmulatorSettings

log = logging.getLogger("daily_emulator")

_FAULT_FLAGS = {
    "fault_rate_429": "rate_429",
    "fault_rate_500": "rate_500",
    "fault_rate_502": "rate_502",
    "fault_rate_503": "rate_503",
    "fault_rate_hang": "rate_hang",
    "fault_rate_reset": "rate_reset",
    "fault_rate_lost_create": "rate_lost_create",
    "fault_seed": "seed",
    "hang_seconds": "hang_seconds",
    "retry_after": "retry_after",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daily-emulator",
        description="Local emulator of Daily's REST API: domain configuration, rooms with PIN dial-in, batch rooms, "
        "meeting tokens, domain dial-in configs, purchased numbers; admin API under /_emulator.",
    )
    parser.add_argument("--config", type=Path, help="EmulatorSettings as JSON; flags below override it")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", action="append", dest="api_keys", help="accepted Bearer key (repeatable)")
    parser.add_argument("--domain")
    parser.add_argument("--domain-id", help="UUID in GET / and meeting tokens (default: derived from --domain)")
    parser.add_argument("--purchased-number", action="append", dest="purchased_numbers", help="E.164, repeatable")
    parser.add_argument(
        "--pin-dialin-number", action="append", dest="pin_dialin_numbers", help="number on the PIN flow"
    )
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--room-quota", type=int)
    parser.add_argument("--seed", type=int, help="seed for room ids, names and PINs")
    parser.add_argument("--no-rate-limits", action="store_true", help="disable rate limiting")
    parser.add_argument("--no-batch-pin", action="store_true", help="batch-created rooms get no PIN")
    parser.add_argument("--no-dialin-number", action="store_true", help="omit config.dialin_number")
    parser.add_argument(
        "--resend-dialin-new-pin",
        action="store_true",
        help="an update that contains properties.dialin gives the room a new PIN",
    )
    parser.add_argument("--fault-seed", type=int)
    parser.add_argument("--fault-rate-429", type=float)
    parser.add_argument("--fault-rate-5xx", type=float, help="split evenly over 500, 502 and 503")
    parser.add_argument("--fault-rate-500", type=float)
    parser.add_argument("--fault-rate-502", type=float)
    parser.add_argument("--fault-rate-503", type=float)
    parser.add_argument("--fault-rate-hang", type=float)
    parser.add_argument("--fault-rate-reset", type=float)
    parser.add_argument("--fault-rate-lost-create", type=float)
    parser.add_argument("--hang-seconds", type=float)
    parser.add_argument("--retry-after", type=int, help="Retry-After seconds on 429 responses")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--access-log", action="store_true")
    return parser


_PLAIN_OPTIONS = (
    "api_keys",
    "domain",
    "domain_id",
    "purchased_numbers",
    "pin_dialin_numbers",
    "state_file",
    "latency_ms",
    "room_quota",
    "seed",
)
# flag -> (setting, value it sets)
_SWITCHES = {
    "no_rate_limits": ("rate_limits", {}),
    "no_batch_pin": ("batch_returns_pin", False),
    "no_dialin_number": ("return_dialin_number", False),
    "resend_dialin_new_pin": ("resend_dialin_new_pin", True),
}


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    data: dict[str, Any] = {}
    if args.config is not None:
        data = json.loads(args.config.read_text(encoding="utf-8"))
    data.update({name: getattr(args, name) for name in _PLAIN_OPTIONS if getattr(args, name) is not None})
    data.update({field: value for flag, (field, value) in _SWITCHES.items() if getattr(args, flag)})
    faults = dict(data.get("faults") or {})
    if args.fault_rate_5xx is not None:
        faults.update({f"rate_{code}": args.fault_rate_5xx / 3 for code in ("500", "502", "503")})
    faults.update(
        {field: getattr(args, flag) for flag, field in _FAULT_FLAGS.items() if getattr(args, flag) is not None}
    )
    if faults:
        data["faults"] = faults
    return EmulatorSettings.model_validate(data)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"daily-emulator: bad settings: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("Received signal %s, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = EmulatorServer(
        settings=settings, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log
    )
    try:
        server.start()
    except OSError as exc:
        print(f"daily-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"Daily emulator listening on {server.base_url}", flush=True)
    try:
        while not stop.wait(0.1):
            pass
    finally:
        server.stop()
        if settings.state_file is not None:
            server.state.save()
            log.info("State saved to %s", settings.state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
