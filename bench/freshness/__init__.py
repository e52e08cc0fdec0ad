"""The freshness benchmark: ``python -m bench.freshness`` (see ``bench/freshness/README.md``).

How long a new, moved or cancelled meeting takes to reach its dial string and its room, with the
meetings-table watcher and with the schedules it replaces, on the native cluster of the cluster check.
"""
