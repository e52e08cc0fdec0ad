"""A user's own DAG file: the provisioning, reconcile and invitations DAGs of a second meetings table.

Put a file like this in your DAGs folder. The shipped DAGs (``dags/daily_dialin_*.py``) keep serving
the first table; these three serve ``ops_meetings`` on the connection ``ops_db``, whose meeting id
column is called ``id``. The docs include this file and the test suite imports it
(``tests/docs/test_example_dags.py``).
"""

from __future__ import annotations

# [START howto_factory_second_table]
# An Airflow DAG file: Airflow's DAG processor (safe mode) only reads files that mention "airflow" and "dag".
from daily_dialin.dags import TableRef, invitations_dag, provisioning_dag, reconcile_dag

# one table reference for the three DAGs of one table: its connection, name and columns
OPS = TableRef(
    meetings_conn_id="ops_db",
    table="ops_meetings",
    columns={"meeting_id": "id"},  # logical column -> your column's name
)
SETTINGS = {"room_name_prefix": "ops", "provisionable_statuses": ["confirmed"]}

ops_provisioning = provisioning_dag(
    dag_id="ops_provisioning",
    source=OPS,
    settings=SETTINGS,
    schedule="@daily",  # with watch=True: the daily safety run
    watch=True,  # and within seconds of a row added, moved or cancelled
)
ops_reconcile = reconcile_dag(dag_id="ops_reconcile", source=OPS, settings=SETTINGS, schedule="@daily")
ops_invitations = invitations_dag(dag_id="ops_invitations", source=OPS, settings=SETTINGS, base_path="/srv/invites/ops")
# [END howto_factory_second_table]
