"""Running a SQL model on DuckDB, in the worker like any asset function.

The runner hands a SQL asset each upstream as a lazy DuckDB relation over
exactly the partitions its mapping selects (read through the Store
protocol). A model that reads one upstream and uses no parameter runs on that
relation's own connection (no copy). Otherwise :class:`SqlRunner` keeps of
each input only the columns the query reads, registers it under its view name
in a private in-memory DuckDB, and runs the transpiled query with the
partition's bounds as bound parameters (``$partition_start``,
``$partition_end``, ``$partition_key``): they are never pasted into the SQL
text, so no partition key can change the query. The session time zone is the
partitions' own, so a ``DATE`` compared with ``$partition_start`` means the
local day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from partita.context import AssetContext
from partita.errors import PartitaError
from partita.sql.model import SqlModel

__all__ = ["SqlRunner", "bound_parameters"]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def bound_parameters(model: SqlModel, context: AssetContext | None) -> dict[str, Any]:
    """The values of the parameters ``model`` uses, for the partition of ``context``."""
    values: dict[str, Any] = {}
    window = None if context is None else context.time_window
    for name in model.parameters:
        if name == "partition_key":
            if context is None or context.partition_key is None:
                raise PartitaError("$partition_key is used, but the asset has no partitions")
            values[name] = context.partition_key
        else:
            if window is None:
                raise PartitaError(f"${name} is used, but the asset has no time partitions")
            values[name] = window.start if name == "partition_start" else window.end
    return values


class SqlRunner:
    """The function of a SQL asset: ``SqlRunner(model)(context=..., **inputs)``.

    Returns the query's rows as a ``pyarrow.Table``. Picklable (it holds only
    the model's text).
    """

    def __init__(self, model: SqlModel, key: str) -> None:
        self.model = model
        self.key = key
        self.__name__ = key.replace("/", "__")
        self.__qualname__ = self.__name__

    def __repr__(self) -> str:
        return f"<sql model {self.key}>"

    def __call__(self, context: AssetContext | None = None, **inputs: Any) -> pa.Table:
        """Run the query over ``inputs`` (per view name: a relation, table or frame)."""
        parameters = bound_parameters(self.model, context)
        if len(inputs) == 1 and not parameters:
            ((view, value),) = inputs.items()
            if _is_relation(value):  # run where the input is scanned: no copy between databases
                table: pa.Table = value.query(view, self.model.duckdb_query).to_arrow_table()
                return table
        import duckdb  # noqa: PLC0415 - only a worker that runs SQL needs it

        connection = duckdb.connect()
        try:
            window = None if context is None else context.time_window
            zone = getattr(window.start.tzinfo, "key", None) if window is not None else None
            if window is not None:
                connection.execute(f"SET TimeZone = {_literal(zone or 'UTC')}")
            for view, value in inputs.items():
                connection.register(view, self._input(value, view))
            result = connection.sql(self.model.duckdb_query, params=parameters or None)
            table = result.to_arrow_table()
            return table
        finally:
            connection.close()

    def _input(self, value: Any, view: str) -> Any:
        """One input, reduced to the columns the query reads, as Arrow."""
        used = dict(self.model.used_columns).get(view)
        columns = getattr(value, "columns", None)
        if _is_relation(value):
            if used and columns is not None and set(used) <= set(columns):
                value = value.project(", ".join(_quoted(c) for c in used))
            return value.to_arrow_table()
        return value


def _is_relation(value: object) -> bool:
    return hasattr(value, "project") and hasattr(value, "query") and hasattr(value, "columns")


def _literal(text: str) -> str:
    """A SQL string literal of a time zone name from a partitions definition."""
    return "'" + text.replace("'", "''") + "'"


def inputs_of(model: SqlModel) -> Mapping[str, str]:
    """Per view, the annotation its input is read as (a lazy DuckDB relation)."""
    return {t.view: "duckdb.DuckDBPyRelation" for t in model.tables}
