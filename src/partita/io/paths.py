"""Validating partition paths and building safe file locations.

A partition reaches a store as a :data:`PartitionPath`: ``((dimension, value),
...)`` in declared order, ``()`` for an unpartitioned asset. Dimension names
must be identifiers (like asset key segments). Values are arbitrary non-empty
strings: they are never used raw in a path. Each path segment is
``<dimension>=<percent-encoded value>`` (``urllib.parse.quote`` with no safe
characters, the encoding pyarrow's Hive partitioning decodes), so ``/``,
``\\``, ``..``, NUL, quotes and ``=`` in a value stay inside one segment.

Every segment of a built path is checked lexically (no separator, not ``.``
or ``..``, no NUL) before it is joined to the store root, so a built path
cannot name a place outside the root. The check touches no filesystem (no
``Path.resolve`` per step): it runs on every read and write.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote

from partita.errors import StorageError
from partita.keys import IDENTIFIER, AssetKey

__all__ = [
    "MAX_SEGMENT_BYTES",
    "PartitionPath",
    "asset_dir",
    "decode_segment",
    "encode_segment",
    "object_segments",
    "partition_dir",
    "partition_label",
    "validate_partition",
]

PartitionPath = tuple[tuple[str, str], ...]
"""``((dimension, value), ...)`` in declared order; ``()`` when unpartitioned."""

MAX_SEGMENT_BYTES = 255
"""The longest file name most filesystems accept."""


def partition_label(partition: PartitionPath) -> str:
    """A readable form for messages: ``date=2025-03-01/region=eu`` (``-`` if none)."""
    return "/".join(f"{dim}={value}" for dim, value in partition) or "-"


def validate_partition(partition: PartitionPath) -> PartitionPath:
    """Return ``partition`` as a tuple of pairs after checking every part.

    Raises:
        StorageError: a dimension is not an identifier, is repeated, or a value
            is not a non-empty string without NUL.
    """
    try:
        pairs = tuple((dim, value) for dim, value in partition)
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"invalid partition {partition!r}: expected ((dimension, value), ...)"
        ) from exc
    seen: set[str] = set()
    for dim, value in pairs:
        if not isinstance(dim, str) or not IDENTIFIER.fullmatch(dim):
            raise StorageError(
                f"invalid partition dimension {dim!r}",
                hint="dimension names must match [A-Za-z_][A-Za-z0-9_]*",
            )
        if dim in seen:
            raise StorageError(f"partition dimension {dim!r} appears twice")
        seen.add(dim)
        if not isinstance(value, str) or not value or "\x00" in value:
            raise StorageError(
                f"invalid value {value!r} for partition dimension {dim!r}",
                hint="partition values are non-empty strings without NUL characters",
            )
    return pairs


def encode_segment(dim: str, value: str) -> str:
    """The folder name of one partition dimension: ``dim=<percent-encoded value>``."""
    segment = f"{dim}={quote(value, safe='')}"
    if len(segment.encode()) > MAX_SEGMENT_BYTES:
        raise StorageError(
            f"partition value for {dim!r} is too long for a folder name "
            f"({len(segment.encode())} bytes encoded, at most {MAX_SEGMENT_BYTES})"
        )
    return segment


def decode_segment(segment: str) -> tuple[str, str] | None:
    """``(dim, value)`` of a folder name made by :func:`encode_segment`, else None."""
    dim, sep, encoded = segment.partition("=")
    if not sep or not IDENTIFIER.fullmatch(dim) or not encoded:
        return None
    return dim, unquote(encoded)


_SEPARATORS = ("/", "\\", "\x00")
"""Characters no segment may hold (``os.sep`` and ``os.altsep`` are among them)."""


def _inside(root: Path, segments: Iterable[str]) -> Path:
    """``root`` joined with ``segments``, each checked to be one plain name.

    A segment that is empty, ``.``, ``..`` or holds a path separator or NUL is
    refused, so the result is always strictly below ``root`` (lexically).
    """
    parts = tuple(segments)
    for segment in parts:
        if segment in ("", ".", "..") or any(sep in segment for sep in _SEPARATORS):
            raise StorageError(
                f"refusing a path segment that could leave the store root: {segment!r}"
            )
    return root.joinpath(*parts)


def asset_dir(root: Path, asset: AssetKey) -> Path:
    """``<root>/<asset/key>``, checked to stay under ``root``."""
    return _inside(root, asset.path)


def partition_dir(root: Path, asset: AssetKey, partition: PartitionPath) -> Path:
    """The folder of one partition (the asset folder when unpartitioned)."""
    segments = [encode_segment(dim, value) for dim, value in validate_partition(partition)]
    return _inside(root, (*asset.path, *segments))


def object_segments(asset: AssetKey, partition: PartitionPath) -> tuple[str, ...]:
    """The checked name segments of a partition's folder below a store root (the asset
    key's segments, then one encoded segment per dimension), for object storage keys."""
    segments = [encode_segment(dim, value) for dim, value in validate_partition(partition)]
    return _inside(Path("root"), (*asset.path, *segments)).parts[1:]
