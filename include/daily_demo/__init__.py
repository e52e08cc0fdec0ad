"""The embedded default that the README's first command runs: a SQLite meetings table seeded
with sample meetings, the local Daily emulator, and the provisioning DAG run through Airflow."""

from __future__ import annotations
