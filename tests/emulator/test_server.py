"""EmulatorServer lifecycle, admin API, state file persistence and the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from daily_emulator import EmulatorServer, EmulatorSettings, FaultSettings, RateLimit, create_app
from tests.emulator.helpers import API_KEY, NUMBERS, Api, assert_error, dialin_room


def test_server_urls_and_state(emu):
    assert emu.url.startswith("http://127.0.0.1:")
    assert emu.base_url == f"{emu.url}/v1"
    Api(base_url=emu.base_url).create_room(name="visible")
    assert emu.state.find_room("visible") is not None
    assert emu.state.live_room_count() == 1


def test_create_app_is_a_fastapi_app():
    from fastapi import FastAPI

    app = create_app(EmulatorSettings())
    assert isinstance(app, FastAPI)
    assert app.state.emulator.settings.api_keys == ["emulator-key"]


def test_default_settings():
    settings = EmulatorSettings()
    assert settings.rate_limits == {
        "default": [RateLimit(requests=20, per_seconds=1), RateLimit(requests=100, per_seconds=5)],
        "delete": [RateLimit(requests=2, per_seconds=1), RateLimit(requests=50, per_seconds=30)],
    }
    assert settings.pin_numbers() == settings.purchased_numbers[:1]
    assert len(settings.purchased_numbers) == 2
    assert settings.faults == FaultSettings()
    assert settings.room_quota == 10_000


def test_settings_validation():
    with pytest.raises(ValueError, match="pin_dialin_numbers"):
        EmulatorSettings(purchased_numbers=["+12095550100"], pin_dialin_numbers=["+12095550199"])
    assert EmulatorSettings(purchased_numbers=[12095550100]).purchased_numbers == ["+12095550100"]


def test_stop_with_hanging_request_and_restart(make_server):
    server = make_server(faults=FaultSettings(rate_hang=1.0, hang_seconds=30))
    errors = []

    def call():
        try:
            Api(base_url=server.base_url).get("/rooms", timeout=20)
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    thread.join(5)
    assert len(errors) == 1
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/_emulator/counters", timeout=1)
    server.start()  # same state, new port
    assert server.admin.counters()["faults"] == {"hang": 1}


def test_admin_snapshot_counters_reset(emu, api):
    api.create_room(**dialin_room("snap"))
    api.get("/rooms/snap")
    api.get("/rooms/missing")
    api.post("/batch/rooms", {"rooms": [{"name": "b1"}, {"name": "b2"}]})
    snapshot = emu.admin.snapshot()
    assert set(snapshot) == {
        "rooms",
        "dialin_configs",
        "purchased_numbers",
        "participants",
        "calls",
        "meetings",
        "counters",
    }
    room = snapshot["rooms"][0]
    assert room["name"] == "snap"
    assert room["expired"] is False
    assert room["config"]["dialin_code"]
    assert [n["number"] for n in snapshot["purchased_numbers"]] == NUMBERS
    assert snapshot["dialin_configs"][0]["config"]["phone_number"] == NUMBERS[0]
    counters = emu.admin.counters()
    assert counters["requests"] == {"POST /rooms": 1, "GET /rooms/:name": 2, "POST /batch/rooms": 1}
    assert counters["rooms_created"] == 3
    assert counters["rate_limited"] == {}
    assert counters["faults"] == {}

    api.post("/domain-dialin-config", {"type": "pin_dialin", "phone_number": NUMBERS[1]})
    emu.admin.script_faults([{"kind": "500"}])
    emu.admin.advance_clock(100)
    emu.admin.reset()
    snapshot = emu.admin.snapshot()
    assert snapshot["rooms"] == []
    assert len(snapshot["dialin_configs"]) == 1
    assert emu.admin.counters()["requests"] == {}
    assert emu.admin.queued_faults() == []
    assert abs(requests.get(f"{emu.url}/_emulator/clock", timeout=5).json()["offset"]) < 1e-9


def test_admin_settings(emu):
    current = emu.admin.settings()
    assert current["domain"] == "acme"
    updated = emu.admin.configure(room_quota=5, faults=FaultSettings(rate_502=0.5), latency_ms=0)
    assert updated["room_quota"] == 5
    assert updated["faults"]["rate_502"] == 0.5
    with pytest.raises(requests.HTTPError):
        emu.admin.configure(domain="other")  # not a runtime setting
    with pytest.raises(requests.HTTPError):
        emu.admin.configure(room_quota=-1)
    response = requests.post(f"{emu.url}/_emulator/clock", json={"advance_seconds": "x"}, timeout=5)
    assert_error(response, 400, "invalid-request-error")


def test_state_file_survives_restart(tmp_path, make_server):
    state_file = tmp_path / "state" / "daily.json"
    first = make_server(state_file=state_file)
    api = Api(base_url=first.base_url)
    room = api.create_room(**dialin_room("kept"))
    api.create_room(name="gone")
    api.delete("/rooms/gone")
    config = api.post("/domain-dialin-config", {"type": "pinless_dialin", "phone_number": NUMBERS[2]}).json()
    first.stop()
    assert json.loads(state_file.read_text())["version"] == 1
    assert [p.name for p in state_file.parent.iterdir()] == ["daily.json"]  # no temp files left

    second = make_server(state_file=state_file)
    api2 = Api(base_url=second.base_url)
    assert api2.get("/rooms/kept").json() == room
    assert_error(api2.get("/rooms/gone"), 404, "not-found")
    assert api2.get(f"/domain-dialin-config/{config['id']}").json() == config
    assert api2.get("/domain-dialin-config").json()["total_count"] == 2
    newer = api2.create_room(name="newer")
    assert [r["name"] for r in api2.get("/rooms").json()["data"]] == ["newer", "kept"]
    assert api2.get("/rooms", params={"starting_after": newer["id"]}).json()["data"][0]["name"] == "kept"


def _start_cli(*args):
    process = subprocess.Popen(
        [sys.executable, "-m", "daily_emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = process.stdout.readline()
    if not line.startswith("Daily emulator listening on http://127.0.0.1:"):
        process.kill()
        pytest.fail(f"unexpected CLI output {line!r}: {process.stderr.read()}")
    return process, line.strip().rsplit(" ", 1)[1]


def test_cli_serves_and_stops_on_sigterm(tmp_path):
    state_file = tmp_path / "cli.json"
    config_file = tmp_path / "settings.json"
    config_file.write_text(json.dumps({"domain": "fromconfig", "purchased_numbers": NUMBERS}))
    process, base_url = _start_cli(
        "--config", str(config_file), "--api-key", API_KEY, "--api-key", "second",
        "--no-rate-limits", "--state-file", str(state_file), "--fault-seed", "3", "--fault-rate-5xx", "0",
    )  # fmt: skip
    try:
        assert base_url.endswith("/v1")
        api = Api(base_url=base_url)
        room = api.create_room(**dialin_room("cli-room"))
        assert room["url"] == "https://fromconfig.daily.co/cli-room"
        assert Api(base_url=base_url, key="second").get("/rooms").json()["total_count"] == 1
        assert_error(Api(base_url=base_url, key="nope").get("/rooms"), 401, "authentication-error")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    saved = json.loads(state_file.read_text())
    assert [r["name"] for r in saved["rooms"]] == ["cli-room"]


def test_cli_settings_from_flags():
    from daily_emulator.__main__ import build_parser, settings_from_args

    args = build_parser().parse_args(
        ["--purchased-number", "+12095550100", "--purchased-number", "12095550101", "--latency-ms", "5",
         "--fault-rate-429", "0.1", "--fault-rate-5xx", "0.3", "--fault-rate-hang", "0.05",
         "--fault-rate-reset", "0.05", "--fault-rate-lost-create", "0.05", "--hang-seconds", "2",
         "--retry-after", "1", "--no-batch-pin", "--no-dialin-number", "--room-quota", "9"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.purchased_numbers == ["+12095550100", "+12095550101"]
    assert settings.faults.rate_500 == pytest.approx(0.1)
    assert settings.faults.rate_503 == pytest.approx(0.1)
    assert settings.faults.rate_lost_create == 0.05
    assert settings.faults.retry_after == 1
    assert settings.batch_returns_pin is False
    assert settings.return_dialin_number is False
    assert settings.room_quota == 9
    assert settings.latency_ms == 5
    assert settings.rate_limits == EmulatorSettings().rate_limits


def test_explicit_port(make_server):
    first = make_server()
    port = first.port
    first.stop()
    server = EmulatorServer(settings=EmulatorSettings(), port=port)
    with server:
        assert server.port == port
        assert requests.get(f"{server.url}/_emulator/counters", timeout=5).status_code == 200


def test_cli_resend_dialin_new_pin_and_domain_id():
    from daily_emulator.__main__ import build_parser, settings_from_args

    assert settings_from_args(build_parser().parse_args([])).resend_dialin_new_pin is False
    args = build_parser().parse_args(
        ["--resend-dialin-new-pin", "--domain", "acme", "--domain-id", "30F866C3-9123-452A-8723-FF58322D09C5"]
    )
    settings = settings_from_args(args)
    assert settings.resend_dialin_new_pin is True
    assert settings.domain_id == "30f866c3-9123-452a-8723-ff58322d09c5"
