"""BulkRoomDeleter against the emulator: DELETE /batch/rooms first, split on refusal, paced
single deletes for what still fails, outages and wrong keys stop with the partial result."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_daily.bulk import BulkRoomDeleter, delete_rooms
from airflow_provider_daily.errors import (
    DailyAuthError,
    DailyBulkDeleteAbortedError,
    DailyBulkDeleteError,
    DailyNotFoundError,
    DailyServerError,
)
from airflow_provider_daily.hooks.daily import DailyHook
from tests.hooks.helpers import dialin_spec
from tests.support.daily import daily_connection_uri


def live_names(emulator) -> set[str]:
    return {r["name"] for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def make_rooms(hook, names) -> None:
    hook.create_rooms_batch([dialin_spec(name) for name in names])


def requests_made(emulator) -> dict[str, int]:
    counts = emulator.admin.counters()["requests"]
    return {key: n for key, n in counts.items() if key.startswith("DELETE")}


def strict(emulator, *, undeletable=()) -> None:
    """Daily as it may really be (undocumented): a batch naming an unknown room fails whole with 404,
    and rooms in ``undeletable`` are refused (400) by both delete endpoints - the emulator's strict
    batch-delete settings, over HTTP."""
    emulator.admin.configure(batch_delete_unknown_is_error=True, undeletable_rooms=sorted(undeletable))


def test_one_batch_deletes_rooms_and_unknown_names_count_as_gone(hook, emulator):
    names = [f"del-{i}" for i in range(30)]
    make_rooms(hook, names)
    results = BulkRoomDeleter(hook=hook).delete([*names, "never-was", "del-3"])
    assert results == dict.fromkeys([*names, "never-was"])
    assert live_names(emulator) == set()
    assert requests_made(emulator) == {"DELETE /batch/rooms": 1}


def test_names_go_in_batches_of_batch_size(hook, emulator):
    names = [f"bs-{i}" for i in range(10)]
    make_rooms(hook, [*names, "keep"])
    assert delete_rooms(hook=hook, names=names, batch_size=4) == dict.fromkeys(names)
    assert live_names(emulator) == {"keep"}
    assert requests_made(emulator) == {"DELETE /batch/rooms": 3}


def test_an_invalid_name_is_reported_and_never_sent(hook, emulator):
    make_rooms(hook, ["ok-1", "ok-2"])
    results = BulkRoomDeleter(hook=hook).delete(["ok-1", "bad name", "ok-2"])
    assert results["ok-1"] is None and results["ok-2"] is None
    assert "invalid room name" in results["bad name"]
    assert live_names(emulator) == set()
    assert requests_made(emulator) == {"DELETE /batch/rooms": 1}


def test_batches_that_fail_on_unknown_names_split_down_to_single_deletes(daily_conn):
    """If Daily's batch delete fails whole on an unknown name, the split isolates the unknown
    ones; their single deletes answer 404, which is "already gone"."""
    strict(daily_conn)
    hook = DailyHook()
    names = [f"s-{i:02d}" for i in range(32)]
    make_rooms(hook, [n for n in names if n not in ("s-05", "s-20")])
    deleter = BulkRoomDeleter(hook=hook)
    results = deleter.delete(names)
    assert results == dict.fromkeys(names)
    assert live_names(daily_conn) == set()
    assert requests_made(daily_conn)["DELETE /rooms/:name"] == 2, "only the two unknown names went alone"
    assert deleter.calls["single"] == 2
    assert deleter.calls["failed_batch"] == 1 + 2 * 5, "one refused batch per halving down to each unknown name"
    assert deleter.calls["batch"] <= 2 * 2 * 5 + 1, f"bisection, not one call per name ({deleter.calls})"


def test_a_name_daily_refuses_fails_alone_and_the_rest_are_deleted(daily_conn):
    strict(daily_conn, undeletable={"p-13"})
    hook = DailyHook()
    names = [f"p-{i:02d}" for i in range(40)]
    make_rooms(hook, names)
    results = BulkRoomDeleter(hook=hook).delete(names)
    assert (
        results.pop("p-13") == "Daily refused to delete room p-13: invalid-request-error: room p-13 cannot be deleted"
    )
    assert results == dict.fromkeys(n for n in names if n != "p-13")
    assert live_names(daily_conn) == {"p-13"}


def test_a_batch_endpoint_that_refuses_everything_falls_back_to_single_deletes_soon(daily_conn):
    """Fail safe: after max_failed_batches refused batch calls, no more splitting."""
    hook = DailyHook()

    def refuse_every_batch(names):
        raise DailyNotFoundError(status=404, error="not-found", info=None, method="DELETE", path="/batch/rooms")

    hook.delete_rooms_batch = refuse_every_batch  # type: ignore[method-assign]
    names = [f"f-{i}" for i in range(6)]
    make_rooms(hook, names)
    deleter = BulkRoomDeleter(hook=hook, max_failed_batches=1)
    assert deleter.delete(names) == dict.fromkeys(names)
    assert deleter.calls == {"batch": 1, "failed_batch": 1, "single": 6, "presence": 1, "room_presence": 6}
    assert live_names(daily_conn) == set()


def test_an_outage_stops_the_call_with_what_was_done(daily_conn):
    """A 503 that outlasts the hook's retries ends the call; the first batch's results and the
    names still to do are on the error."""
    hook = DailyHook()
    names = [f"o-{i}" for i in range(8)]
    make_rooms(hook, names)
    sent = []
    real = hook.delete_rooms_batch

    def first_succeeds_then_outage(batch):
        sent.append(list(batch))
        result = real(batch)
        daily_conn.admin.script_faults([{"kind": "503", "method": "DELETE", "path": "/batch/rooms"}] * 6)
        return result

    hook.delete_rooms_batch = first_succeeds_then_outage  # type: ignore[method-assign]
    with pytest.raises(DailyBulkDeleteError) as info:
        BulkRoomDeleter(hook=hook, batch_size=4).delete(["bad name", *names])
    error = info.value
    assert not isinstance(error, AirflowFailException), "an outage is retryable"
    assert isinstance(error.cause, DailyServerError) and error.__cause__ is error.cause
    assert error.results.pop("bad name").startswith("invalid room name")
    assert error.results == dict.fromkeys(names[:4])
    assert error.pending == tuple(names[4:])
    assert live_names(daily_conn) == set(names[4:])
    assert sent == [names[:4], names[4:]]


def test_a_wrong_key_aborts_without_retries(daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, key="wrong"))
    with pytest.raises(DailyBulkDeleteAbortedError) as info:
        BulkRoomDeleter(hook=DailyHook()).delete(["a-1", "a-2"])
    assert isinstance(info.value, AirflowFailException)
    assert isinstance(info.value.cause, DailyAuthError)
    assert info.value.results == {} and info.value.pending == ("a-1", "a-2")
