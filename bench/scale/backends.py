"""Where the benchmark keeps Airflow's metadata and the meetings table: SQLite files or a throwaway PostgreSQL.

For each backend, one Airflow home with a migrated metadata DB serves every Airflow run; each
(variant, N) gets a fresh copy of a meetings table seeded once per N (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL). PostgreSQL is the test suite's throwaway server
(``daily_devtools.postgres``: run as the ``postgres`` user when this runs as root).

May import: the standard library, psycopg2 and ``daily_devtools.postgres``.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class Backend:
    """One database kind: Airflow's metadata DB URL, meetings connections, and SQL against both."""

    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home = self.workdir / "airflow-home"

    # -- lifecycle
    def start(self) -> Backend:
        return self

    def stop(self) -> None:
        pass

    # -- Airflow metadata
    def metadata_url(self) -> str:
        raise NotImplementedError

    def meta_query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (placeholders written ``{p}``) against the metadata DB."""
        raise NotImplementedError

    def xcom_bytes_sql(self) -> str:
        raise NotImplementedError

    # -- meetings tables
    def meetings_conn(self, db: str) -> dict[str, Any]:
        raise NotImplementedError

    def prepare_empty(self, db: str) -> None:
        """Make sure database ``db`` exists, empty (the seed step creates the table in it)."""

    def copy_meetings(self, template: str, db: str) -> None:
        raise NotImplementedError

    def drop_meetings(self, db: str) -> None:
        raise NotImplementedError

    def meetings_query(self, db: str, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def metadata_url(self) -> str:
        return f"sqlite:///{self.home / 'airflow.db'}"

    def meta_query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db", timeout=60)) as conn:
            return conn.execute(sql.format(p="?"), params).fetchall()

    def xcom_bytes_sql(self) -> str:
        return "length(CAST(value AS BLOB))"

    def _path(self, db: str) -> Path:
        return self.workdir / f"{db}.db"

    def meetings_conn(self, db: str) -> dict[str, Any]:
        return {"conn_type": "sqlite", "host": str(self._path(db))}

    def prepare_empty(self, db: str) -> None:
        self._path(db).unlink(missing_ok=True)

    def copy_meetings(self, template: str, db: str) -> None:
        shutil.copyfile(self._path(template), self._path(db))

    def drop_meetings(self, db: str) -> None:
        self._path(db).unlink(missing_ok=True)

    def meetings_query(self, db: str, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self._path(db), timeout=60)) as conn:
            return conn.execute(sql).fetchall()


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.server: Any = None

    def start(self) -> PostgresBackend:
        from daily_devtools.postgres import ThrowawayPostgres

        self.server = ThrowawayPostgres().start()
        self._admin("CREATE DATABASE airflow_meta")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _connect(self, db: str) -> Any:
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.server.port, user="postgres", dbname=db)

    def _admin(self, sql: str) -> None:
        with contextlib.closing(self._connect("postgres")) as conn:
            conn.autocommit = True
            conn.cursor().execute(sql)

    def metadata_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.server.port}/airflow_meta"

    def meta_query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(self._connect("airflow_meta")) as conn:
            cur = conn.cursor()
            cur.execute(sql.format(p="%s"), params)
            return cur.fetchall()

    def xcom_bytes_sql(self) -> str:
        return "octet_length(value::text)"

    def meetings_conn(self, db: str) -> dict[str, Any]:
        return {"conn_type": "postgres", "host": "127.0.0.1", "port": self.server.port, "login": "postgres",
                "schema": db}  # fmt: skip

    def copy_meetings(self, template: str, db: str) -> None:
        self._admin(f"CREATE DATABASE {db} TEMPLATE {template}")

    def drop_meetings(self, db: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {db}")

    def meetings_query(self, db: str, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(self._connect(db)) as conn:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchall()

    def prepare_empty(self, db: str) -> None:
        self.drop_meetings(db)
        self._admin(f"CREATE DATABASE {db}")


BACKENDS = {"sqlite": SqliteBackend, "postgres": PostgresBackend}
