"""The values a SQL asset carries: :class:`SqlModel`, its tables and its column lineage.

They are plain frozen dataclasses of strings and tuples (picklable, JSON
round-trippable with :meth:`SqlModel.to_json` / :meth:`SqlModel.from_json`),
so a parsed model can be cached on disk and recorded in the catalog without
sqlglot objects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "PARTITION_PARAMETERS",
    "ColumnLineage",
    "ColumnSource",
    "SqlModel",
    "TableRef",
    "query_version",
]

PARTITION_PARAMETERS = ("partition_start", "partition_end", "partition_key")
"""The bound parameters a query may use (``$partition_start`` ...)."""


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table the query reads, as written, and the input it becomes.

    Attributes:
        name: the reference as written (``sales.clean_orders``).
        key: the asset key it names (``sales/clean_orders``); the asset graph
            resolves a one-part name such as ``clean_orders`` to a unique asset.
        view: the name the query reads the input under when it runs
            (``sales__clean_orders``), also the asset's parameter name.
        line, column: where it is first written (1-based; 0 when unknown).
    """

    name: str
    key: str
    view: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class ColumnSource:
    """One upstream column an output column derives from."""

    asset: str
    column: str


@dataclass(frozen=True, slots=True)
class ColumnLineage:
    """The upstream columns of one output column.

    ``resolved`` is ``False`` when part of its lineage could not be traced (an
    upstream whose columns are unknown, a ``*`` over such an upstream): the
    listed sources are then the ones that could be.
    """

    column: str
    sources: tuple[ColumnSource, ...] = ()
    resolved: bool = True


@dataclass(frozen=True, slots=True)
class SqlModel:
    """A SQL asset's query, as the asset definition exposes it (``spec.sql_model``).

    Attributes:
        query: the query normalized by sqlglot in its own dialect (one line, no
            comments; the code version hashes it).
        dialect: the dialect it is written in (``"duckdb"`` unless declared).
        duckdb_query: the query transpiled to DuckDB, reading each table under
            its :attr:`TableRef.view` name; what runs.
        tables: the tables it reads, in order of first use.
        parameters: the partition parameters it uses (of :data:`PARTITION_PARAMETERS`).
        columns: the output columns, ``None`` when they cannot be known (a
            ``*`` over an upstream of unknown columns).
        column_lineage: per output column, the upstream asset columns it derives
            from (filled in once the upstream schemas are known, see
            :func:`partita.sql.resolve_models`).
        used_columns: per view, the upstream columns the query reads (``None``
            for a view when unknown: it is read whole).
        path: the ``.sql`` file it comes from, ``""`` for :func:`sql_asset`.
    """

    query: str
    dialect: str
    duckdb_query: str
    tables: tuple[TableRef, ...] = ()
    parameters: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    column_lineage: tuple[ColumnLineage, ...] = ()
    used_columns: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    path: str = ""
    source_text: str = field(default="", repr=False, compare=False)

    def lineage_of(self, column: str) -> ColumnLineage | None:
        """The lineage of one output column, if known."""
        return next((item for item in self.column_lineage if item.column == column), None)

    def with_analysis(
        self,
        columns: tuple[str, ...] | None,
        lineage: tuple[ColumnLineage, ...],
        used: tuple[tuple[str, tuple[str, ...] | None], ...],
    ) -> SqlModel:
        """This model with its output columns, lineage and used columns filled in."""
        return replace(self, columns=columns, column_lineage=lineage, used_columns=used)

    def lineage_json(self) -> str:
        """The column lineage as compact JSON: ``[{"column", "sources", "resolved"}]``."""
        return json.dumps(
            [
                {
                    "column": item.column,
                    "sources": [[s.asset, s.column] for s in item.sources],
                    "resolved": item.resolved,
                }
                for item in self.column_lineage
            ],
            separators=(",", ":"),
        )

    def record_json(self) -> str:
        """What the catalog records with a build: ``{"dialect", "query", "column_lineage"}``."""
        lineage = json.loads(self.lineage_json())
        record = {"dialect": self.dialect, "query": self.query, "column_lineage": lineage}
        return json.dumps(record, separators=(",", ":"))

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (:meth:`from_json` reads it back)."""
        return {
            "query": self.query,
            "dialect": self.dialect,
            "duckdb_query": self.duckdb_query,
            "tables": [[t.name, t.key, t.view, t.line, t.column] for t in self.tables],
            "parameters": list(self.parameters),
            "columns": None if self.columns is None else list(self.columns),
            "column_lineage": json.loads(self.lineage_json()),
            "used_columns": [
                [view, None if cols is None else list(cols)] for view, cols in self.used_columns
            ],
            "path": self.path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SqlModel:
        """The model :meth:`to_json` wrote."""
        return cls(
            query=data["query"],
            dialect=data["dialect"],
            duckdb_query=data["duckdb_query"],
            tables=tuple(TableRef(*row) for row in data["tables"]),
            parameters=tuple(data["parameters"]),
            columns=None if data["columns"] is None else tuple(data["columns"]),
            column_lineage=parse_lineage(data["column_lineage"]),
            used_columns=tuple(
                (view, None if cols is None else tuple(cols)) for view, cols in data["used_columns"]
            ),
            path=data.get("path", ""),
        )


def parse_lineage(items: list[dict[str, Any]]) -> tuple[ColumnLineage, ...]:
    """Column lineage from its JSON form (:meth:`SqlModel.lineage_json`)."""
    return tuple(
        ColumnLineage(
            column=str(item["column"]),
            sources=tuple(ColumnSource(str(a), str(c)) for a, c in item["sources"]),
            resolved=bool(item["resolved"]),
        )
        for item in items
    )


def query_version(query: str, dialect: str) -> str:
    """The code version of a normalized query: 16 hex characters of its SHA-256."""
    return hashlib.sha256(f"sql\0{dialect}\0{query}".encode()).hexdigest()[:16]
