"""Streaming a RecordBatchReader to a staged Parquet file (shared by both stores).

While the batches go to disk, the data version is computed
(:class:`~partita.versions.DataVersionHasher`) and every partition column
present in the data is checked against the partition being written. Batches
are grouped into row groups of at most :data:`ROW_GROUP_ROWS` rows or
:data:`ROW_GROUP_BYTES` bytes, which bounds memory whatever the data size.
Staged files are hidden (``.``-prefixed, ``.tmp``-suffixed) and carry the
writer's pid, so a later writer can remove the leftovers of a crashed one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from partita.errors import StorageError
from partita.io.paths import PartitionPath, partition_label
from partita.processes import pid_alive
from partita.versions import DataVersionHasher

__all__ = [
    "INLINE_HASH_BYTES",
    "ROW_GROUP_BYTES",
    "ROW_GROUP_ROWS",
    "Staged",
    "check_partition_columns",
    "fsync_all",
    "fsync_path",
    "remove_stale_temps",
    "temp_name",
    "write_parquet",
]

ROW_GROUP_ROWS = 1 << 20
ROW_GROUP_BYTES = 64 << 20
INLINE_HASH_BYTES = 1 << 20
"""Batches smaller than this are hashed in the writing thread."""


@dataclass(frozen=True, slots=True)
class Staged:
    """What :func:`write_parquet` wrote."""

    rows: int
    bytes: int
    data_version: str
    schema: pa.Schema


def temp_name(stem: str) -> str:
    """A hidden temp file name for ``stem`` owned by this process."""
    return f".{stem}.{os.getpid()}.{secrets.token_hex(6)}.tmp"


def remove_stale_temps(folder: Path, stem: str) -> int:
    """Delete temp files for ``stem`` in ``folder`` whose writing process is dead."""
    removed = 0
    prefix = f".{stem}."
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            with contextlib.suppress(FileNotFoundError):
                Path(entry.path).unlink()
                removed += 1
    return removed


def fsync_path(path: Path) -> None:
    """fsync a file or a directory by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _SyncPool:
    """A small pool of threads that fsync in parallel (created on first use, recreated
    in a forked child): the filesystem's journal commits overlapping fsyncs together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def run(self, paths: list[Path]) -> None:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="partita-sync")
                self._pid = os.getpid()
            pool = self._pool
        futures = [pool.submit(fsync_path, path) for path in paths]
        wait(futures)
        for future in futures:
            future.result()


SYNC_THREADS = 8
"""Threads of the pool :func:`fsync_all` uses."""
_SYNC_POOL = _SyncPool()


def fsync_all(paths: list[Path]) -> None:
    """fsync every file or folder of ``paths`` (each once), in parallel when several.

    Raises the first error (every fsync has ended by then).
    """
    unique = list(dict.fromkeys(paths))
    if len(unique) <= 1:
        for path in unique:
            fsync_path(path)
        return
    _SYNC_POOL.run(unique)


def check_partition_columns(batch: pa.RecordBatch, partition: PartitionPath) -> None:
    """Refuse a batch whose partition column holds another partition's value.

    Values are compared as text (Arrow's cast to string: a ``date32`` column
    matches ``2025-03-01``); nulls disagree.
    """
    names = batch.schema.names
    for dim, value in partition:
        if dim not in names or batch.num_rows == 0:
            continue
        column = batch.column(names.index(dim))
        try:
            text = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise StorageError(
                f"column {dim!r} ({column.type}) cannot be compared with partition "
                f"{partition_label(partition)}"
            ) from exc
        wrong = pc.invert(pc.fill_null(pc.equal(text, value), False))
        if pc.any(wrong).as_py():
            found = pc.filter(text, wrong)[0].as_py()
            raise StorageError(
                f"column {dim!r} holds {found!r} but partition "
                f"{partition_label(partition)} is being written",
                hint=f"return only rows of this partition, or drop the {dim!r} column "
                "(the store adds it)",
            )


class _HashPool:
    """One long-lived pool of hashing threads per process (created on first use).

    A write hashes a large batch in a pool thread while the Parquet writer
    encodes it (both release the GIL); starting a thread per write would cost
    more than hashing a small table. The pool is recreated in a forked child,
    whose copy of the parent's threads does not run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def submit(self, hasher: DataVersionHasher, batch: pa.RecordBatch) -> Future[None] | None:
        """Hash ``batch`` in a pool thread; None when the pool cannot take work."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                workers = max(2, min(8, os.cpu_count() or 1))
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="partita-hash")
                self._pid = os.getpid()
            pool = self._pool
        try:
            return pool.submit(hasher.update, batch)
        except RuntimeError:  # interpreter shutting down: hash in the caller's thread
            return None


_HASH_POOL = _HashPool()


def write_parquet(
    reader: pa.RecordBatchReader, path: Path, partition: PartitionPath, *, durable: bool = True
) -> Staged:
    """Stream ``reader`` to ``path`` as Parquet, computing the data version on the way.

    A batch of :data:`INLINE_HASH_BYTES` or more is hashed in a pool thread
    while the writer encodes it; a smaller one is hashed inline (a thread
    hand-off would cost more). The file is fsynced when ``durable``. On any
    error the file is removed and the error re-raised (an exception raised by
    the user's generator comes out unchanged).
    """
    schema = reader.schema
    hasher = DataVersionHasher(schema)
    pending: list[pa.RecordBatch] = []
    pending_rows = pending_bytes = 0
    hashing: Future[None] | None = None
    wrote = False
    try:
        with pq.ParquetWriter(path, schema) as writer:
            for batch in reader:
                check_partition_columns(batch, partition)
                if hashing is not None:
                    hashing.result()
                    hashing = None
                if batch.nbytes >= INLINE_HASH_BYTES:
                    hashing = _HASH_POOL.submit(hasher, batch)
                if hashing is None:
                    hasher.update(batch)
                pending.append(batch)
                pending_rows += batch.num_rows
                pending_bytes += batch.nbytes
                if pending_rows >= ROW_GROUP_ROWS or pending_bytes >= ROW_GROUP_BYTES:
                    writer.write_table(pa.Table.from_batches(pending, schema))
                    wrote = True
                    pending, pending_rows, pending_bytes = [], 0, 0
            if pending or not wrote:
                writer.write_table(pa.Table.from_batches(pending, schema))
            pending = []
            if hashing is not None:
                hashing.result()
                hashing = None
        if durable:
            fsync_path(path)
    except BaseException:
        if hashing is not None:  # never leave a thread hashing into a dropped hasher
            with contextlib.suppress(BaseException):
                hashing.result()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return Staged(hasher.rows, path.stat().st_size, hasher.finish(), schema)
