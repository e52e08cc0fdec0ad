"""The dial-in application: a table of scheduled meetings, kept in step with Daily rooms with PIN dial-in.

Built on the provider (:mod:`airflow_provider_daily`), never the other way round:

* :mod:`daily_dialin.provisioning` - the provisioning and reconcile runs (plan, chunks, write-back);
* :mod:`daily_dialin.invitations` - calendar files with every dial-in number and host links;
* :mod:`daily_dialin.bootstrap` - one command that sets up a deployment (connections, Variables, pool);
* :mod:`daily_dialin.number_assignment`, :mod:`daily_dialin.reporting` - a Params form, log tables;
* ``sql/`` and ``airflow_settings/`` - the shipped table schemas and settings folder.

May import: Airflow, its providers, :mod:`airflow_provider_daily`. Never the emulator
(``daily_emulator``) or the demo (``daily_demo``): those are dev/test-only and not in the wheel.
"""

from __future__ import annotations
