"""What the benchmarks under ``bench/`` share: the command line (:mod:`.cli`), a run's surroundings (:mod:`.run`:
machine and commit, snapshots, environments, a throwaway PostgreSQL database, percentiles, polling), report
writing (:mod:`.report`), the A/B runner (:mod:`.ab`); ``bench/guarantees`` (own set-up) takes from it only
Airflow's settings for a process and the throwaway PostgreSQL database.
May import the standard library (matplotlib only when a chart is drawn; ``daily_devtools.postgres`` and
psycopg2 only for a throwaway PostgreSQL); never ``tests/``, never Airflow.
"""
