"""Where the repository is, for tests that read its files or run its commands (imports nothing else:
safe before Airflow's environment is set)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
