"""The one Store protocol and the values that cross it.

A store replaces exactly one partition of one asset at a time, in two steps
(write-audit-publish): :meth:`Store.stage` writes the data where readers cannot
see it and computes its data version; checks may then read the staged data
(:meth:`Store.read_staged`); :meth:`Store.publish` makes it visible atomically,
or :meth:`Store.discard` drops it and leaves the published version in place.

A publish may be *fenced* (:data:`PublishFence`): the store calls the fence
while it holds its lock of the partition, just before the data becomes
visible, so the fence's check and the publish are one step for every other
fenced publish of that partition; a fence that raises refuses the publish.
The runner fences every publish with its run's lease
(:mod:`partita.runner.fencing`).

Durability: a store's ``publish`` returns once the partition is durable (it
survives a power loss). A store may instead offer *group commit*
(:class:`GroupCommitStore`, an optional capability): stage without syncing,
then make many staged writes durable together (:meth:`GroupCommitStore.sync_staged`)
before publishing them, and their published entries together
(:meth:`GroupCommitStore.sync_published`) before the catalog records them. The
runner uses it when a store has it (:mod:`partita.runner.commit`); a store
without it keeps publish-is-durable semantics and costs its own syncs.

A store whose publish opens something costly (a database connection) may keep
it open across the publishes of one batch (:class:`PublishSessionStore`, an
optional capability): the runner publishes a batch's writes inside
``with store.publishing():``; each publish stays atomic and durable on its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from partita.datatypes import canonical_type
from partita.io.paths import PartitionPath
from partita.keys import AssetKeyLike

__all__ = [
    "GroupCommitStore",
    "LineageNamedStore",
    "PublishFence",
    "PublishSessionStore",
    "ReachableStore",
    "TableVersion",
    "VersionedStore",
    "StagedWrite",
    "Store",
    "WriteResult",
    "schema_json",
    "write_partition",
]

PublishFence = Callable[[], None]
"""Called by :meth:`Store.publish` under the store's lock of the partition, just before
the staged data becomes visible; raising refuses the publish (the staged data is
then discarded and the error raised from ``publish``)."""


def schema_json(schema: pa.Schema) -> str:
    """A compact JSON list of ``{"name", "type"}`` objects (types as in versions)."""
    fields = [{"name": field.name, "type": canonical_type(field.type)} for field in schema]
    return json.dumps(fields, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write produced.

    Attributes:
        data_version: content hash of the rows (see :mod:`partita.versions`).
        rows: row count.
        bytes: bytes written to storage (the Parquet file's size).
        schema: JSON text, a list of ``{"name": ..., "type": ...}``.
        location: where the data lives (a file path, or ``<db>::<schema>.<table>``).
    """

    data_version: str
    rows: int
    bytes: int
    schema: str
    location: str

    def schema_fields(self) -> list[dict[str, str]]:
        """The schema as a list of ``{"name", "type"}`` dicts."""
        fields: list[dict[str, str]] = json.loads(self.schema)
        return fields


@dataclass(frozen=True, slots=True)
class StagedWrite:
    """Data written but not yet visible to readers (picklable, so a worker can
    stage and another process can publish).

    Attributes:
        asset: the asset key as a string.
        partition: the partition being written.
        handle: the store's own reference to the staged data (a temp file, an
            object key, a staging table); only the store that made it reads it.
        result: the write result it will have once published (``location`` is
            the published location).
        local_parquet: an optional capability: a local Parquet file holding
            exactly the staged rows, readable in place until the write is
            published or discarded (checks scan it out of core). ``None`` when
            the store stages elsewhere; then read the rows with
            :meth:`Store.read_staged`.
    """

    asset: str
    partition: PartitionPath
    handle: str
    result: WriteResult
    local_parquet: str | None = None


