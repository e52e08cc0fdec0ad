"""Where the benchmark keeps Airflow's metadata and the meetings tables: SQLite files or a throwaway
PostgreSQL (``daily_devtools.postgres``). One Airflow home with a migrated metadata DB per backend; each
(variant, N) gets a fresh copy of a meetings table seeded once per N (a file copy; ``CREATE DATABASE ...
TEMPLATE``). May import: the standard library, psycopg2 and ``daily_devtools.postgres``.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class Backend:
    """One database kind: Airflow's metadata DB URL, meetings connections, and SQL against both (a
    subclass says how to connect, where placeholders are ``{p}``, and how to copy, drop and empty a table)."""

    name = ""
    placeholder = ""
    xcom_bytes_sql = ""  # the size of an XCom value in SQL

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home = self.workdir / "airflow-home"

    def start(self) -> Backend:
        return self

    def stop(self) -> None:
        pass

    def _connect(self, db: str | None) -> Any:  # None: Airflow's metadata DB
        raise NotImplementedError

    def _query(self, db: str | None, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(self._connect(db)) as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
            return cur.fetchall()

    def meta_query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (placeholders written ``{p}``) against the metadata DB."""
        return self._query(None, sql.format(p=self.placeholder), params)

    def meetings_query(self, db: str, sql: str) -> list[tuple[Any, ...]]:
        return self._query(db, sql)


class SqliteBackend(Backend):
    name = "sqlite"
    placeholder = "?"
    xcom_bytes_sql = "length(CAST(value AS BLOB))"

    def _path(self, db: str | None) -> Path:
        return self.home / "airflow.db" if db is None else self.workdir / f"{db}.db"

    def _connect(self, db: str | None) -> Any:
        return sqlite3.connect(self._path(db), timeout=60)

    def metadata_url(self) -> str:
        return f"sqlite:///{self._path(None)}"

    def meetings_conn(self, db: str) -> dict[str, Any]:
        return {"conn_type": "sqlite", "host": str(self._path(db))}

    def prepare_empty(self, db: str) -> None:
        """Make sure database ``db`` is empty (the seed step creates the table in it)."""
        self._path(db).unlink(missing_ok=True)

    drop_meetings = prepare_empty

    def copy_meetings(self, template: str, db: str) -> None:
        shutil.copyfile(self._path(template), self._path(db))


class PostgresBackend(Backend):
    name = "postgres"
    placeholder = "%s"
    xcom_bytes_sql = "octet_length(value::text)"
    server: Any = None

    def start(self) -> PostgresBackend:
        from daily_devtools.postgres import ThrowawayPostgres

        self.server = ThrowawayPostgres().start()
        self._admin("CREATE DATABASE airflow_meta")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _connect(self, db: str | None) -> Any:
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.server.port, user="postgres", dbname=db or "airflow_meta")

    def _admin(self, sql: str) -> None:
        with contextlib.closing(self._connect("postgres")) as conn:
            conn.autocommit = True
            conn.cursor().execute(sql)

    def metadata_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.server.port}/airflow_meta"

    def meetings_conn(self, db: str) -> dict[str, Any]:
        return {"conn_type": "postgres", "host": "127.0.0.1", "port": self.server.port, "login": "postgres",
                "schema": db}  # fmt: skip

    def copy_meetings(self, template: str, db: str) -> None:
        self._admin(f"CREATE DATABASE {db} TEMPLATE {template}")

    def drop_meetings(self, db: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {db}")

    def prepare_empty(self, db: str) -> None:
        self.drop_meetings(db)
        self._admin(f"CREATE DATABASE {db}")


BACKENDS = {"sqlite": SqliteBackend, "postgres": PostgresBackend}
