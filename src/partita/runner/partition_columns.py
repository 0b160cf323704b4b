"""Partition columns in the data handed to an asset function.

A store's ``read`` returns each partition dimension (``date``, ``region``) as
a string column when the stored data has no column of that name, so that rows
of several partitions stay attributable (the Store protocol). The worker hands
a parameter those added columns only when its ``In(partition_columns=True)``
asks for them, and then time dimensions get their proper type: a ``date`` for
daily, weekly and monthly partitions (the period's first day), a UTC
``timestamp`` for hourly ones; other dimensions stay strings. Otherwise the
added columns are removed, so they never flow into the asset's own output by
accident. A column of that name the upstream asset wrote itself is its data:
it is always handed over, as written.

:class:`WrittenColumns` (coordinator side) finds which dimension columns an
upstream asset wrote itself, from the schema recorded with its latest build;
:class:`InputColumns` (worker side) shapes one input accordingly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.assets import AssetSpec
from partita.graph import AssetGraph
from partita.io.arrow import load_as
from partita.partitions import HourlyPartitions, MultiPartitions, PartitionsDefinition
from partita.records import CatalogReader, partition_value
from partita.runner.messages import ReadRequest

__all__ = ["InputColumns", "WrittenColumns", "dimension_definitions"]


def dimension_definitions(
    definition: PartitionsDefinition | None,
) -> dict[str, PartitionsDefinition]:
    """Each dimension's own definition, by name (one entry for a one-dimensional asset)."""
    if definition is None or not definition.dimensions:
        return {}
    if isinstance(definition, MultiPartitions):
        return dict(definition.by_name)
    return {definition.dimension: definition}


class WrittenColumns:
    """Which dimension columns an upstream asset's data holds itself (coordinator side).

    Judged from the schema recorded with the latest build of the first
    partition a task reads, cached per asset; when the run rebuilds the asset,
    from the schema of that build (already in hand: no catalog read per step).
    """

    def __init__(self, catalog: CatalogReader) -> None:
        self.catalog = catalog
        self._cache: dict[str, tuple[str, ...]] = {}

    def of(self, spec: AssetSpec, keys: Sequence[str]) -> tuple[str, ...]:
        """The dimension columns ``spec``'s stored data has itself, reading ``keys``."""
        dimensions = tuple(dimension_definitions(spec.partitions))
        if not dimensions or not keys:
            return ()
        asset = str(spec.key)
        found = self._cache.get(asset)
        if found is None:
            latest = self.catalog.latest_materialization(asset, partition_value(keys[0]))
            found = _written(dimensions, None if latest is None else latest.schema)
            self._cache[asset] = found
        return found

    def reads(self, graph: AssetGraph, reads: Sequence[ReadRequest]) -> tuple[ReadRequest, ...]:
        """``reads`` with the dimension columns each upstream wrote itself."""
        return tuple(
            replace(r, written_columns=self.of(graph.spec(r.upstream), r.keys)) for r in reads
        )

    def forget(self, asset: str) -> None:
        """``asset`` was rebuilt in this run: look at its schema again next time."""
        self._cache.pop(asset, None)

    def built(self, spec: AssetSpec, schemas: Sequence[str | None]) -> None:
        """``spec``'s asset was rebuilt in this run, writing partitions of these recorded
        schemas (JSON, ``None`` for a partition without data): judge from the first
        one; without any, look at the catalog again next time."""
        schema = next((s for s in schemas if s), None)
        if schema is None:
            self.forget(str(spec.key))
            return
        self._cache[str(spec.key)] = _written(tuple(dimension_definitions(spec.partitions)), schema)


def _written(dimensions: tuple[str, ...], schema: str | None) -> tuple[str, ...]:
    """The ``dimensions`` that a recorded schema (JSON, or ``None``) has as columns."""
    names = {str(f["name"]) for f in json.loads(schema)} if schema else set()
    return tuple(d for d in dimensions if d in names)


