"""Compact subsets of one-dimensional definitions, and the indexed-definition base.

* :class:`IntervalSubset` holds partitions of an :class:`IndexedPartitions`
  (time and static definitions, whose keys are numbered ``0, 1, 2, ...``) as
  intervals of integer indices: a range of 100,000 days is one pair of ints.
* :class:`KeySetSubset` holds keys of a dynamic definition as a frozen set of
  strings (dynamic keys have no stable numbering); they iterate in sorted order.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

from partita.partitions import intervals as iv
from partita.partitions.base import (
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
)

__all__ = ["IndexedPartitions", "IntervalSubset", "KeySetSubset", "KeySequence"]


class IndexedPartitions(PartitionsDefinition):
    """A one-dimensional definition whose keys are numbered ``0, 1, 2, ...`` in order.

    Subclasses implement :meth:`key_at`, :meth:`index_of` and :meth:`count`.
    """

    @abstractmethod
    def key_at(self, index: int) -> str:
        """The key with number ``index`` (no bounds check on the upper side)."""

    def keys_between(self, start: int, stop: int) -> list[str]:
        """The keys numbered ``start`` to ``stop - 1`` (subclasses may batch this)."""
        return [self.key_at(i) for i in range(start, stop)]

    @abstractmethod
    def index_of(self, key: str) -> int:
        """The number of a key (validates it; raises :class:`PartitionKeyError`)."""

    @abstractmethod
    def count(self, now: datetime) -> int:
        """How many partitions exist at ``now`` (keys ``0 .. count-1``)."""

    def validate(self, key: str) -> str:
        """Return the canonical form of ``key``, or raise :class:`PartitionKeyError`."""
        return self.key_at(self.index_of(key))

    def keys(self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None) -> KeySequence:
        """Every key that exists at ``now``, as a lazy sequence."""
        return KeySequence(self, 0, self.count(now))

    def size(self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None) -> int:
        """How many partitions exist at ``now``."""
        return self.count(now)

    def empty_subset(self) -> IntervalSubset:
        """The subset with no partitions."""
        return IntervalSubset(self, ())

    def all_subset(
        self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None
    ) -> IntervalSubset:
        """Every partition that exists at ``now``."""
        return IntervalSubset(self, iv.normalize([(0, self.count(now))]))

    def subset(self, keys: Iterable[str]) -> IntervalSubset:
        """The subset of the given keys (each validated)."""
        if isinstance(keys, str):
            keys = [keys]
        return IntervalSubset(self, iv.from_indices(self.index_of(k) for k in keys))

    def index_subset(self, intervals: Iterable[tuple[int, int]]) -> IntervalSubset:
        """The subset of the given ``[start, stop)`` index intervals (clipped at 0)."""
        return IntervalSubset(self, iv.clip(iv.normalize(intervals), 0, 2**62))

    def key_range(
        self, start_key: str, end_key: str, *, dynamic: DynamicPartitionsStore | None = None
    ) -> IntervalSubset:
        """The keys from ``start_key`` to ``end_key``, both included."""
        first, last = self.index_of(start_key), self.index_of(end_key)
        if last < first:
            raise self.key_error(f"{start_key}..{end_key}", "the range ends before it starts")
        return IntervalSubset(self, ((first, last + 1),))


class KeySequence(Sequence[str]):
    """The keys ``start .. stop-1`` of an indexed definition, computed on demand."""

    __slots__ = ("_definition", "_start", "_stop")

    def __init__(self, definition: IndexedPartitions, start: int, stop: int) -> None:
        self._definition = definition
        self._start = start
        self._stop = max(start, stop)

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            begin, end, step = index.indices(len(self))
            if step == 1:
                return KeySequence(self._definition, self._start + begin, self._start + end)
            return [self[i] for i in range(begin, end, step)]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("partition key index out of range")
        return self._definition.key_at(self._start + index)

    def __iter__(self) -> Iterator[str]:
        chunk = 8192
        for begin in range(self._start, self._stop, chunk):
            yield from self._definition.keys_between(begin, min(begin + chunk, self._stop))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            index = self._definition.index_of(key)
        except Exception:
            return False
        return self._start <= index < self._stop

    def __repr__(self) -> str:
        return f"<{len(self)} keys of {self._definition!r}>"


@dataclass(frozen=True, eq=True, repr=False)
class IntervalSubset(PartitionSubset):
    """Partitions of an indexed definition, as normalized ``[start, stop)`` index intervals."""

    of: IndexedPartitions
    intervals: iv.Intervals

    @property
    def definition(self) -> IndexedPartitions:
        """The definition this subset belongs to."""
        return self.of

    def __len__(self) -> int:
        return iv.count(self.intervals)

    def __iter__(self) -> Iterator[str]:
        for a, b in self.intervals:
            yield from KeySequence(self.of, a, b)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            index = self.of.index_of(key)
        except Exception:
            return False
        return iv.contains(self.intervals, index)

    def _union(self, other: PartitionSubset) -> IntervalSubset:
        assert isinstance(other, IntervalSubset)
        return IntervalSubset(self.of, iv.union(self.intervals, other.intervals))

    def _intersection(self, other: PartitionSubset) -> IntervalSubset:
        assert isinstance(other, IntervalSubset)
        return IntervalSubset(self.of, iv.intersection(self.intervals, other.intervals))

    def _difference(self, other: PartitionSubset) -> IntervalSubset:
        assert isinstance(other, IntervalSubset)
        return IntervalSubset(self.of, iv.difference(self.intervals, other.intervals))

    def ranges(self) -> list[tuple[str, str]]:
        """First and last key of each contiguous run, in order."""
        return [(self.of.key_at(a), self.of.key_at(b - 1)) for a, b in self.intervals]

    @property
    def first_index(self) -> int | None:
        """The smallest index, or ``None`` when empty."""
        return self.intervals[0][0] if self.intervals else None

    @property
    def last_index(self) -> int | None:
        """The largest index, or ``None`` when empty."""
        return self.intervals[-1][1] - 1 if self.intervals else None


@dataclass(frozen=True, eq=True, repr=False)
class KeySetSubset(PartitionSubset):
    """Partitions of a key-set definition (dynamic) as a frozen set of validated keys."""

    of: PartitionsDefinition
    key_set: frozenset[str]

    @property
    def definition(self) -> PartitionsDefinition:
        """The definition this subset belongs to."""
        return self.of

    def __len__(self) -> int:
        return len(self.key_set)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.key_set))

    def __contains__(self, key: object) -> bool:
        return key in self.key_set

    def _union(self, other: PartitionSubset) -> KeySetSubset:
        assert isinstance(other, KeySetSubset)
        return KeySetSubset(self.of, self.key_set | other.key_set)

    def _intersection(self, other: PartitionSubset) -> KeySetSubset:
        assert isinstance(other, KeySetSubset)
        return KeySetSubset(self.of, self.key_set & other.key_set)

    def _difference(self, other: PartitionSubset) -> KeySetSubset:
        assert isinstance(other, KeySetSubset)
        return KeySetSubset(self.of, self.key_set - other.key_set)

    def ranges(self) -> list[tuple[str, str]]:
        """Each key is its own run (dynamic keys have no neighbours)."""
        return [(k, k) for k in sorted(self.key_set)]
