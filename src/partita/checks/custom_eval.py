"""Running a custom ``@check`` function on staged data."""

from __future__ import annotations

import os
import time
import traceback
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from partita.checks.custom import CheckDefinition, CheckResult, Severity
from partita.checks.data import CheckData
from partita.checks.outcome import CheckOutcome
from partita.datatypes import DataKind
from partita.errors import StorageError

if TYPE_CHECKING:
    import duckdb

__all__ = ["run_custom"]


class _NoColumnsError(Exception):
    """DuckDB cannot make a relation of data with no columns."""


def _has_no_columns(data: CheckData) -> bool:
    if isinstance(data, pa.RecordBatchReader | pa.Table):
        return len(data.schema) == 0
    return len(pq.read_schema(os.fspath(data))) == 0


def _load(data: CheckData, kind: DataKind, connection: duckdb.DuckDBPyConnection) -> object:
    if kind == "relation" and _has_no_columns(data):
        raise _NoColumnsError
    if kind == "reader":
        if isinstance(data, pa.RecordBatchReader):
            return data
        if isinstance(data, pa.Table):
            return data.to_reader()
        parquet = pq.ParquetFile(os.fspath(data))  # streamed batch by batch
        return pa.RecordBatchReader.from_batches(parquet.schema_arrow, parquet.iter_batches())
    if isinstance(data, pa.RecordBatchReader):
        table = data.read_all()
    elif isinstance(data, pa.Table):
        table = data
    elif kind == "relation":
        literal = "'" + os.fspath(data).replace("'", "''") + "'"
        return connection.sql(f"SELECT * FROM read_parquet({literal})")
    else:
        table = pq.read_table(os.fspath(data))
    if kind == "relation":
        return connection.from_arrow(table)
    return table.to_pandas() if kind == "pandas" else table


def _interpret(
    definition: CheckDefinition, result: object
) -> tuple[bool, Severity, dict[str, Any], str]:
    """(passed, severity, metadata, message) from what the function returned."""
    if isinstance(result, CheckResult):
        severity = result.severity or definition.severity
        return result.passed, severity, dict(result.metadata), result.message
    numpy_bool = type(result).__module__ == "numpy" and type(result).__name__ in ("bool", "bool_")
    if isinstance(result, bool) or numpy_bool:
        return bool(result), definition.severity, {}, ""
    return (
        False,
        definition.severity,
        {"returned": repr(result)[:200]},
        f"check {definition.name!r} returned a {type(result).__name__}; "
        "return a bool or a CheckResult",
    )


def run_custom(
    definition: CheckDefinition,
    data: CheckData,
    context: object | None = None,
    *,
    partition: str | None = None,
) -> CheckOutcome:
    """Run a custom check on staged data and return its outcome.

    The data is loaded as the function's data parameter asks
    (``definition.data_kind``); ``context`` is passed when the function takes
    one. An exception raised by the function does not propagate: the outcome
    fails, its message carries the exception's first line and its metadata the
    traceback. ``partition`` defaults to ``context.partition_key``.

    Raises:
        StorageError: the data cannot be read.
    """
    if partition is None:
        key = getattr(context, "partition_key", None)
        partition = key if isinstance(key, str) else None
    common: dict[str, Any] = {
        "name": definition.name,
        "kind": "custom",
        "partition": partition,
    }
    import duckdb  # noqa: PLC0415  (~0.1 s: only when a custom check runs)

    connection = duckdb.connect()
    started = time.perf_counter()
    try:
        try:
            loaded = _load(data, definition.data_kind, connection)
        except _NoColumnsError:
            return CheckOutcome(
                severity=definition.severity,
                passed=False,
                message=f"check {definition.name!r}: the data has no columns, and DuckDB "
                "cannot make a relation of it (take a pd.DataFrame or pa.Table instead)",
                duration_s=time.perf_counter() - started,
                metadata={"error": True},
                **common,
            )
        except (OSError, pa.ArrowInvalid, duckdb.Error) as exc:
            raise StorageError(f"cannot read the staged data for check: {exc}") from exc
        kwargs: dict[str, Any] = {definition.data_param: loaded}
        if definition.context_param is not None:
            kwargs[definition.context_param] = context
        try:
            result = definition.fn(**kwargs)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            return CheckOutcome(
                severity=definition.severity,
                passed=False,
                message=f"check {definition.name!r} raised {type(exc).__name__}: {first}".rstrip(
                    ": "
                ),
                duration_s=time.perf_counter() - started,
                metadata={"exception": type(exc).__name__, "traceback": traceback.format_exc()},
                **common,
            )
        passed, severity, metadata, message = _interpret(definition, result)
        return CheckOutcome(
            severity=severity,
            passed=passed,
            message=message or ("passed" if passed else "failed"),
            duration_s=time.perf_counter() - started,
            metadata=metadata,
            **common,
        )
    finally:
        connection.close()
