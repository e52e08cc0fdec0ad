"""Airflow provider for Daily video rooms with PSTN dial-in by PIN.

``hooks.daily.DailyHook`` talks to Daily's REST API; ``operators.daily`` wraps it in tasks;
``provisioning`` turns a table of scheduled meetings into dial-in rooms in bulk.
"""

from __future__ import annotations

__version__ = "0.1.0"
