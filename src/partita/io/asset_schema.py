"""The Parquet store's record of an asset's schema: every partition's columns together.

Each Parquet file keeps the types it was written with, so the asset's schema
is the union of all its published files: each column with the common type of
all its types (:func:`~partita.io.schema.common_type_of`), and the partition
dimensions. A write is checked against that union, not against one file
(``{x}``, then ``{x, id: int}``, then ``{x, id: string}`` to three partitions
would otherwise leave two partitions that cannot be read together).

Reading every footer on every write would cost a file open per partition, so
the store records the union in ``<asset folder>/.partita-schema.json``
(:class:`SchemaRecords`), rewritten only when a publish adds or widens a
column, before the data file is renamed into place, under the asset's lock.
The record is therefore never narrower than the published files, even after a
crash. It may be wider: a publish killed between the record and the rename,
or partitions deleted since, leave columns no file has. So the record decides
only when it accepts a write; when it refuses, the footers of the published
files are unified (:func:`unify_published`) and decide, and the record is
rewritten from them. The same footers stand in for a missing or unreadable
record (a store written by an earlier version).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import pyarrow.parquet as pq

from partita.datatypes import canonical_type
from partita.errors import SchemaChangeError
from partita.io.paths import PartitionPath, partition_label
from partita.io.schema import check_evolution, common_type, common_type_of, wipe_hint
from partita.io.staging import fsync_path, remove_stale_temps, temp_name

__all__ = [
    "SCHEMA_FILE",
    "AssetSchema",
    "FileStamp",
    "SchemaRecords",
    "stamp",
    "unify_columns",
    "unify_published",
]

SCHEMA_FILE = ".partita-schema.json"
"""The record's name in the asset folder (hidden: dataset readers skip it)."""
_FORMAT = 1

FileStamp = tuple[int, int, int, int, int]
"""``(device, inode, size, mtime_ns, ctime_ns)`` of a file: a new one on any replace."""


def stamp(stat: os.stat_result) -> FileStamp:
    """The identity of a file as :data:`FileStamp`."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class AssetSchema:
    """The partition dimensions and column types (canonical Arrow names) of an asset."""

    dimensions: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=dict)

    def evolve(
        self, dimensions: Iterable[str], columns: Mapping[str, str], asset: str, where: str
    ) -> AssetSchema:
        """The schema once a write of ``columns`` is published (``self`` if unchanged).

        Raises:
            SchemaChangeError: other dimensions, or a column type with no common
                type (see :func:`~partita.io.schema.check_evolution`).
        """
        dims = tuple(dimensions)
        if dims != self.dimensions:
            raise SchemaChangeError(
                f"{where}: the asset is stored with partition dimensions "
                f"{list(self.dimensions)}, not {list(dims)}",
                hint=wipe_hint(asset),
            )
        evolution = check_evolution(self.columns, columns, asset, where)
        if not evolution.added and not evolution.widened:
            return self
        return AssetSchema(dims, {**self.columns, **evolution.widened, **evolution.added})

    def to_json(self) -> bytes:
        """The record file's content."""
        columns = [{"name": name, "type": kind} for name, kind in self.columns.items()]
        document = {"format": _FORMAT, "dimensions": list(self.dimensions), "columns": columns}
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, text: bytes) -> AssetSchema | None:
        """The schema in a record file, or ``None`` when it is not one this version reads."""
        try:
            document = json.loads(text)
            if document["format"] != _FORMAT:
                return None
            dims = tuple(str(d) for d in document["dimensions"])
            columns = {str(c["name"]): str(c["type"]) for c in document["columns"]}
        except (ValueError, TypeError, KeyError):
            return None
        return cls(dims, columns)


def _disagreement(asset: str, name: str, seen: Mapping[str, PartitionPath]) -> SchemaChangeError:
    pairs = [(a, b) for a, b in combinations(seen, 2) if common_type(a, b) is None]
    first, second = pairs[0] if pairs else tuple(seen)[:2]
    return SchemaChangeError(
        f"{asset}: stored partitions already disagree on column {name!r}: {first} in "
        f"[{partition_label(seen[first])}], {second} in [{partition_label(seen[second])}], "
        "so they cannot be read together (written before the store checked every partition)",
        hint=wipe_hint(asset),
    )