@runtime_checkable
class Store(Protocol):
    """Idempotent partition-overwrite storage of asset data (DESIGN §4).

    What Partita calls, and all it calls: the runner stages, checks
    (``read_staged``) and publishes or discards; inputs are ``read``; the
    freshness report and ``partita check`` list published partitions;
    ``partita wipe`` deletes them. Every
    implementation passes ``tests/integration/test_store_conformance.py``.

    ``data`` may be anything :func:`partita.io.to_arrow_reader` accepts;
    ``as_type`` is a type annotation (``pd.DataFrame`` by default, ``pa.Table``,
    ``duckdb.DuckDBPyRelation``, ``pa.RecordBatchReader``).
    """

    def stage(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> StagedWrite:
        """Write ``data`` invisibly and compute its version."""
        ...

    def publish(self, staged: StagedWrite, fence: PublishFence | None = None) -> WriteResult:
        """Atomically replace the partition with the staged data.

        With a ``fence``: call it under the store's lock of the partition (held
        by every fenced publish of it) just before the data becomes visible; if
        it raises, discard the staged data and let the error through.
        """
        ...

    def discard(self, staged: StagedWrite) -> None:
        """Drop staged data; the published version stays."""
        ...

    def read(
        self, asset: AssetKeyLike, partitions: Sequence[PartitionPath], as_type: Any = None
    ) -> Any:
        """The published rows of ``partitions`` as one value of ``as_type``.

        Dimension columns (``date``...) are added as strings unless the data has them.
        """
        ...

    def read_staged(self, staged: StagedWrite, as_type: Any = None) -> Any:
        """The staged rows, exactly as staged (for checks between stage and publish)."""
        ...

    def list_partitions(self, asset: AssetKeyLike) -> list[PartitionPath]:
        """Every published partition of ``asset``, sorted."""
        ...

    def delete(self, asset: AssetKeyLike, partition: PartitionPath | None = None) -> None:
        """Remove one published partition, or every one of ``asset`` (``None``), with
        whatever the store keeps about them (a table, column types), so the next
        write starts the asset afresh. Deleting what is not stored does nothing."""
        ...


@runtime_checkable
class GroupCommitStore(Protocol):
    """The optional group-commit capability of a :class:`Store` (see the module's text).

    The runner's committer calls, for a batch of finished steps: ``stage_unsynced``
    (in the worker), then ``sync_staged`` for the whole batch, ``publish_unsynced``
    for each write (fenced, as :meth:`Store.publish`), ``sync_published`` for the
    whole batch, and only then records the batch in the catalog. So a staged
    file is durable before it becomes visible (no torn file after a power loss),
    and a published file and its folder entry are durable before the catalog
    says it exists.
    """

    def stage_unsynced(
        self, asset: AssetKeyLike, partition: PartitionPath, data: object
    ) -> StagedWrite:
        """:meth:`Store.stage` without making anything durable yet."""
        ...

    def sync_staged(self, staged: Sequence[StagedWrite]) -> None:
        """Make staged writes (their data and new folders) durable, together."""
        ...

    def publish_unsynced(
        self, staged: StagedWrite, fence: PublishFence | None = None
    ) -> WriteResult:
        """:meth:`Store.publish` of a synced staged write, without syncing the publish."""
        ...

    def sync_published(self, published: Sequence[StagedWrite]) -> None:
        """Make the publishes of ``published`` durable, together."""
        ...


@runtime_checkable
class PublishSessionStore(Protocol):
    """The optional capability of a :class:`Store` to keep what its publish opens (a
    database connection and its lock) open across several publishes of one thread.

    The runner's committer publishes a batch's writes to such a store inside
    ``with store.publishing():`` (stores in a stable order). Each
    :meth:`Store.publish` stays one atomic, durable publish, fenced as usual.
    """

    def publishing(self) -> AbstractContextManager[None]:
        """A context in which this thread's publishes share one opening of the store."""
        ...


@runtime_checkable
class LineageNamedStore(Protocol):
    """The optional capability of a :class:`Store` to name an asset's data as
    OpenLineage names a dataset (one dataset per asset, never per partition)."""

    def lineage_dataset(self, asset: AssetKeyLike) -> tuple[str, str]:
        """``(namespace, name)`` of the asset's data: ``("file", "/abs/folder")`` for a
        folder, ``("duckdb:///abs/file.duckdb", "db.schema.table")`` for a table."""
        ...


@runtime_checkable
class ReachableStore(Protocol):
    """The optional capability of a :class:`Store` on a remote service (object storage)
    to be checked before a run starts, so that an unreachable endpoint, a missing bucket
    or refused credentials is one clear error, not a failed step per asset."""

    def check_access(self) -> None:
        """Raise a :class:`~partita.errors.StorageError` naming the address and what to
        check when the store cannot be used (never echoing a secret)."""
        ...


@dataclass(frozen=True, slots=True)
class TableVersion:
    """One commit of a versioned table (Delta Lake) that published a partition.

    Attributes:
        version: the table's version after the commit (time travel reads it back).
        partition: the partition's label (``date=2025-03-01``; ``-`` if unpartitioned).
        data_version: the data version the commit wrote.
        committed_at: when the commit was made (UTC).
    """

    version: int
    partition: str
    data_version: str
    committed_at: datetime


@runtime_checkable
class VersionedStore(Protocol):
    """The optional capability of a :class:`Store` whose tables keep versions (Delta
    Lake): ``partita history`` shows the table version of each materialization."""

    def table_versions(self, asset: AssetKeyLike) -> list[TableVersion]:
        """Every commit of the asset's table that published a partition, newest first."""
        ...


def write_partition(
    store: Store, asset: AssetKeyLike, partition: PartitionPath, data: object
) -> WriteResult:
    """Replace one partition with ``data`` now: ``stage``, then ``publish``; the staged
    data is discarded if publishing fails. What every store's ``write`` does."""
    staged = store.stage(asset, partition, data)
    try:
        return store.publish(staged)
    except BaseException:
        store.discard(staged)
        raise
