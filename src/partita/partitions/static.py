"""Static partitions (a fixed list of keys) and the one partition of an unpartitioned asset."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from partita.errors import DefinitionError
from partita.partitions.base import check_dimension_name, check_safe_key
from partita.partitions.subsets import IndexedPartitions

__all__ = ["StaticPartitions", "UNPARTITIONED", "Unpartitioned"]


@dataclass(frozen=True, repr=False, init=False)
class StaticPartitions(IndexedPartitions):
    """A fixed, ordered list of keys: ``StaticPartitions(["eu", "us"], dimension="key")``.

    Keys use ``[A-Za-z0-9_.:+-]`` only, contain no ``..``, do not start with
    ``.`` and are unique; anything else is rejected here, at declaration time.
    Key order is the declared order (ranges such as ``eu..us`` follow it).
    """

    partition_keys: tuple[str, ...]
    dimension: str = "key"

    def __init__(self, partition_keys: Iterable[str], dimension: str = "key") -> None:
        if isinstance(partition_keys, str):
            raise DefinitionError(
                f"StaticPartitions takes a list of keys, got the string {partition_keys!r}",
                hint=f"write StaticPartitions([{partition_keys!r}])",
            )
        keys = tuple(partition_keys)
        if not keys:
            raise DefinitionError("StaticPartitions needs at least one key")
        seen: set[str] = set()
        for key in keys:
            reason = check_safe_key(key)
            if reason is not None:
                raise DefinitionError(f"invalid static partition key {key!r}: {reason}")
            if key in seen:
                raise DefinitionError(f"duplicate static partition key {key!r}")
            seen.add(key)
        object.__setattr__(self, "partition_keys", keys)
        object.__setattr__(self, "dimension", check_dimension_name(dimension))

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {key: i for i, key in enumerate(self.partition_keys)}

    def key_at(self, index: int) -> str:
        """The key at position ``index``."""
        if index < 0:
            raise IndexError(index)
        return self.partition_keys[index]

    def keys_between(self, start: int, stop: int) -> list[str]:
        """The keys at positions ``start .. stop-1``."""
        return list(self.partition_keys[start:stop])

    def index_of(self, key: str) -> int:
        """The position of ``key``."""
        position = self._positions.get(key) if isinstance(key, str) else None
        if position is None:
            raise self.key_error(key, f"it is not one of {_shorten(self.partition_keys)}")
        return position

    def count(self, now: datetime) -> int:
        """The number of keys (``now`` is not used)."""
        return len(self.partition_keys)

    def example_key(self) -> str:
        """The first key."""
        return self.partition_keys[0]

    def describe(self) -> str:
        """E.g. ``static: eu, us``."""
        return f"static: {_shorten(self.partition_keys)}"

    def __repr__(self) -> str:
        extra = "" if self.dimension == "key" else f", dimension={self.dimension}"
        return f"StaticPartitions([{_shorten(self.partition_keys)}]{extra})"


@dataclass(frozen=True, repr=False)
class Unpartitioned(IndexedPartitions):
    """The definition of an unpartitioned asset: exactly one partition, key ``""``.

    Mappings accept ``None`` for a definition and read it as :data:`UNPARTITIONED`;
    a subset of it is either empty or holds the one partition (``""``), which
    :class:`~partita.keys.AssetPartition` writes as ``partition=None``.
    """

    @property
    def dimension(self) -> str:
        """An unpartitioned asset has no dimension name: ``""``."""
        return ""

    @property
    def dimensions(self) -> tuple[str, ...]:
        """No dimensions."""
        return ()

    def key_at(self, index: int) -> str:
        """The one key, ``""``."""
        if index != 0:
            raise IndexError(index)
        return ""

    def index_of(self, key: str) -> int:
        """0 for ``""``."""
        if key != "":
            raise self.key_error(key, "an unpartitioned asset has only the partition ''")
        return 0

    def count(self, now: datetime) -> int:
        """Always one partition."""
        return 1

    def example_key(self) -> str:
        """``""``."""
        return ""

    def split(self, key: str) -> dict[str, str]:
        """No dimensions: ``{}``."""
        self.index_of(key)
        return {}

    def describe(self) -> str:
        """``unpartitioned``."""
        return "unpartitioned"

    def __repr__(self) -> str:
        return "Unpartitioned()"


#: The definition that stands for "not partitioned".
UNPARTITIONED = Unpartitioned()


def _shorten(keys: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} keys)" if len(keys) > limit else "")
