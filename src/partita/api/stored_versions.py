"""Re-hashing stored partitions, as the runner hashed them when it wrote them.

:func:`stored_data_version` reads one partition through the Store protocol and
hashes it with :func:`partita.versions.data_version`, leaving out what a store
adds on read and casting back a column a later write widened.
:func:`hash_stored` does it for many partitions of one asset: one read each
when reads are cheap (Parquet files), else batched reads split by partition
(every DuckDB read opens the database). ``partita verify`` uses it.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from partita.datatypes import canonical_type
from partita.errors import StorageError
from partita.io import PartitionPath, Store
from partita.keys import AssetKey
from partita.versions import data_version

__all__ = ["StoredPartition", "hash_stored", "stored_data_version"]

BATCH_PARTITIONS = 256
"""Most partitions of one asset read (and then split) in one store read."""
BATCH_ROWS = 1_000_000
"""About how many recorded rows one store read gathers, at most."""
FAST_READ_S = 0.02
"""A read of one partition faster than this: read every partition alone."""


def _recorded_type(text: str) -> pa.DataType | None:
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        return None


def _numeric(data_type: pa.DataType) -> bool:
    """Integers and floats: the types a store widens (``int32`` -> ``int64`` -> ``double``)."""
    return bool(pa.types.is_integer(data_type) or pa.types.is_floating(data_type))


def _version_of(table: pa.Table, path: PartitionPath, schema: str | None) -> tuple[str, str]:
    """The data version of one partition's rows as read (see :func:`stored_data_version`)."""
    if schema is None:
        dims = {dim for dim, _ in path}
        return data_version(table.drop_columns([n for n in table.column_names if n in dims])), ""
    fields: list[dict[str, str]] = json.loads(schema)
    columns: list[pa.ChunkedArray] = []
    names: list[str] = []
    for recorded in fields:
        name, type_text = recorded["name"], recorded["type"]
        if name not in table.column_names:
            return "", f"column {name!r} is gone"
        column = table.column(name)
        now_type = canonical_type(column.type)
        if now_type != type_text:
            changed = f"column {name!r} is {now_type}, was {type_text}"
            target = _recorded_type(type_text)
            if target is None or not (_numeric(target) and _numeric(column.type)):
                return "", changed  # not a widening a later write of another partition made
            try:
                column = pc.cast(column, target)  # safe: fails if a value does not fit
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return "", changed
        names.append(name)
        columns.append(column)
    return data_version(pa.table(columns, names=names)), ""


def stored_data_version(
    store: Store, asset: AssetKey, path: PartitionPath, schema: str | None
) -> tuple[str, str]:
    """The data version of the data stored for one partition now, hashed as the
    runner hashes what it writes, and a note on why it cannot match (``""``).

    ``schema`` is the JSON schema recorded with the partition's materialization:
    the columns a store adds on read (the partition dimensions, columns other
    partitions added to a DuckDB table) are left out, and a column widened by
    a later write of another partition is cast back to its recorded type, so
    unchanged data hashes to the recorded version.

    Raises:
        StorageError: the partition is not stored.
    """
    return _version_of(store.read(asset, [path], as_type=pa.Table), path, schema)


@dataclass(frozen=True)
class StoredPartition:
    """A stored partition to re-hash, with what its materialization recorded.

    Attributes:
        partition: the partition key (``""`` when unpartitioned).
        version: the recorded data version.
        path: where the store keeps it.
        schema: the recorded schema JSON (``None``: unknown).
        rows: the recorded row count (0: unknown).
    """

    partition: str
    version: str
    path: PartitionPath
    schema: str | None
    rows: int


_READ_ERRORS = (StorageError, pa.ArrowException, OSError)
"""What reading damaged or vanished data raises: the stores' own errors, and what Arrow,
Parquet and Delta readers raise beneath them (a file that is not Parquet, a data file
gone from a Delta table)."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _unreadable(exc: BaseException) -> StorageError:
    """``exc`` as the StorageError of an unreadable partition (one line, no colours)."""
    if isinstance(exc, StorageError):
        return exc
    text = " ".join(_ANSI.sub("", str(exc)).split()) or type(exc).__name__
    return StorageError(f"{type(exc).__name__}: {text}")


def _batches(
    store: Store, key: AssetKey, items: Sequence[StoredPartition]
) -> list[list[StoredPartition]]:
    """Runs of partitions read together: up to :data:`BATCH_PARTITIONS` of them and
    about :data:`BATCH_ROWS` recorded rows (one partition alone may be bigger).

    The first partition is read alone and timed: when that took less than
    :data:`FAST_READ_S` (a Parquet file), every partition is read alone, which
    is cheapest; otherwise (each DuckDB read opens the database) they are batched.
    """
    if not items:
        return []
    started = time.perf_counter()
    with contextlib.suppress(*_READ_ERRORS):  # an unreadable first one is reported later
        store.read(key, [items[0].path], as_type=pa.Table)
    if time.perf_counter() - started < FAST_READ_S:
        return [[item] for item in items]
    out: list[list[StoredPartition]] = []
    rows = 0
    for item in items:
        if not out or len(out[-1]) >= BATCH_PARTITIONS or rows + item.rows > BATCH_ROWS:
            out.append([])
            rows = 0
        out[-1].append(item)
        rows += item.rows
    return out


def _split(table: pa.Table, batch: Sequence[StoredPartition]) -> list[pa.Table] | None:
    """Each partition's rows of a read of ``batch`` (``None``: they cannot be told apart,
    a dimension column holds the data's own typed values)."""
    dims = [dim for dim, _ in batch[0].path]
    for dim in dims:
        if dim not in table.column_names:
            return None
        column_type = table.schema.field(dim).type
        if pa.types.is_dictionary(column_type):
            column_type = column_type.value_type
        if canonical_type(column_type) != "string":
            return None
    columns = {dim: table.column(dim).cast(pa.string()) for dim in dims}
    parts: list[pa.Table] = []
    for item in batch:
        mask = None
        for dim, value in item.path:
            equal = pc.equal(columns[dim], value)
            mask = equal if mask is None else pc.and_(mask, equal)
        parts.append(table.filter(mask))
    if sum(p.num_rows for p in parts) != table.num_rows:
        return None
    return parts


def _hash_batch(
    store: Store, key: AssetKey, batch: Sequence[StoredPartition]
) -> list[tuple[str, str] | StorageError]:
    """The stored version (and why it cannot match) of each partition in ``batch``:
    one read for the batch when its rows can be split by partition, else one each."""
    if len(batch) > 1 and batch[0].path:
        try:
            table = store.read(key, [item.path for item in batch], as_type=pa.Table)
        except _READ_ERRORS:  # one of them is unreadable: read them one by one
            table = None
        parts = None if table is None else _split(table, batch)
        if parts is not None:
            return [
                _version_of(part, item.path, item.schema)
                for part, item in zip(parts, batch, strict=True)
            ]
    found: list[tuple[str, str] | StorageError] = []
    for item in batch:
        try:
            found.append(stored_data_version(store, key, item.path, item.schema))
        except _READ_ERRORS as exc:
            found.append(_unreadable(exc))
    return found


def hash_stored(
    store: Store, key: AssetKey, items: Sequence[StoredPartition]
) -> list[tuple[str, str] | StorageError]:
    """Per item, in order: ``(stored data version, why it cannot match)``, or the
    error that kept it from being read."""
    found: list[tuple[str, str] | StorageError] = []
    for batch in _batches(store, key, items):
        found.extend(_hash_batch(store, key, batch))
    return found
