"""Outputs handed to readers in the same worker, in memory: no read-back from Parquet.

When a worker stages a partition of an asset stored in a plain
:class:`~partita.io.ParquetStore`, it keeps the Arrow table it wrote, keyed by
``(asset, partition key, data version)``. A later task of the same worker
whose :class:`~partita.runner.messages.ReadRequest` names that partition *with
that data version* (the coordinator's current version of it) is handed the
kept table instead of a read of the file. Exactly the value a read of the store
would give, or nothing:

- the table is kept as the file reads back: cast to the Arrow schema of the
  staged file's footer (Parquet has no seconds unit, a pandas categorical of
  ``large_string`` reads back as ``string``...); a value whose cast would lose
  data (a ``date64`` with a time of day) is not kept;
- a kept table is used only while the published file is the staged one: its
  inode, size and modification time (a rename keeps them), checked with one
  ``stat`` at each use, so a partition rebuilt, deleted or wiped behind the
  worker's back is read from the store (or fails as that read fails);
- several partitions are joined as the store's scan joins them: in the order
  asked, each with its dimension columns added as strings unless the data has
  them, under the schema metadata of the first (pandas' index description);
  when their columns differ (a column added later, a widened type) the store
  reads them instead;
- a DuckDB relation is always read from the store (DuckDB scans the files);
- only values already in memory are kept (a pandas DataFrame, an Arrow Table or
  RecordBatch): a reader, generator or DuckDB relation streams to the file out
  of core and is read back as before. A DataFrame's numeric columns are shared
  with the frame by Arrow's conversion, so its table is copied once: a frame
  its function changes later cannot change what readers get.

The cache is bounded in bytes (:data:`OUTPUT_CACHE_BYTES`, least recently used
out first); an output larger than the bound is not kept. It belongs to one
:class:`~partita.runner.worker.WorkerRuntime`: a worker process has its own,
the thread and in-process executors share theirs. Other stores (DuckDB: its
reads return what DuckDB makes of the types) are always read.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from partita.io import ParquetStore, StagedWrite, Store
from partita.io.arrow import THREADED_ROWS, load_as, resolve_type, with_partition_columns
from partita.io.paths import PartitionPath

__all__ = ["OUTPUT_CACHE_BYTES", "OutputCache", "in_memory_table"]

OUTPUT_CACHE_BYTES = 256 << 20
"""Default bound of one worker's output cache: 256 MiB of Arrow buffers."""

_SCHEMAS_KEPT = 256
"""Read-back schemas remembered per cache (one per distinct written schema)."""

_FileId = tuple[int, int, int]


def _file_id(path: str) -> _FileId | None:
    try:
        found = Path(path).stat()
    except OSError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def in_memory_table(value: object) -> tuple[pa.Table, bool] | None:
    """``value`` as the Arrow table a store writes, if it is already in memory.

    Returns ``(table, borrowed)``: ``borrowed`` when the table may share buffers
    with a mutable pandas frame; ``None`` for any other value (a reader, a
    generator, a relation: they stream, and are not kept).
    """
    if isinstance(value, pa.Table):
        return value, False
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value]), False
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        # the store's own conversion (threads only for a large frame)
        threads = None if len(value) >= THREADED_ROWS else 1
        return pa.Table.from_pandas(value, nthreads=threads), True
    return None


def _owned(table: pa.Table) -> pa.Table:
    """A copy of ``table`` whose buffers are Arrow's own (none borrowed from numpy)."""
    if table.num_rows == 0:
        return table
    # concatenating with an empty slice allocates new buffers for every column
    return pa.concat_tables([table, table.slice(0, 0)]).combine_chunks()


@dataclass(frozen=True, slots=True)
class _Entry:
    table: pa.Table
    size: int
    location: str
    file: _FileId


def _joinable(tables: list[pa.Table]) -> list[pa.Table] | None:
    """``tables`` with the schema metadata the store's scan gives their join (the
    first's, as ``pyarrow.unify_schemas`` keeps it: e.g. pandas' index of the first
    partition); ``None`` when their fields differ (names, types, field metadata)."""
    first = tables[0].schema
    for table in tables[1:]:
        schema = table.schema
        if len(schema) != len(first) or not all(
            a.equals(b, check_metadata=True) for a, b in zip(schema, first, strict=True)
        ):
            return None
    if all(t.schema.metadata == first.metadata for t in tables[1:]):
        return tables
    unified = pa.unify_schemas([t.schema for t in tables], promote_options="permissive")
    return [t.replace_schema_metadata(unified.metadata) for t in tables]


