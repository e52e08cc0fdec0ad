"""The loop back from Daily: webhook events about calls, folded into a calls table and meeting figures.

* :mod:`.signing` - Daily's webhook signature (HMAC-SHA256 over ``"{timestamp}.{body}"``);
* :mod:`.events` - the event envelope, which events are ours, masked caller numbers;
* :mod:`.settings` - the Variable ``daily_calls`` (tables, figure columns, the webhook's registration);
* :mod:`.store` - the events and calls tables in the meetings database (SQLAlchemy Core);
* :mod:`.receiver` - the FastAPI app answering ``POST /daily/webhooks`` inside Airflow's API server;
* :mod:`.plugin` - the Airflow plugin that mounts it;
* :mod:`.fold` - events -> calls and per-meeting figures (order-insensitive);
* :mod:`.process` - the calls DAG's steps; :mod:`.trigger` - the events-table watcher that starts it.

May import: Airflow, its providers, FastAPI (the API server's own dependency; only :mod:`.receiver`
and :mod:`.plugin`), :mod:`airflow_provider_daily` and the rest of :mod:`daily_dialin`. Never the
emulator or the demo.
"""

from __future__ import annotations
