"""State snapshots: the latest materializations and their edges as one Arrow file.

A snapshot lives beside the catalog (``catalog.db.state/state.arrow``) and
holds, for every asset, its ``latest`` rows and their ``edges`` as of
materialization id ``max_id``. Loading the planner state memory-maps it and
fetches from SQLite only the rows recorded after ``max_id``.

A snapshot is a cache, never trusted: it names the catalog it was taken from
(its random id, its generation, which any non-append change bumps, and its
schema version), the id and ``output_hash`` of the newest materialization it
covers (checked against the catalog, so a restored or replaced file is
caught), and a CRC-32 of its body. Any mismatch, a truncated or garbled file,
or any read error makes it ignored (and replaced on the next refresh).

File layout: ``MAGIC``, an 8-byte little-endian header length, a JSON header,
then the Arrow IPC file of ``latest`` and the one of ``edges``, each sorted by
asset (the header holds each asset's row counts). It is written to a
temporary file in the same folder, fsynced and moved over the old one with
``os.replace``, so readers see either the old or the new snapshot, whole;
concurrent writers each write their own temporary file and the last replace
wins (both are valid).
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from partita.records import EDGES_SCHEMA, LATEST_SCHEMA

__all__ = ["AssetRows", "CatalogIdentity", "StateSnapshot", "read_snapshot", "write_snapshot"]

MAGIC = b"PARTITA-STATE-v1"
_LENGTH_BYTES = 8

AssetRows = Mapping[str, tuple[pa.Table, pa.Table]]
"""Per asset: its ``latest`` rows and the ``edges`` of those materializations."""


@dataclass(frozen=True, slots=True)
class CatalogIdentity:
    """What a snapshot must match: the catalog's id, generation and schema version."""

    catalog_id: str
    generation: int
    schema_version: int


@dataclass(frozen=True)
class StateSnapshot:
    """The state of every asset as of materialization ``max_id`` (whose hash is ``anchor``)."""

    identity: CatalogIdentity
    max_id: int
    anchor: int
    assets: AssetRows

    @property
    def rows(self) -> int:
        """How many latest materializations the snapshot holds."""
        return sum(latest.num_rows for latest, _ in self.assets.values())


def _ipc_bytes(table: pa.Table, schema: pa.Schema) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(table.combine_chunks())
    return sink.getvalue()


def write_snapshot(path: Path, snapshot: StateSnapshot) -> None:
    """Write ``snapshot`` to ``path`` atomically (temporary file, fsync, ``os.replace``)."""
    names = sorted(snapshot.assets)
    latest = pa.concat_tables(
        [LATEST_SCHEMA.empty_table()] + [snapshot.assets[n][0] for n in names]
    )
    edges = pa.concat_tables([EDGES_SCHEMA.empty_table()] + [snapshot.assets[n][1] for n in names])
    latest_bytes = _ipc_bytes(latest, LATEST_SCHEMA)
    edges_bytes = _ipc_bytes(edges, EDGES_SCHEMA)
    crc = zlib.crc32(edges_bytes, zlib.crc32(latest_bytes))
    header = json.dumps(
        {
            "catalog_id": snapshot.identity.catalog_id,
            "generation": snapshot.identity.generation,
            "schema_version": snapshot.identity.schema_version,
            "max_id": snapshot.max_id,
            "anchor": snapshot.anchor,
            "assets": [
                [n, snapshot.assets[n][0].num_rows, snapshot.assets[n][1].num_rows] for n in names
            ],
            "latest_bytes": latest_bytes.size,
            "edges_bytes": edges_bytes.size,
            "crc32": crc,
        }
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC)
            out.write(len(header).to_bytes(_LENGTH_BYTES, "little"))
            out.write(header)
            out.write(memoryview(latest_bytes))
            out.write(memoryview(edges_bytes))
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_ipc(buffer: pa.Buffer, schema: pa.Schema) -> pa.Table:
    table = pa.ipc.open_file(pa.BufferReader(buffer)).read_all()
    if not table.schema.equals(schema):
        raise ValueError("unexpected snapshot schema")
    return table


def _split(table: pa.Table, counts: list[int]) -> list[pa.Table]:
    parts = []
    offset = 0
    for count in counts:
        parts.append(table.slice(offset, count))
        offset += count
    return parts


def read_snapshot(path: Path) -> StateSnapshot | None:
    """The snapshot at ``path`` (memory-mapped), or ``None`` if missing or not whole."""
    try:
        source = pa.memory_map(str(path), "r")
        buffer = source.read_buffer()
        start = len(MAGIC) + _LENGTH_BYTES
        if buffer.size < start or buffer.slice(0, len(MAGIC)).to_pybytes() != MAGIC:
            return None
        header_size = int.from_bytes(buffer.slice(len(MAGIC), _LENGTH_BYTES).to_pybytes(), "little")
        header = json.loads(buffer.slice(start, header_size).to_pybytes())
        body = start + header_size
        latest_size, edges_size = int(header["latest_bytes"]), int(header["edges_bytes"])
        if buffer.size != body + latest_size + edges_size:
            return None
        latest_buffer = buffer.slice(body, latest_size)
        edges_buffer = buffer.slice(body + latest_size, edges_size)
        if zlib.crc32(edges_buffer, zlib.crc32(latest_buffer)) != int(header["crc32"]):
            return None
        latest = _read_ipc(latest_buffer, LATEST_SCHEMA)
        edges = _read_ipc(edges_buffer, EDGES_SCHEMA)
        names = [str(n) for n, _, _ in header["assets"]]
        latest_counts = [int(c) for _, c, _ in header["assets"]]
        edge_counts = [int(c) for _, _, c in header["assets"]]
        if sum(latest_counts) != latest.num_rows or sum(edge_counts) != edges.num_rows:
            return None
        assets = dict(
            zip(
                names,
                zip(_split(latest, latest_counts), _split(edges, edge_counts), strict=True),
                strict=True,
            )
        )
        identity = CatalogIdentity(
            str(header["catalog_id"]), int(header["generation"]), int(header["schema_version"])
        )
        return StateSnapshot(identity, int(header["max_id"]), int(header["anchor"]), assets)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
