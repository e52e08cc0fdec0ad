"""The native cluster for the tests: :mod:`daily_devtools.cluster` (moved there so ``bench/`` imports
no test code), re-exported, and the session fixtures ``native_cluster`` and ``cluster_meetings``
shared by ``tests/cluster`` and ``tests/browser`` (both conftests import them; one cluster serves both).
"""

from __future__ import annotations

import signal
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daily_devtools.cluster import (  # noqa: F401 - re-exported: the tests import these from here
    AIRFLOW_SERVICES,
    BACKFILL_DAYS_BACK,
    BIN,
    CHECK_VALUES,
    COMPOSE_FILE,
    DAG_ID,
    ENV_EXAMPLE,
    NATIVE_ARGS,
    NATIVE_ENV,
    REPO,
    SECRET_KEYS,
    WORKERS,
    AirflowApi,
    NativeCluster,
    Service,
    compose_variables,
    free_port,
    interpolate,
    load_compose,
    meeting_groups,
    pins_by_room,
    read_env_file,
    read_meetings,
    seed_meetings,
    service_command,
    service_environment,
)

# -- the shared session fixture ---------------------------------------------------------------------
_shared: dict[str, Any] = {"cluster": None, "users": 0, "groups": None}


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}: stopping the native cluster")


@pytest.fixture(scope="session")
def native_cluster() -> Iterator[NativeCluster]:
    """One native cluster for the session, seeded with ``meeting_groups`` (shared by cluster and browser).

    SIGTERM (e.g. a CI runner cancelling the job) becomes a KeyboardInterrupt while the cluster is up,
    so pytest still runs this fixture's teardown and no service outlives the session.
    """
    if _shared["users"] == 0:
        _shared["sigterm"] = signal.signal(signal.SIGTERM, _interrupt)
    if _shared["cluster"] is None:
        # not under pytest's basetemp: other pytest sessions on the machine prune those
        root = Path(tempfile.mkdtemp(prefix="daily-cluster-"))
        cluster = NativeCluster(root=root)
        cluster.start()
        try:
            _shared["groups"] = seed_meetings(cluster, datetime.now(UTC).date())
            t = time.monotonic()
            api = cluster.api()
            for dag_id in (DAG_ID, "example_daily_room_lifecycle"):
                api.wait_for_dag(dag_id)
            cluster.timings["DAGs parsed"] = round(time.monotonic() - t, 1)
        except BaseException:
            cluster.stop()
            raise
        print(f"\n{cluster.summary()}\n  API {cluster.api_url} login {cluster.username} / {cluster.password}")
        _shared["cluster"] = cluster
    _shared["users"] += 1
    try:
        yield _shared["cluster"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            if _shared["cluster"] is not None:
                _shared["cluster"].stop()
                _shared["cluster"] = None
            signal.signal(signal.SIGTERM, _shared.pop("sigterm", None) or signal.SIG_DFL)


@pytest.fixture(scope="session")
def cluster_meetings(native_cluster: NativeCluster) -> dict[str, list[dict[str, Any]]]:
    return _shared["groups"]
