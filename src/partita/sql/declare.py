"""Declaring a SQL asset: :func:`sql_asset`, and the asset a parsed model becomes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from partita.assets import AssetDep, AssetSpec, check_common, make_key
from partita.checks import AnyCheck
from partita.errors import DefinitionError
from partita.keys import AssetKey, AssetKeyLike
from partita.mappings import PartitionMapping
from partita.partitions import PartitionsDefinition
from partita.policies import Freshness, RetryPolicy, parse_duration
from partita.sql.errors import SqlModelError, close_names
from partita.sql.model import SqlModel, query_version
from partita.sql.run import SqlRunner, inputs_of

__all__ = ["model_asset", "sql_asset"]


def _mapping_for(
    mappings: Mapping[str, PartitionMapping], names: Iterable[str]
) -> PartitionMapping | None:
    for name in names:
        if name in mappings:
            return mappings[name]
    return None


def _check_parameters(model: SqlModel, key: AssetKey, partitions: object, where: str) -> None:
    time_based = isinstance(partitions, PartitionsDefinition) and partitions.is_time
    for name in model.parameters:
        if name == "partition_key" and partitions is None:
            raise SqlModelError(
                where,
                0,
                0,
                f"{key} uses $partition_key but has no partitions",
                hint="declare partitions, or remove the parameter",
            )
        if name != "partition_key" and not time_based:
            raise SqlModelError(
                where,
                0,
                0,
                f"{key} uses ${name} but has no time partitions",
                hint="declare time partitions (DailyPartitions(...)), or remove the parameter",
            )


def model_asset(
    model: SqlModel,
    key: AssetKey,
    *,
    where: str,
    partitions: PartitionsDefinition | None = None,
    mappings: Mapping[str, PartitionMapping] | None = None,
    checks: Sequence[AnyCheck] = (),
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str = "",
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    freshness: Freshness | None = None,
    store: object | None = None,
) -> AssetSpec:
    """The asset that runs ``model`` (its inputs are its tables, read as relations)."""
    check_common(key, partitions, group, tags or {}, checks)
    _check_parameters(model, key, partitions, where)
    given = dict(mappings or {})
    deps = []
    for table in model.tables:
        mapping = _mapping_for(given, (table.name, table.key, table.view))
        dep_key = AssetKey(table.key) if "/" in table.key else None
        deps.append(AssetDep(param=table.view, key=dep_key, mapping=mapping))
    known = {n for t in model.tables for n in (t.name, t.key, t.view)}
    unknown = sorted(set(given) - known)
    if unknown:
        read = sorted({t.name for t in model.tables})
        raise SqlModelError(
            where,
            0,
            0,
            f"mappings name {unknown}, which the query does not read "
            f"(it reads {', '.join(read) if read else 'no table'})",
            suggestions=[n for u in unknown for n in close_names(u, read)],
            hint="key mappings by the table name as the query writes it, or fix a "
            "misspelled table in the query",
        )
    return AssetSpec(
        key=key,
        kind="asset",
        fn=SqlRunner(model, str(key)),
        partitions=partitions,
        deps=tuple(deps),
        code_version=query_version(model.query, model.dialect),
        group=group,
        owners=tuple(owners),
        tags=dict(tags or {}),
        metadata=dict(metadata or {}),
        description=description,
        retry=retry,
        timeout=timeout,
        freshness=freshness,
        checks=tuple(checks),
        store=store,
        context_param="context",
        annotations=dict(inputs_of(model)),
        sql_model=model,
    )


def sql_asset(
    name: str,
    query: str,
    *,
    dialect: str = "duckdb",
    key: AssetKeyLike | None = None,
    key_prefix: AssetKeyLike | None = None,
    partitions: PartitionsDefinition | None = None,
    mappings: Mapping[str, PartitionMapping] | None = None,
    checks: Sequence[AnyCheck] = (),
    group: str = "default",
    owners: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str = "",
    retry: RetryPolicy | None = None,
    timeout: float | str | None = None,
    freshness: Freshness | None = None,
    store: object | None = None,
) -> AssetSpec:
    """Declare an asset whose rows are a SQL query's result (run on DuckDB).

    The tables the query reads are its upstream assets (``sales.clean_orders``
    is ``sales/clean_orders``; a one-part name is resolved like a parameter
    name). Each reads exactly the partitions its mapping selects; the query may
    use ``$partition_start``, ``$partition_end`` and ``$partition_key``.

    Args:
        name: the asset's name (its key unless ``key=`` / ``key_prefix=``).
        query: one SELECT (CTEs, joins, window functions, UNION...).
        dialect: what the query is written in (``"snowflake"``, ``"bigquery"``,
            ``"postgres"``...); it is transpiled to DuckDB to run.
        mappings: a partition mapping per table, keyed by the name as written.
        The others: as for :func:`partita.asset`.

    The definition's ``sql_model`` (:class:`~partita.sql.SqlModel`) holds the
    normalized query, its dialect and, once in ``Definitions``, the column lineage.

    Raises:
        SqlModelError: the query cannot be parsed or run on DuckDB (with its place).
    """
    asset_key = make_key(name, key, key_prefix)
    where = f"sql asset {asset_key}"
    if not isinstance(query, str) or not query.strip():
        raise DefinitionError(f"{where}: the query must be a non-empty string")
    from partita.sql.parse import parse_query  # noqa: PLC0415 - sqlglot only to parse

    parsed = parse_query(query, dialect, where=where)
    seconds = None if timeout is None else parse_duration(timeout, what="timeout").total_seconds()
    return model_asset(
        parsed.model,
        asset_key,
        where=where,
        partitions=partitions,
        mappings=mappings,
        checks=checks,
        group=group,
        owners=owners,
        tags=tags,
        metadata=metadata,
        description=description,
        retry=retry,
        timeout=seconds,
        freshness=freshness,
        store=store,
    )