class OutputCache:
    """Tables a worker staged, by ``(asset, partition key, data version)``, bounded in bytes.

    Thread-safe (the thread executor's workers share one).

    Args:
        max_bytes: the bound (``0`` keeps nothing).
    """

    def __init__(self, max_bytes: int = OUTPUT_CACHE_BYTES) -> None:
        self.max_bytes = max(0, max_bytes)
        self.bytes = 0
        self.hits = 0
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._readback: OrderedDict[bytes, pa.Schema] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def serves(store: Store) -> bool:
        """Whether reads of ``store`` equal the tables staged to it (a plain ParquetStore)."""
        return type(store) is ParquetStore

    def _readback_schema(self, table: pa.Table, staged: StagedWrite) -> pa.Schema | None:
        """The schema the staged file reads back with (from its footer, once per schema)."""
        written = table.schema
        metadata = written.metadata or {}
        if b"ARROW:schema" in metadata:
            return None
        key = written.remove_metadata().serialize().to_pybytes()
        with self._lock:
            found = self._readback.get(key)
        if found is None:
            if staged.local_parquet is None:
                return None
            try:
                found = pq.read_schema(staged.local_parquet).remove_metadata()
            except (OSError, pa.ArrowException):
                return None
            with self._lock:
                self._readback[key] = found
                while len(self._readback) > _SCHEMAS_KEPT:
                    self._readback.popitem(last=False)
        return found.with_metadata(written.metadata) if written.metadata else found

    def keep(
        self, store: Store, key: str, staged: StagedWrite, table: pa.Table, *, borrowed: bool
    ) -> bool:
        """Keep ``table``, just staged to ``store`` as partition ``key`` of its asset.

        Call right after a successful stage, before the staged file is published
        or discarded (it is looked at: its footer's schema, its identity). Kept
        only when the store qualifies, the table fits, and it reads back exactly.
        Returns whether it was kept.
        """
        if not self.serves(store) or staged.local_parquet is None:
            return False
        size = table.get_total_buffer_size()
        if size > self.max_bytes:
            return False
        file = _file_id(staged.local_parquet)
        schema = self._readback_schema(table, staged)
        if file is None or schema is None:
            return False
        if borrowed:
            table = _owned(table)
        if not table.schema.equals(schema, check_metadata=True):
            try:
                table = table.cast(schema, safe=True)
            except (pa.ArrowException, ValueError):
                return False
        size = table.get_total_buffer_size()
        if size > self.max_bytes:
            return False
        entry = _Entry(table, size, staged.result.location, file)
        name = (staged.asset, key, staged.result.data_version)
        with self._lock:
            old = self._entries.pop(name, None)
            if old is not None:
                self.bytes -= old.size
            self._entries[name] = entry
            self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self.bytes -= dropped.size
        return True

    def _take(self, asset: str, key: str, version: str) -> pa.Table | None:
        name = (asset, key, version)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            self._entries.move_to_end(name)
        if _file_id(entry.location) != entry.file:  # rebuilt, deleted, or never published
            with self._lock:
                if self._entries.get(name) is entry:
                    del self._entries[name]
                    self.bytes -= entry.size
            return None
        return entry.table

    def read(
        self,
        store: Store,
        asset: str,
        keys: Sequence[str],
        versions: Sequence[str],
        partitions: Sequence[PartitionPath],
        as_type: Any = None,
        leave_out: Collection[str] = (),
    ) -> Any:
        """What ``store.read`` of ``partitions`` (of ``keys`` at ``versions``) as
        ``as_type`` would give, from kept tables; ``None`` unless every one is kept and
        current. A pandas frame or table comes from the table, a reader from a dataset
        over it (as the store's scan); a DuckDB relation is never served (DuckDB reads
        in-memory Arrow unlike files in corner cases: a null duration fails).
        Partition columns named in ``leave_out`` are not added (the reader drops
        them: adding a column only to drop it costs a copy)."""
        kind = resolve_type(as_type)
        if kind == "relation" or not keys or len(versions) != len(keys):
            return None
        if not self.serves(store) or not self._entries:
            return None
        tables: list[pa.Table] = []
        for key, version in zip(keys, versions, strict=True):
            found = self._take(asset, key, version) if version else None
            if found is None:
                return None
            tables.append(found)
        joinable = _joinable(tables)
        if joinable is None:
            return None  # the store's scan unifies differing columns: let it
        shaped = [
            with_partition_columns(t, tuple((d, v) for d, v in p if d not in leave_out))
            for t, p in zip(joinable, partitions, strict=True)
        ]
        with self._lock:
            self.hits += len(keys)
        table = shaped[0] if len(shaped) == 1 else pa.concat_tables(shaped)
        if kind == "reader":
            return load_as(ds.dataset(table), as_type)
        return load_as(table, as_type)
