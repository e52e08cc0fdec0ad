"""Dev/test only: code the tests and the benchmarks share (``tests/`` and ``bench/`` both import it).

Not in the wheel (``pyproject.toml`` packages only ``airflow_provider_daily`` and ``daily_dialin``);
importable in an editable install, where ``include/`` is on ``sys.path``.

* :mod:`.postgres` - a throwaway PostgreSQL server started from the installed binaries;
* :mod:`.audit` - the provisioning guarantees checked from the outside: the meetings table
  against Daily's rooms (the emulator's).
* :mod:`.cluster` - the compose topology run natively (the cluster and browser checks, the
  freshness benchmark); :mod:`.cluster_hostname` - its services' ``hostname_callable``.

May import the provider, the application and the other dev-only packages (``daily_emulator``);
the provider and the application never import it.
"""
