"""What the DAG factories share, grouped as astronomer-cosmos groups its configs: **which table**
a DAG is about (:class:`TableRef`, a frozen value) and **the DAG's options** (:func:`dag_options`:
the shared prologue - default task arguments, pool, tags, start date, the settings layers), so each
factory's signature says only what is its own::

    from daily_dialin.dags import TableRef, invitations_dag, provisioning_dag

    OPS = TableRef(meetings_conn_id="ops_db", table="ops_meetings", columns={"meeting_id": "id"})
    ops = provisioning_dag(dag_id="ops_provisioning", source=OPS, settings={"room_name_prefix": "ops"})
    ops_invitations = invitations_dag(dag_id="ops_invitations", source=OPS, base_path="s3://invites/ops")

The keywords of before (``daily_conn_id=``, ``meetings_conn_id=``, ``table=``, ``columns=``,
``asset_name=`` on the factory) are still accepted: they are mapped onto a :class:`TableRef`
(given together with ``source``, a ``TypeError``: one table reference per DAG).

Anything else a factory is given goes to ``DAG(...)`` (``start_date`` - default
:data:`~daily_dialin.dags.defaults.START_DATE` -, ``tags``, ``catchup``, ``max_active_runs``,
``doc_md``, ...); ``default_args`` go on top of the factory's own defaults, key by key.

May import: ``airflow.sdk``, :mod:`.defaults` and :mod:`daily_dialin.settings_layers` (the settings models load when a
factory is called, never a provider HTTP module).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from daily_dialin.dags.defaults import DEFAULT_ARGS, START_DATE, dag_defaults, meetings_asset_name, pool_name
from daily_dialin.settings_layers import Layers, given, provisioning_layers

TABLE_KEYWORDS = ("daily_conn_id", "meetings_conn_id", "table", "columns", "asset_name")
RUN_ONE_AT_A_TIME: Mapping[str, Any] = MappingProxyType({"catchup": False, "max_active_runs": 1})


@dataclass(frozen=True, kw_only=True)
class TableRef:
    """One meetings table, as the DAGs of that table see it (give all of them the same one).

    :param daily_conn_id: the Daily account (connection id).
    :param meetings_conn_id: the database connection of the meetings table.
    :param table: the meetings table's name.
    :param columns: its logical -> physical column names (only the ones that differ).
    :param asset_name: the asset the provisioning and reconcile DAGs emit and the invitations DAG
        listens to; default derived from ``meetings_conn_id`` and ``table``
        (:func:`~daily_dialin.dags.defaults.meetings_asset_name`).

    ``None``: the Variable ``daily_provisioning`` or the defaults decide (the shipped DAGs); given,
    a field beats the Variable (:mod:`daily_dialin.dags.layers`)."""

    daily_conn_id: str | None = None
    meetings_conn_id: str | None = None
    table: str | None = None
    columns: Mapping[str, str] | None = None
    asset_name: str | None = None

    def __post_init__(self) -> None:
        if self.columns is not None:  # frozen all the way down: nobody edits a shared reference's map
            object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    def __hash__(self) -> int:
        columns = tuple(sorted((self.columns or {}).items()))
        return hash((self.daily_conn_id, self.meetings_conn_id, self.table, columns, self.asset_name))

    @classmethod
    def resolve(cls, source: TableRef | None, keywords: Mapping[str, Any]) -> TableRef:
        """``source``, or a reference built from the factory keywords of before (never both)."""
        legacy = given(**{key: keywords.get(key) for key in TABLE_KEYWORDS})
        if source is not None and legacy:
            raise TypeError(f"give the table as source=TableRef(...) or as {', '.join(sorted(legacy))}, not both")
        if source is not None and not isinstance(source, TableRef):
            raise TypeError(f"source must be a TableRef, not {type(source).__name__}")
        return source if source is not None else cls(**legacy)

    def identity(self) -> dict[str, Any]:
        """The settings layers' identity: the fields that were given (``asset_name`` is no setting)."""
        columns = dict(self.columns) if self.columns is not None else None
        return given(
            daily_conn_id=self.daily_conn_id, meetings_conn_id=self.meetings_conn_id, table=self.table, columns=columns
        )

    @property
    def asset(self) -> str:
        """The name of the table's meetings asset."""
        return self.asset_name or meetings_asset_name(meetings_conn_id=self.meetings_conn_id, table=self.table)


@dataclass(frozen=True, kw_only=True)
class DagOptions:
    """A factory's prologue, done: the table, its settings layers, the pool, and ``DAG(...)``'s
    arguments (the factory's defaults under the caller's)."""

    dag_id: str
    source: TableRef
    layers: Layers | None
    pool: str
    default_args: Mapping[str, Any]
    tags: tuple[str, ...]
    start_date: Any
    dag_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def asset(self) -> Any:
        from airflow.sdk import Asset

        return Asset(self.source.asset)

    def dag(self, *, defaults: Mapping[str, Any] | None = None, **fixed: Any) -> Any:
        """``DAG(...)``: ``defaults`` (the factory's: ``schedule``, ``doc_md``, ...) under the caller's
        DAG keywords; ``fixed`` (``params``, ...) is the factory's alone (given twice: ``TypeError``)."""
        from airflow.sdk import DAG

        chosen = {**RUN_ONE_AT_A_TIME, **(defaults or {}), **self.dag_kwargs}
        return DAG(
            dag_id=self.dag_id,
            start_date=self.start_date,
            default_args=dict(self.default_args),
            tags=list(self.tags),
            **chosen,
            **fixed,
        )


def dag_options(
    *,
    dag_id: str,
    dag_kwargs: dict[str, Any],
    tags: Sequence[str],
    source: TableRef | None = None,
    settings: Mapping[str, Any] | None = None,
    pool: str | None = None,
    base_args: Mapping[str, Any] = DEFAULT_ARGS,
    keywords: tuple[str, ...] = TABLE_KEYWORDS,
) -> DagOptions:
    """The one prologue of every factory. ``dag_kwargs`` are the factory's ``**dag_kwargs``: the
    table keywords of before, ``default_args``, ``start_date`` and ``tags`` are taken out of them;
    the rest goes to ``DAG(...)``. ``keywords``: the table keywords the factory takes (a DAG of no
    meetings table: ``()``, or ``("daily_conn_id",)``; then no settings layers are built here, and
    any other table keyword reaches ``DAG(...)``, which refuses it)."""
    kwargs = dict(dag_kwargs)
    ref = TableRef.resolve(source, {key: kwargs.pop(key, None) for key in keywords})
    table = "table" in keywords
    layers = provisioning_layers(identity=ref.identity(), settings=settings) if table else None
    return DagOptions(
        dag_id=dag_id,
        source=ref,
        layers=layers,
        pool=pool or pool_name(),
        default_args=dag_defaults(kwargs.pop("default_args", None), base_args),
        tags=tuple(kwargs.pop("tags") if "tags" in kwargs else tags),
        start_date=kwargs.pop("start_date", None) or START_DATE,
        dag_kwargs=kwargs,
    )
