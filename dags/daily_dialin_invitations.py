"""The Airflow DAG ``daily_dialin_invitations``: the invitations factory with the shipped defaults.

Only wiring (tasks, Params form and docs are in :mod:`daily_dialin.dags.invitations`); imports only
the factory. Runs on the asset ``daily_dialin_meetings`` that ``daily_dialin_provisioning`` and
``daily_dialin_reconcile`` emit; its storage base comes from the Variable ``daily_invitations``.
"""

from __future__ import annotations

from daily_dialin.dags import invitations_dag

dag = invitations_dag(dag_id="daily_dialin_invitations")
