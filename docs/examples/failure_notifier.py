"""A notifier for failed provisioning runs, and how to attach it to every task through the factory.

``FileFailureNotifier`` appends one JSON line per failure (DAG id, task id, exception) to a file:
a stand-in for Slack, e-mail or PagerDuty that a test can read. The docs include this file
(``docs/freshness.md``) and ``tests/docs/test_notifier.py`` imports it and runs a provisioning DAG
that fails ``verify`` with it attached, so the page and the test cannot drift apart.
"""

from __future__ import annotations

# [START howto_notifier_file]
import json
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier


class FileFailureNotifier(BaseNotifier):
    """Append ``{"dag_id", "task_id", "exception", "reason"}`` of each failure to ``path``."""

    template_fields = ("path",)

    def __init__(self, *, path: str) -> None:
        super().__init__()
        self.path = path

    def notify(self, context: Any) -> None:
        ti = context.get("ti") or context.get("task_instance")
        entry = {
            "dag_id": context["dag"].dag_id,
            "task_id": getattr(ti, "task_id", None),
            "exception": str(context.get("exception") or ""),  # task level: the error the task failed with
            "reason": context.get("reason"),  # DAG level: why the run failed, e.g. "task_failure"
        }
        with Path(self.path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


# [END howto_notifier_file]


def provisioning_dag_with_alerts(*, dag_id: str, alerts_file: str, **factory_kwargs: Any) -> Any:
    """A provisioning DAG whose failed tasks report to ``alerts_file`` (task level)."""
    # [START howto_notifier_attach]
    from daily_dialin.dags import provisioning_dag

    return provisioning_dag(
        dag_id=dag_id,
        # task level: every task that fails calls it (verify, when meetings are left without a room)
        default_args={"on_failure_callback": FileFailureNotifier(path=alerts_file)},
        **factory_kwargs,
    )
    # [END howto_notifier_attach]
