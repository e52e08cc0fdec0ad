"""Freshness: provision a meeting seconds after its row appears or changes, not at the next daily run.

``trigger.py`` is the triggerer side (a :class:`~airflow.triggers.base.BaseEventTrigger` polling the
meetings table); ``pending.py`` is its question to the table (what a run would do now, through the
table's one ``due`` rule); ``schedule.py`` builds the provisioning DAG's ``schedule`` (a watched asset, or the
asset or a safety cron). Nothing is imported here, so the triggerer loading the trigger class pays
for nothing else.
"""