def unify_published(files: Iterable[tuple[PartitionPath, Path]], asset: str) -> AssetSchema | None:
    """The schema of the published ``files`` together (``None`` when there are none).

    A file removed meanwhile is skipped.

    Raises:
        SchemaChangeError: the files already disagree (dimensions, or a column
            with no common type), naming the column, both types and partitions.
    """

    def footers() -> Iterator[tuple[PartitionPath, Mapping[str, str]]]:
        for partition, path in files:
            try:
                schema = pq.read_schema(path)
            except FileNotFoundError:
                continue
            yield partition, {column.name: canonical_type(column.type) for column in schema}

    return unify_columns(footers(), asset)


def unify_columns(
    schemas: Iterable[tuple[PartitionPath, Mapping[str, str]]], asset: str
) -> AssetSchema | None:
    """The schema of published partitions given as ``(partition, {column: type})``
    (``None`` when there are none); raises as :func:`unify_published`."""
    dims: tuple[str, ...] | None = None
    first: PartitionPath = ()
    types: dict[str, dict[str, PartitionPath]] = {}
    for partition, columns in schemas:
        these = tuple(d for d, _ in partition)
        if dims is None:
            dims, first = these, partition
        elif these != dims:
            raise SchemaChangeError(
                f"{asset}: stored partitions have different dimensions: "
                f"[{partition_label(first)}] and [{partition_label(partition)}]",
                hint=wipe_hint(asset),
            )
        for name, kind in columns.items():
            types.setdefault(name, {}).setdefault(kind, partition)
    if dims is None:
        return None
    unified: dict[str, str] = {}
    for name, seen in types.items():
        common = common_type_of(seen)
        if common is None:
            raise _disagreement(asset, name, seen)
        unified[name] = common
    return AssetSchema(dims, unified)


class SchemaRecords:
    """Reads and writes the record files of a store's assets.

    A record read is remembered per asset folder with the file's identity, so
    an unchanged record costs one ``stat``; a record replaced by any process is
    read again.

    Args:
        durable: fsync a written record and its folder.
    """

    def __init__(self, *, durable: bool) -> None:
        self.durable = durable
        self._known: dict[Path, tuple[FileStamp, AssetSchema]] = {}

    def read(self, folder: Path) -> AssetSchema | None:
        """The record in the asset ``folder``; ``None`` when absent or unreadable."""
        path = folder / SCHEMA_FILE
        try:
            current = stamp(path.stat())
        except (FileNotFoundError, NotADirectoryError):
            self._known.pop(folder, None)
            return None
        known = self._known.get(folder)
        if known is not None and known[0] == current:
            return known[1]
        try:  # a link in the record's place is not read (the footers decide)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP):
                return None
            raise
        with os.fdopen(fd, "rb") as file:
            current = stamp(os.fstat(file.fileno()))
            schema = AssetSchema.from_json(file.read())
        if schema is None:
            self._known.pop(folder, None)
            return None
        self._known[folder] = (current, schema)
        return schema

    def write(self, folder: Path, schema: AssetSchema, *, sync_folder: bool = True) -> None:
        """Replace the record atomically (temp file, fsync, rename, fsync of the folder).

        ``sync_folder=False`` leaves the folder's fsync to the caller (who fsyncs
        it anyway, before any data file the record describes is published).
        """
        remove_stale_temps(folder, SCHEMA_FILE)
        temp = folder / temp_name(SCHEMA_FILE)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as file:
                file.write(schema.to_json())
                file.flush()
                if self.durable:
                    os.fsync(file.fileno())
            temp.replace(folder / SCHEMA_FILE)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        if self.durable and sync_folder:
            fsync_path(folder)

    def remove(self, folder: Path) -> None:
        """Delete the record (the asset's data is gone: the next write starts afresh)."""
        self._known.pop(folder, None)
        try:
            (folder / SCHEMA_FILE).unlink()
        except FileNotFoundError:
            return
        if self.durable:
            fsync_path(folder)
