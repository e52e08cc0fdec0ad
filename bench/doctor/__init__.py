"""The doctor benchmark: ``python -m bench.doctor`` - seconds for ``python -m daily_dialin doctor``
at 100,000 meeting rows on SQLite and PostgreSQL (goal: at most 5 s). Result: ``bench/results/doctor.md``."""
