"""ParquetStore on object storage: immutable data objects and a conditionally put pointer.

``ParquetStore("s3://bucket/prefix")`` is an :class:`ObjectParquetStore` (see
:mod:`partita.io.object_store` for URLs and credentials). Object stores cannot
rename atomically, so a partition is published by replacing a small *pointer*
object, never by overwriting data:

```text
<prefix>/<asset/key>/<dim>=<value>/.../part-<unique>.parquet   data (written once, never changed)
<prefix>/<asset/key>/<dim>=<value>/.../_partita_current.json   the pointer: which part is published
<prefix>/<asset/key>/_partita_schema.json                      the asset's schema record
```

- ``stage`` streams the data to a local temp file (computing the data version),
  uploads it as a new ``part-<unique>.parquet`` (created with ``If-None-Match``,
  multipart when large: an object appears whole or not at all), and removes the
  temp file. Nobody reads an object the pointer does not name.
- ``publish`` checks the asset's schema (recorded with a conditional put), calls
  the fence, then replaces the pointer with a *conditional put*: ``If-Match`` the
  ETag it read (``If-None-Match: *`` for a first publish). Another publish of the
  partition in between makes it fail (412); the publish then reads the pointer
  again, calls the fence again and retries. Only then is the superseded object
  deleted, and any other ``part-`` object of the partition older than
  ``orphan_grace`` (left by a killed writer).
- ``read`` reads the pointer, then the object it names; an object deleted in
  between (it was just superseded) makes it read the pointer again.

Failure cases: a writer killed before the pointer is replaced leaves the
published version untouched (its part object is an orphan, removed by a later
publish of that partition once older than ``orphan_grace``); killed after it,
the new version is published and the superseded object stays until the next
publish deletes it as an orphan. A pointer is one small object, put whole.
Within a process, publishes of an asset also hold a lock, so a fence and its
publish are one step for the others; across processes and machines the
conditional put is what serializes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from partita.datatypes import canonical_type
from partita.errors import SchemaChangeError, StorageError
from partita.io.arrow import load_as, to_arrow_reader, with_partition_columns
from partita.io.asset_schema import AssetSchema, unify_columns
from partita.io.object_store import CONFLICTS, ObjectLocation
from partita.io.parquet import _PAUSE_IN_PUBLISH, ParquetStore, _pause_before_rename
from partita.io.paths import (
    PartitionPath,
    decode_segment,
    object_segments,
    partition_label,
    validate_partition,
)
from partita.io.protocol import PublishFence, StagedWrite, WriteResult, schema_json
from partita.io.staging import write_parquet
from partita.keys import AssetKey, AssetKeyLike

__all__ = ["POINTER", "SCHEMA_RECORD", "ObjectParquetStore"]

POINTER = "_partita_current.json"
"""The pointer object of a partition (``_``-prefixed: dataset readers skip it)."""
SCHEMA_RECORD = "_partita_schema.json"
"""The asset's schema record (see :mod:`partita.io.asset_schema`)."""
_PART_PREFIX = "part-"
_FORMAT = 1
_ATTEMPTS = 50
"""Conditional puts tried before a publish gives up (each loses to another publish)."""
_READ_ATTEMPTS = 20

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _publish_lock(name: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


class ObjectParquetStore(ParquetStore):
    """Partitions as Parquet objects under a URL of object storage (``s3://bucket/prefix``).

    Made by ``ParquetStore(url)``; the same protocol and semantics as a local
    ``ParquetStore`` (module text for the publish design). It subclasses
    ``ParquetStore`` only so that ``ParquetStore(url)`` can return it (see
    ``ParquetStore.__new__``): it overrides every public method and uses none of
    the local store's internals (files, locks, fsyncs).

    Args:
        root: ``s3://bucket/prefix`` (also ``gs://``, ``az://``, ``abfs://``).
        durable: accepted for symmetry; a put is durable when it returns.
        options: client settings overriding the environment (``endpoint``,
            ``region``...); no secrets (they pickle with the store).
        orphan_grace: how old a ``part-`` object that no pointer names must be
            before a publish of its partition deletes it (a writer may still be
            between stage and publish until then).
    """

    url: str

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        durable: bool = True,
        options: Mapping[str, str] | None = None,
        orphan_grace: timedelta = timedelta(days=1),
    ) -> None:
        self.location = ObjectLocation(str(root), dict(options or {}))
        self.url = self.location.url
        self.durable = durable
        self.orphan_grace = orphan_grace

    def __getstate__(self) -> dict[str, object]:
        return {"location": self.location, "durable": self.durable, "grace": self.orphan_grace}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.location = state["location"]
        self.url = self.location.url
        self.durable = state["durable"]
        self.orphan_grace = state["grace"]

    def __repr__(self) -> str:
        return f"ParquetStore({self.url!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectParquetStore):
            return NotImplemented
        return (self.url, self.location.options) == (other.url, other.location.options)

    def __hash__(self) -> int:
        return hash((ObjectParquetStore, self.url))

    def lineage_dataset(self, asset: AssetKeyLike) -> tuple[str, str]:
        """``("s3://bucket", "prefix/<asset/key>")``, as OpenLineage names object storage."""
        scheme, rest = self.url.split("://", 1)
        bucket, _, prefix = rest.partition("/")
        name = "/".join([p for p in (prefix, *AssetKey.parse(asset).path) if p])
        return f"{scheme}://{bucket}", name

    def check_access(self) -> None:
        """List the store's prefix once (:class:`~partita.io.protocol.ReachableStore`).

        Raises:
            StorageError: the endpoint cannot be reached, the bucket does not exist or
                refuses the credentials (naming the URL and what to check).
        """
        self.location.client()

    # -- object names ----------------------------------------------------------------------

    @staticmethod
    def _asset_prefix(key: AssetKey) -> str:
        return "/".join(object_segments(key, ()))

    @staticmethod
    def _folder(key: AssetKey, partition: PartitionPath) -> str:
        return "/".join(object_segments(key, partition))

    def _pointer(self, folder: str) -> tuple[dict[str, Any] | None, str | None]:
        """The partition's pointer (``None`` when unpublished) and its ETag."""
        found = self.location.get(f"{folder}/{POINTER}")
        if found is None:
            return None, None
        try:
            document: dict[str, Any] = json.loads(found[0])
            if document.get("format") != _FORMAT or not isinstance(document["object"], str):
                raise ValueError(document.get("format"))
        except (ValueError, KeyError, TypeError):
            raise StorageError(
                f"{self.location.join(folder, POINTER)}: not a pointer this version reads",
                hint="it was written by another program or version; wipe the asset",
            ) from None
        return document, found[1]

    # -- schema ----------------------------------------------------------------------------

    def _pointers_schema(self, key: AssetKey) -> AssetSchema | None:
        def pointers() -> Iterator[tuple[PartitionPath, Mapping[str, str]]]:
            for partition in self.list_partitions(key):
                pointer, _ = self._pointer(self._folder(key, partition))
                if pointer is not None:
                    fields = json.loads(pointer["schema"])
                    yield partition, {f["name"]: f["type"] for f in fields}

        return unify_columns(pointers(), str(key))

    def _schema_after(
        self, key: AssetKey, partition: PartitionPath, columns: dict[str, str]
    ) -> tuple[AssetSchema, AssetSchema | None, str | None]:
        """The asset's schema once the write is published, its record now, and the
        record's ETag (the record decides when it accepts; else the pointers do)."""
        where = f"{key} [{partition_label(partition)}]"
        dims = [d for d, _ in partition]
        found = self.location.get(f"{self._asset_prefix(key)}/{SCHEMA_RECORD}")
        recorded = AssetSchema.from_json(found[0]) if found else None
        etag = found[1] if found else None
        if recorded is not None:
            try:
                return recorded.evolve(dims, columns, str(key), where), recorded, etag
            except SchemaChangeError:
                pass  # the record may be wider than the published partitions: they decide
        published = self._pointers_schema(key)
        if published is None:
            return AssetSchema(tuple(dims), columns), recorded, etag
        return published.evolve(dims, columns, str(key), where), recorded, etag

    def _check_and_record(
        self, key: AssetKey, partition: PartitionPath, columns: dict[str, str]
    ) -> None:
        """Check the write against the asset's schema; record a changed one (conditional put)."""
        for _ in range(_ATTEMPTS):
            evolved, recorded, etag = self._schema_after(key, partition, columns)
            if evolved == recorded:
                return
            mode: Any = "create" if etag is None else {"e_tag": etag}
            try:
                record = f"{self._asset_prefix(key)}/{SCHEMA_RECORD}"
                self.location.put(record, evolved.to_json(), mode)
                return
            except CONFLICTS:
                time.sleep(0.01)
        raise StorageError(f"{self.url}/{key}: the schema record kept changing; giving up")

    # -- writing ---------------------------------------------------------------------------

    def stage(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> StagedWrite:
        """Upload ``data`` as a new object no reader looks at (the pointer does not name it).

        Raises:
            StorageError: no data, an invalid partition, a partition column that
                disagrees with ``partition``, an incompatible type change, or the
                object store cannot be reached.
        """
        key = AssetKey.parse(asset)
        part = validate_partition(partition)
        reader = to_arrow_reader(data)
        if reader is None:
            raise StorageError(f"{key}: no data to store (the asset returned None)")
        folder = self._folder(key, part)
        columns = {field.name: canonical_type(field.type) for field in reader.schema}
        self._schema_after(key, part, columns)  # refuse an incompatible write before uploading
        name = f"{_PART_PREFIX}{time.time_ns():x}-{secrets.token_hex(8)}.parquet"
        handle, local = tempfile.mkstemp(prefix=".partita-upload-", suffix=".parquet")
        os.close(handle)
        try:
            staged = write_parquet(reader, Path(local), part, durable=False)
            self.location.put(f"{folder}/{name}", Path(local), "create")
        finally:
            with contextlib.suppress(FileNotFoundError):
                Path(local).unlink()
        result = WriteResult(
            data_version=staged.data_version,
            rows=staged.rows,
            bytes=staged.bytes,
            schema=schema_json(staged.schema),
            location=self.location.join(folder) + "/",
        )
        return StagedWrite(str(key), part, f"{folder}/{name}", result)

    def stage_unsynced(
        self, asset: AssetKeyLike, partition: PartitionPath, data: object
    ) -> StagedWrite:
        """:meth:`stage` (an uploaded object is durable: there is nothing to defer)."""
        return self.stage(asset, partition, data)

    def sync_staged(self, staged: Sequence[StagedWrite]) -> None:
        """Nothing to do: staged objects are durable once uploaded."""

    def publish(self, staged: StagedWrite, fence: PublishFence | None = None) -> WriteResult:
        """Point the partition at the staged object (a conditional put of its pointer).

        The schema is checked again and a changed one recorded first; the fence is
        called just before each attempt of the pointer's put (again after losing a
        race to another publish). When it raises, the staged object is deleted.

        Raises:
            SchemaChangeError: the write no longer fits the asset's schema.
            StorageError: the staged object is gone, or the store cannot be reached.
        """
        key = AssetKey.parse(staged.asset)
        folder, name = staged.handle.rsplit("/", 1)
        with _publish_lock(f"{self.url}/{key}"):
            if not self.location.exists(staged.handle):
                raise StorageError(
                    f"{staged.asset} [{partition_label(staged.partition)}]: the staged data is "
                    "gone (discarded, or removed after its writer crashed)"
                )
            columns = {f["name"]: f["type"] for f in staged.result.schema_fields()}
            document = {"format": _FORMAT, "object": name, "published_at": time.time()}
            document |= {
                "data_version": staged.result.data_version,
                "rows": staged.result.rows,
                "bytes": staged.result.bytes,
                "schema": staged.result.schema,
            }
            body = json.dumps(document, separators=(",", ":")).encode()
            for attempt in range(_ATTEMPTS):
                # (again) just before the pointer's put: the record, as another writer may
                # have just changed it, accepts this write (or is made to)
                self._check_and_record(key, staged.partition, columns)
                if _PAUSE_IN_PUBLISH and attempt == 0:
                    _pause_before_rename(_PAUSE_IN_PUBLISH)
                current, etag = self._pointer(folder)
                if fence is not None:
                    try:
                        fence()
                    except BaseException:
                        self.location.delete([staged.handle])
                        raise
                mode: Any = "create" if etag is None else {"e_tag": etag}
                try:
                    self.location.put(f"{folder}/{POINTER}", body, mode)
                    break
                except CONFLICTS:
                    time.sleep(min(0.2, 0.005 * (attempt + 1)))
            else:
                raise StorageError(
                    f"{staged.asset} [{partition_label(staged.partition)}]: other publishes of "
                    f"the partition won {_ATTEMPTS} times in a row; giving up"
                )
        if current is not None and current["object"] != name:
            self.location.delete([f"{folder}/{current['object']}"])
        self._remove_orphans(folder)
        return staged.result

    def publish_unsynced(
        self, staged: StagedWrite, fence: PublishFence | None = None
    ) -> WriteResult:
        """:meth:`publish` (the pointer's put is durable when it returns)."""
        return self.publish(staged, fence)

    def sync_published(self, published: Sequence[StagedWrite]) -> None:
        """Nothing to do: a published pointer is durable once put."""

    def discard(self, staged: StagedWrite) -> None:
        """Delete the staged object, unless the partition's pointer names it (published)."""
        folder, name = staged.handle.rsplit("/", 1)
        current, _ = self._pointer(folder)
        if current is None or current["object"] != name:
            self.location.delete([staged.handle])

    def _remove_orphans(self, folder: str) -> None:
        """Delete ``part-`` objects of the partition that its pointer does not name and
        that are older than ``orphan_grace`` (their writers are gone)."""
        cutoff = datetime.now(UTC) - self.orphan_grace
        old = [
            meta["path"]
            for meta in self.location.list_folder(folder)
            if meta["path"].rsplit("/", 1)[-1].startswith(_PART_PREFIX)
            and meta["last_modified"] <= cutoff
        ]
        if not old:
            return
        current, _ = self._pointer(folder)  # read after listing: never the published one
        keep = f"{folder}/{current['object']}" if current is not None else None
        self.location.delete([path for path in old if path != keep])

    # -- reading ---------------------------------------------------------------------------

    def _read_partition(self, key: AssetKey, partition: PartitionPath) -> pa.Table | None:
        """The published table of one partition, ``None`` when it is not stored."""
        folder = self._folder(key, partition)
        seen: set[str] = set()
        for _ in range(_READ_ATTEMPTS):
            pointer, _etag = self._pointer(folder)
            if pointer is None:
                return None
            seen.add(pointer["object"])
            found = self.location.get(f"{folder}/{pointer['object']}")
            if found is not None:
                return pq.read_table(pa.BufferReader(found[0]))
            # superseded and deleted between the two reads: read the pointer again
        if len(seen) == 1:  # the pointer never moved: its part is gone, not changing
            raise StorageError(
                f"{self.location.join(folder)}: the published part {seen.pop()} is gone "
                "(deleted outside Partita)",
                hint="`partita verify --repair` marks the partition stale; the next run "
                "writes it again",
            )
        raise StorageError(f"{self.location.join(folder)}: the data kept changing under reads")

    def read(
        self, asset: AssetKeyLike, partitions: Sequence[PartitionPath], as_type: Any = None
    ) -> Any:
        """The published rows of ``partitions``, as ``as_type`` (pandas by default).

        Each partition's object is read whole into memory; several partitions are
        concatenated with their schemas unified (as the local store's scan does).

        Raises:
            StorageError: a partition is not stored, or partitions disagree on
                their dimensions or a column's type.
        """
        key = AssetKey.parse(asset)
        parts = [validate_partition(p) for p in partitions]
        if not parts:
            raise StorageError(f"{key}: no partitions to read")
        dims = [d for d, _ in parts[0]]
        tables: list[pa.Table] = []
        missing: list[PartitionPath] = []
        for part in parts:
            if [d for d, _ in part] != dims:
                raise StorageError(f"{key}: partitions to read have different dimensions")
            table = self._read_partition(key, part)
            if table is None:
                missing.append(part)
            else:
                tables.append(with_partition_columns(table, part))
        if missing:
            raise StorageError(
                f"{key}: partition {partition_label(missing[0])} is not stored "
                f"({len(missing)} of {len(parts)} requested partitions missing)",
                hint="materialize it first",
            )
        try:
            table = pa.concat_tables(tables, promote_options="permissive")
        except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
            raise StorageError(f"{key}: partitions have incompatible schemas: {exc}") from exc
        return load_as(table, as_type)

    def dataset(self, asset: AssetKeyLike, partitions: Sequence[PartitionPath]) -> ds.Dataset:
        """The rows of ``partitions`` as an in-memory ``pyarrow.dataset`` (read whole).

        Raises:
            StorageError: as :meth:`read`.
        """
        return ds.dataset(self.read(asset, partitions, pa.Table))

    def read_staged(self, staged: StagedWrite, as_type: Any = None) -> Any:
        """The staged rows, as ``as_type`` (for checks before publishing)."""
        found = self.location.get(staged.handle)
        if found is None:
            raise StorageError(
                f"{staged.asset} [{partition_label(staged.partition)}]: the staged data is gone"
            )
        table = pq.read_table(pa.BufferReader(found[0]))
        return load_as(table, as_type)

    def list_partitions(self, asset: AssetKeyLike) -> list[PartitionPath]:
        """Every published partition (every pointer) of ``asset``, sorted."""
        key = AssetKey.parse(asset)
        prefix = self._asset_prefix(key)
        found: list[PartitionPath] = []
        for meta in self.location.list_all(prefix):
            path: str = meta["path"]
            if not path.endswith("/" + POINTER):
                continue
            segments = path[len(prefix) + 1 : -len(POINTER) - 1]
            decoded = [decode_segment(s) for s in segments.split("/")] if segments else []
            if all(d is not None for d in decoded):
                found.append(tuple(d for d in decoded if d is not None))
        return sorted(found)

    def delete(self, asset: AssetKeyLike, partition: PartitionPath | None = None) -> None:
        """Remove one partition (its pointer, then its objects), or all of ``asset``'s
        (every pointer first, then every other object and the schema record)."""
        key = AssetKey.parse(asset)
        if partition is not None:
            folder = self._folder(key, validate_partition(partition))
            self.location.delete([f"{folder}/{POINTER}"])
            self.location.delete([m["path"] for m in self.location.list_folder(folder)])
            return
        paths = [meta["path"] for meta in self.location.list_all(self._asset_prefix(key))]
        pointers = [p for p in paths if p.endswith("/" + POINTER)]
        self.location.delete(pointers)
        self.location.delete([p for p in paths if not p.endswith("/" + POINTER)])
