"""The embedded default that the README's first command runs: a SQLite meetings table seeded
with sample meetings, the local Daily emulator, and the provisioning DAG run through Airflow.

Dev/demo only (not in the wheel). May import anything: the provider, the application, the emulator.
"""

from __future__ import annotations
