"""Data versions: a content hash of Arrow data (pure).

:func:`data_version` / :class:`DataVersionHasher` hash Arrow data. The same
rows and schema give the same version whatever the chunking, the buffer
layout (slices, offsets), the string width (``string`` / ``large_string`` /
``string_view``), dictionary encoding, or any schema/file metadata. One
changed value, a changed column name or a changed type gives a new version.

How data is hashed: each column keeps its own streaming SHA-256 hashers fed
with a canonical byte stream (fixed-width values, or lengths and bytes for
strings/binaries, and validity once a null is seen), so feeding the rows in
one batch or in a thousand gives the same digests. A null's slot counts as
zero bytes of the type's width, whatever the type (a timestamp's NaT, a
date's, a decimal's), and the validity tells it from a real zero. Nested
types fall back to a slower canonical per-value encoding.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.datatypes import canonical_type
from partita.versions.digest import short_digest

__all__ = ["DataVersionHasher", "data_version"]


class _ColumnHasher:
    """Canonical streaming hash of one column (chunking-independent)."""

    __slots__ = ("_data", "_lengths", "_rows_before_null", "_validity", "kind")

    def __init__(self, data_type: pa.DataType) -> None:
        self._data = hashlib.sha256()
        self._lengths = hashlib.sha256()
        self._validity: Any = None  # a hashlib object once the first null is seen
        self._rows_before_null = 0
        if pa.types.is_dictionary(data_type):
            data_type = data_type.value_type
        if pa.types.is_boolean(data_type):
            self.kind = "bool"
        elif canonical_type(data_type) in ("string", "binary"):
            self.kind = "varlen"
        elif _fixed_width(data_type):
            self.kind = "fixed"
        else:
            self.kind = "generic"

    def _update_validity(self, arr: pa.Array) -> None:
        if arr.null_count == 0:
            if self._validity is None:
                self._rows_before_null += len(arr)
            else:
                self._validity.update(b"\x01" * len(arr))
            return
        if self._validity is None:
            self._validity = hashlib.sha256(b"\x01" * self._rows_before_null)
        valid = pc.cast(arr.is_valid(), pa.uint8())
        self._validity.update(_value_bytes(valid, 1))

    def update(self, arr: pa.Array) -> None:
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        self._update_validity(arr)
        if self.kind == "bool":
            arr = pc.cast(pc.fill_null(arr, False), pa.uint8())
            self._data.update(_value_bytes(arr, 1))
        elif self.kind == "fixed":
            self._update_fixed(arr)
        elif self.kind == "varlen":
            self._update_varlen(arr)
        else:
            for value in _python_values(arr):
                encoded = json.dumps(value, default=repr, sort_keys=True).encode()
                self._lengths.update(len(encoded).to_bytes(8, "little"))
                self._data.update(encoded)

    def _update_fixed(self, arr: pa.Array) -> None:
        """Hash the values' bytes; a null's slot counts as zero bytes (the validity tells)."""
        if isinstance(arr, pa.ExtensionArray):
            arr = arr.storage
        width = arr.type.bit_width // 8
        if arr.null_count:
            # Any fixed-width type (timestamp, date, time, duration, decimal, interval,
            # fixed_size_binary...) is viewed as an unsigned integer or as raw bytes of the
            # same width, so a null's slot is zeroed without a cast from 0 to the type.
            blank = _zero_view(width)
            arr = pc.fill_null(arr.view(blank.type), blank)
        if len(arr):
            self._data.update(_value_bytes(arr, width))

    def _update_varlen(self, arr: pa.Array) -> None:
        if str(arr.type).endswith("_view"):
            arr = arr.cast(pa.large_binary() if "binary" in str(arr.type) else pa.large_string())
        if arr.null_count:
            arr = pc.fill_null(arr, pa.scalar(b"" if "binary" in str(arr.type) else "", arr.type))
        lengths = pc.cast(pc.binary_length(arr), pa.int64())
        self._lengths.update(_value_bytes(lengths, 8))
        if len(arr) == 0:
            return
        wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
        offset_width = 8 if wide else 4
        _, offsets_buf, data_buf = arr.buffers()
        first = arr.offset * offset_width
        start = int.from_bytes(offsets_buf[first : first + offset_width], "little", signed=True)
        last = (arr.offset + len(arr)) * offset_width
        end = int.from_bytes(offsets_buf[last : last + offset_width], "little", signed=True)
        if data_buf is not None and end > start:
            self._data.update(memoryview(data_buf)[start:end])

    def digest(self) -> bytes:
        out = hashlib.sha256(self.kind.encode())
        out.update(self._data.digest())
        out.update(self._lengths.digest())
        out.update(b"V" + self._validity.digest() if self._validity is not None else b"-")
        return out.digest()


_UINT_OF_WIDTH = {1: pa.uint8(), 2: pa.uint16(), 4: pa.uint32(), 8: pa.uint64()}
"""The unsigned integer type of each width that a fixed-width type can be viewed as."""


@functools.cache
def _zero_view(width: int) -> pa.Scalar:
    """A zero of ``width`` bytes: an unsigned integer, or raw bytes for other widths.

    Made on first use: ``pa.scalar`` imports pandas, which a process that only
    plans never needs.
    """
    uint = _UINT_OF_WIDTH.get(width)
    if uint is None:
        return pa.scalar(bytes(width), pa.binary(width))
    return pa.scalar(0, uint)


def _fixed_width(data_type: pa.DataType) -> bool:
    try:
        width = data_type.bit_width
    except ValueError:
        return False
    return isinstance(width, int) and width >= 8 and width % 8 == 0


def _python_values(arr: pa.Array) -> list[Any]:
    """The values of a nested array as Python objects, each encoded on its own.

    A value Python cannot hold (a timestamp after the year 9999 inside a list)
    is encoded with its time values as integer counts instead, so hashing never
    fails and a value's encoding never depends on the rest of its chunk.
    """
    values: list[Any] = []
    try:
        values = arr.to_pylist()
    except (ValueError, OverflowError, pa.ArrowException):
        counts = _as_counts(arr.type)
        for at in range(len(arr)):
            try:
                values.append(arr[at].as_py())
            except (ValueError, OverflowError, pa.ArrowException):
                values.append({"arrow counts": arr.slice(at, 1).cast(counts).to_pylist()[0]})
    return values


def _as_counts(data_type: pa.DataType) -> pa.DataType:
    """``data_type`` with each time type (at any depth) replaced by its integer count."""
    if pa.types.is_temporal(data_type) and not pa.types.is_interval(data_type):
        return pa.int32() if data_type.bit_width == 32 else pa.int64()
    if pa.types.is_struct(data_type):
        fields = [data_type.field(i) for i in range(data_type.num_fields)]
        return pa.struct([f.with_type(_as_counts(f.type)) for f in fields])
    if pa.types.is_map(data_type):
        return pa.map_(_as_counts(data_type.key_type), _as_counts(data_type.item_type))
    if pa.types.is_fixed_size_list(data_type):
        return pa.list_(_as_counts(data_type.value_type), data_type.list_size)
    if pa.types.is_large_list(data_type):
        return pa.large_list(_as_counts(data_type.value_type))
    if pa.types.is_list(data_type):
        return pa.list_(_as_counts(data_type.value_type))
    return data_type


def _value_bytes(arr: pa.Array, width: int) -> memoryview:
    """The bytes of a fixed-width array's values, honouring its offset."""
    buf = arr.buffers()[1]
    start = arr.offset * width
    return memoryview(buf)[start : start + len(arr) * width]


