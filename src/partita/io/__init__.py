"""The IO layer: idempotent partition-overwrite stores (DESIGN §4).

One small :class:`Store` protocol (stage, publish, discard, read,
read_staged, list_partitions; :func:`write_partition` is stage + publish) with
two implementations,
:class:`ParquetStore` (Hive-style folders, atomic rename) and
:class:`DuckDBStore` (one table per asset, delete + insert in one transaction).
Data crosses the protocol as Arrow; :func:`to_arrow_reader` converts what an
asset returns and :func:`load_as` gives a consumer the type it annotates.
Stores know nothing of the asset graph: a partition is a :data:`PartitionPath`.
"""

from __future__ import annotations

from partita.io.arrow import load_as, resolve_type, to_arrow_reader
from partita.io.delta_store import DeltaStore
from partita.io.duckdb_store import DuckDBStore
from partita.io.parquet import ParquetStore
from partita.io.paths import PartitionPath, partition_label, validate_partition
from partita.io.protocol import (
    GroupCommitStore,
    LineageNamedStore,
    PublishFence,
    PublishSessionStore,
    ReachableStore,
    StagedWrite,
    Store,
    TableVersion,
    VersionedStore,
    WriteResult,
    write_partition,
)

__all__ = [
    "DeltaStore",
    "DuckDBStore",
    "ParquetStore",
    "PartitionPath",
    "PublishFence",
    "PublishSessionStore",
    "ReachableStore",
    "GroupCommitStore",
    "LineageNamedStore",
    "StagedWrite",
    "Store",
    "TableVersion",
    "VersionedStore",
    "WriteResult",
    "load_as",
    "partition_label",
    "resolve_type",
    "to_arrow_reader",
    "validate_partition",
    "write_partition",
]
