"""Airflow provider for Daily video rooms with PSTN dial-in by PIN.

What a provider reviewer expects and nothing else: ``hooks.daily.DailyHook`` (Daily's REST API on
``HttpHook``: typed models, typed errors, retries, pacing), ``operators.daily`` (tasks around it),
``links`` (the "Daily room" extra link), ``bulk`` (idempotent batch create; ``bulk_delete``, batch
delete), ``rooms`` (room rules: names, lifetimes, drift), ``text`` (the one display-name text rule),
``plugins.macros`` (template macros, registered through the provider). Installed without extras, it
needs none of the application's dependencies (they are the ``[app]`` extra).

May import: Airflow and its http provider. Never the dial-in application (``daily_dialin``), the
emulator or the demo.
"""

from __future__ import annotations

__version__ = "0.2.0"
