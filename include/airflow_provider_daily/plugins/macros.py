"""The provider's Airflow plugin, registered through the package's ``airflow.plugins`` entry point (no
file in a plugins folder needed): template macros for DAGs that send invites after provisioning
(``{{ macros.daily_dialin.… }}``).

* ``room_name(meeting_id, prefix="mtg")`` - the deterministic room name the provisioning DAG gives
  a meeting, e.g. to link a task to its room;
* ``dial_string(number, pin)`` - ``tel:+<number>,,<PIN>`` for an invite.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_daily.models import dial_string
from airflow_provider_daily.rooms import room_name_for


def room_name(meeting_id: str, prefix: str = "mtg") -> str:
    return room_name_for(str(meeting_id), prefix)


class DailyDialinMacrosPlugin(AirflowPlugin):
    name = "daily_dialin"
    macros = [room_name, dial_string]
