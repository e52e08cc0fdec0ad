"""What the benchmarks share (``bench.scale``, ``bench.freshness``): the command line's common
options, the machine and commit a result was measured on, the code under test as a commit snapshot
(``git archive``), a clean subprocess environment, JSON/Markdown/PNG report writing, and the A/B
runner (:mod:`.ab`: this tree against another commit, interleaved, one table with the difference).

May import the standard library (matplotlib only when a chart is drawn); never ``tests/``, never
Airflow (the code under test runs in subprocesses).
"""
