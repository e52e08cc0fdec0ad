"""What the benchmarks under ``bench/`` share (all but ``bench/guarantees``): the common command line
(:mod:`.cli`), a run's surroundings (:mod:`.run`: machine and commit, snapshots, environments, a throwaway
PostgreSQL database, percentiles), report writing (:mod:`.report`) and the A/B runner (:mod:`.ab`).
May import the standard library (matplotlib only when a chart is drawn; ``daily_devtools.postgres`` and
psycopg2 only for a throwaway PostgreSQL); never ``tests/``, never Airflow.
"""