@dataclass(frozen=True)
class InputColumns:
    """How to shape one input: the added dimension columns to remove, or to type.

    Attributes:
        drop: added dimension columns the function does not ask for.
        typed: added time dimension columns to convert: name -> ``{key text: value}``.
        types: the Arrow type of each typed column.
    """

    drop: tuple[str, ...] = ()
    typed: dict[str, dict[str, Any]] | None = None
    types: dict[str, pa.DataType] | None = None

    @classmethod
    def plan(
        cls,
        upstream: AssetSpec,
        keys: Sequence[str],
        *,
        wanted: bool,
        written: Sequence[str],
    ) -> InputColumns:
        """What to do with ``upstream``'s dimension columns when reading ``keys``.

        ``wanted``: the parameter asked for partition columns; ``written``: the
        dimension columns the upstream data has itself (never touched).
        """
        definitions = {
            d: part
            for d, part in dimension_definitions(upstream.partitions).items()
            if d not in written
        }
        if not wanted:
            return cls(drop=tuple(definitions))
        typed: dict[str, dict[str, Any]] = {}
        types: dict[str, pa.DataType] = {}
        whole = upstream.partitions
        for dim, part in definitions.items():
            if whole is None or not part.is_time:
                continue
            hourly = isinstance(part, HourlyPartitions)
            values: dict[str, Any] = {}
            for key in keys:
                text = whole.split(key)[dim]
                start = part.time_window(text).start
                values[text] = start.astimezone(UTC) if hourly else start.date()
            typed[dim] = values
            types[dim] = pa.timestamp("us", tz="UTC") if hourly else pa.date32()
        return cls(typed=typed or None, types=types or None)

    @property
    def changes(self) -> bool:
        """Whether the read value must be reshaped at all."""
        return bool(self.drop or self.typed)

    # -- shaping a value read from a store -------------------------------------------------

    def schema(self, schema: pa.Schema) -> pa.Schema:
        """The schema after shaping."""
        fields = []
        for item in schema:
            if item.name in self.drop:
                continue
            typed = (self.types or {}).get(item.name)
            fields.append(item if typed is None else pa.field(item.name, typed))
        return pa.schema(fields, metadata=schema.metadata)

    def table(self, table: pa.Table) -> pa.Table:
        """Shape an Arrow table."""
        present = [d for d in self.drop if d in table.column_names]
        if present:
            table = table.drop_columns(present)
        for dim, values in (self.typed or {}).items():
            if dim not in table.column_names:
                continue
            assert self.types is not None
            texts = pa.array(list(values), pa.string())
            typed = pa.array(list(values.values()), self.types[dim])
            column = table[dim]
            index = pc.index_in(pc.cast(column, pa.string()), value_set=texts)
            table = table.set_column(
                table.column_names.index(dim), pa.field(dim, typed.type), pc.take(typed, index)
            )
        return table

    def reader(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """Shape a reader lazily, batch by batch."""
        schema = self.schema(reader.schema)

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                shaped = self.table(pa.Table.from_batches([batch]))
                yield from shaped.cast(schema).to_batches()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def relation(self, relation: Any) -> Any:
        """Shape a DuckDB relation lazily (one projection)."""
        columns: list[str] = []
        for name in relation.columns:
            quoted = '"' + name.replace('"', '""') + '"'
            if name in self.drop:
                continue
            values = (self.typed or {}).get(name)
            if values is None:
                columns.append(quoted)
                continue
            first = next(iter(values.values()), None)
            sql_type = "TIMESTAMPTZ" if isinstance(first, datetime) else "DATE"
            cases = " ".join(
                f"WHEN '{_sql_text(text)}' THEN {sql_type} '{_sql_text(value.isoformat())}'"
                for text, value in values.items()
            )
            case = f"CASE CAST({quoted} AS VARCHAR) {cases} END"
            columns.append(f"CAST({case} AS {sql_type}) AS {quoted}")
        return relation.project(", ".join(columns))

    def load(self, read: Any, kind: str, annotation: Any) -> Any:
        """Shape a value a store read as ``kind`` and load it as ``annotation``."""
        if not self.changes:
            return read
        if kind == "relation":
            return self.relation(read)
        if kind == "reader":
            return self.reader(read)
        return load_as(self.table(read), annotation)


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