class DataVersionHasher:
    """Incremental data version: ``update`` once per RecordBatch, then ``finish``.

    Used by the stores while they write, so the version never requires reading
    the file back. Column names, canonical types and values count; field
    nullability and metadata do not.

    Args:
        schema: the schema of every batch that will be fed.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self._schema = schema
        self._columns = [_ColumnHasher(field.type) for field in schema]
        self.rows = 0

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Feed the next rows (a RecordBatch, or a Table of any chunking)."""
        if batch.num_columns != len(self._columns):
            raise ValueError("batch does not match the hasher's schema")
        for hasher, column in zip(self._columns, batch.columns, strict=True):
            if isinstance(column, pa.ChunkedArray):
                for chunk in column.chunks:
                    hasher.update(chunk)
            else:
                hasher.update(column)
        self.rows += batch.num_rows

    def finish(self) -> str:
        """The version of every row fed so far (the hasher may keep being fed)."""
        out = hashlib.sha256(b"partita-data-v1")
        out.update(self.rows.to_bytes(8, "little"))
        for field, hasher in zip(self._schema, self._columns, strict=True):
            header = json.dumps([field.name, canonical_type(field.type)]).encode()
            out.update(len(header).to_bytes(4, "little") + header)
            out.update(hasher.digest())
        return short_digest(out.digest())


def data_version(data: pa.Table | pa.RecordBatch | pa.RecordBatchReader) -> str:
    """The data version of a Table, RecordBatch or (consumed) RecordBatchReader."""
    hasher = DataVersionHasher(data.schema)
    batches: Iterable[pa.RecordBatch | pa.Table]
    batches = data if isinstance(data, pa.RecordBatchReader) else [data]
    for batch in batches:
        hasher.update(batch)
    return hasher.finish()
