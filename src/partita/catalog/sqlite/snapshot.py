"""State blocks: the planner's state kept inside the catalog as Arrow columns.

Reading a million ``latest_materialization`` rows through ``sqlite3`` costs
seconds (a Python object per value); reading the same rows as a few Arrow
blobs costs tens of milliseconds. So the catalog keeps, in the table
``state_blocks`` (schema version 7), one row per asset holding the Arrow IPC
stream of its ``latest`` rows and the one of their ``edges`` (with their
checksum stored before them, since version 11: SQLite reaches a column stored
after a blob only by walking the blob's overflow pages), and in
``catalog_meta`` the point they describe: ``state_max_id`` (every
materialization up to that id is in the blocks) and ``state_generation`` (the
catalog's generation when they were written).

Blocks are a cache with the catalog's own guarantees: they are written in a
write transaction with their mark, so a crash leaves the old blocks and mark
or the new ones, whole, and a copied or restored catalog file carries blocks
that match its rows. They are trusted only when their generation is the
catalog's (any non-append change, a wipe, moves the generation on) and their
``max_id`` is not above the newest materialization; rows recorded after
``max_id`` are read from ``latest_materialization`` and merged on top
(:mod:`partita.catalog.sqlite.state`). A block whose checksum does not match,
that does not decode or holds other columns makes the load fall back to the
rows. In a block the asset column is left out (it is the block's asset).
Dictionary-encoding the columns that repeat a few values (code versions,
config hashes, run ids) made the blocks 20 % smaller and the load slower
(decoding them costs more than reading their bytes): not done.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from partita.records import EDGES_SCHEMA, LATEST_SCHEMA

__all__ = [
    "AssetRows",
    "BlockMark",
    "StateBlocks",
    "read_blocks",
    "read_mark",
    "repeated",
    "write_blocks",
]

AssetRows = Mapping[str, tuple[pa.Table, pa.Table]]
"""Per asset: its ``latest`` rows and the ``edges`` of those materializations."""

_MAX_ID = "state_max_id"
_WORD = 1 << 64  # checksums are computed modulo 2**64 (an odd multiplier keeps every bit)
_GENERATION = "state_generation"


@dataclass(frozen=True, slots=True)
class BlockMark:
    """The point the blocks describe: materializations up to ``max_id`` in ``generation``."""

    max_id: int
    generation: int


@dataclass(frozen=True)
class StateBlocks:
    """New blocks to write: the state of ``assets`` as of ``mark``.

    ``base`` is the mark the catalog held when they were made: they are
    written only if it still holds it, so two processes compacting at once
    never mix their blocks. ``replace_all``: they replace every block (the
    old ones did not apply); otherwise they replace the blocks of ``assets``
    and the other blocks stay valid (no materialization of those assets
    was recorded between ``base`` and ``mark``).
    """

    mark: BlockMark
    base: BlockMark | None
    assets: AssetRows
    replace_all: bool


def read_mark(conn: sqlite3.Connection) -> BlockMark | None:
    """The mark of the blocks in the catalog, ``None`` when there are none."""
    meta = dict(
        conn.execute(
            "SELECT key, value FROM catalog_meta WHERE key IN (?, ?)", (_MAX_ID, _GENERATION)
        ).fetchall()
    )
    if _MAX_ID not in meta or _GENERATION not in meta:
        return None
    return BlockMark(int(meta[_MAX_ID]), int(meta[_GENERATION]))


# In a block, the asset column is left out: it is the block's asset.
def _block_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f for f in schema if f.name != "asset"])


_LATEST_BLOCK = _block_schema(LATEST_SCHEMA)
_EDGES_BLOCK = _block_schema(EDGES_SCHEMA)


def _ipc(table: pa.Table, block_schema: pa.Schema) -> bytes:
    columns = [table[f.name].combine_chunks() for f in block_schema]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, block_schema) as writer:
        writer.write_table(pa.Table.from_arrays(columns, schema=block_schema))
    blob: bytes = sink.getvalue().to_pybytes()
    return blob


def repeated(text: str, count: int) -> pa.Array:
    """A string array of ``count`` times ``text``, built from its buffers."""
    data = text.encode()
    offsets = np.arange(count + 1, dtype=np.int32) * len(data)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data * count))


def _table(blob: bytes, asset: str, block_schema: pa.Schema, schema: pa.Schema) -> pa.Table:
    block = pa.ipc.open_stream(pa.py_buffer(blob)).read_all()
    if not block.schema.equals(block_schema):
        raise ValueError("unexpected state block schema")
    columns = []
    for field in schema:
        if field.name == "asset":
            columns.append(repeated(asset, block.num_rows))
        else:
            columns.append(block[field.name])
    return pa.Table.from_arrays(columns, schema=schema)


def read_blocks(
    conn: sqlite3.Connection, assets: Iterable[str]
) -> dict[str, tuple[pa.Table, pa.Table]] | None:
    """The blocks of ``assets`` (those that have one), or ``None`` if one does not decode."""
    names = sorted(set(assets))
    if not names:
        return {}
    rows = []
    for rowid, asset, checksum in conn.execute(
        "SELECT rowid, asset, checksum FROM state_blocks "
        "WHERE asset IN (SELECT value FROM json_each(?))",
        (json.dumps(names),),
    ).fetchall():
        latest, edges = _blob(conn, rowid, "latest"), _blob(conn, rowid, "edges")
        if _checksum(latest, edges) != checksum:
            return None
        rows.append((str(asset), latest, edges))
    try:
        return {
            asset: (
                _table(latest, asset, _LATEST_BLOCK, LATEST_SCHEMA),
                _table(edges, asset, _EDGES_BLOCK, EDGES_SCHEMA),
            )
            for asset, latest, edges in rows
        }
    except (OSError, ValueError, TypeError, pa.ArrowException):
        return None


def _blob(conn: sqlite3.Connection, rowid: int, column: str) -> bytes:
    """One blob of a block, read in one piece (much faster than as a fetched column)."""
    with conn.blobopen("state_blocks", column, rowid, readonly=True) as blob:
        return blob.read()


def _checksum(latest: bytes, edges: bytes) -> int:
    """A checksum of a block: the sums of each blob's 64-bit words, with their lengths.

    Modulo 2**64, so any one changed byte changes it; ~20 times faster than a
    CRC-32 of the same bytes.
    """
    total = 0
    for blob in (latest, edges):
        whole = len(blob) // 8
        words = int(np.frombuffer(blob, dtype="<u8", count=whole).sum(dtype=np.uint64))
        tail = int.from_bytes(blob[whole * 8 :], "little")
        total = (total * 1_000_003 + words + tail + len(blob)) % _WORD
    return total - _WORD if total >= _WORD // 2 else total  # as SQLite's signed INTEGER


def write_blocks(conn: sqlite3.Connection, blocks: StateBlocks, generation: int) -> bool:
    """Write ``blocks`` in ``conn``'s open write transaction; ``False`` when they no longer apply.

    ``generation`` is the catalog's generation read inside that transaction.
    Blocks taken at another generation, or merged from a mark the catalog no
    longer holds (another process compacted first), are not written.
    """
    if blocks.mark.generation != generation or read_mark(conn) != blocks.base:
        return False
    if blocks.replace_all:
        conn.execute("DELETE FROM state_blocks")
    rows = []
    for asset, (latest, edges) in sorted(blocks.assets.items()):
        latest_blob, edges_blob = _ipc(latest, _LATEST_BLOCK), _ipc(edges, _EDGES_BLOCK)
        rows.append((asset, latest_blob, edges_blob, _checksum(latest_blob, edges_blob)))
    conn.executemany(
        "INSERT INTO state_blocks (asset, latest, edges, checksum) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (asset) DO UPDATE SET latest = excluded.latest, edges = excluded.edges, "
        "checksum = excluded.checksum",
        rows,
    )
    conn.executemany(
        "INSERT INTO catalog_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [(_MAX_ID, str(blocks.mark.max_id)), (_GENERATION, str(blocks.mark.generation))],
    )
    return True
