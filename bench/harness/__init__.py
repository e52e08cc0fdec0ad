"""What the benchmarks share: the command line's common options (``bench.scale``, ``bench.freshness``),
the machine and commit a result was measured on, the code under test as a commit snapshot (``git
archive``), a clean subprocess environment and Airflow's settings for a benchmark's process, a database
on a throwaway PostgreSQL server, percentiles, JSON/Markdown/PNG report writing (number formats, tables
built from ``(header, cell)`` columns, verdicts, failed steps), and the A/B runner (:mod:`.ab`: this tree
against another commit, interleaved, one table with the difference). Used by every benchmark under
``bench/`` but ``bench/guarantees`` (plain scripts).

May import the standard library (matplotlib only when a chart is drawn; ``daily_devtools.postgres`` and
psycopg2 only for a throwaway PostgreSQL); never ``tests/``, never Airflow (the code under test runs in
subprocesses or is imported by the benchmark itself).
"""
