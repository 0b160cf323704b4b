"""The abstract partitions definition, the subset interface and shared helpers.

A partitions definition says which partition keys an asset has. Every
definition is a frozen value (equal and hashable by its fields), so it can be
compared across assets and used as a dict key. Keys are plain strings; every
key is validated by its definition before it is used anywhere else (a path, a
SQL literal), so :meth:`PartitionsDefinition.validate` is strict.

Dynamic partitions keep their keys in a :class:`DynamicPartitionsStore`, which
is passed to the methods that need the current key set (``dynamic=...``), the
same way ``now`` is passed: the definition stays a pure value.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from partita.errors import DefinitionError, PartitaError, PartitionKeyError

__all__ = [
    "DynamicPartitionsStore",
    "PartitionSubset",
    "PartitionsDefinition",
    "SAFE_KEY",
    "TimeWindowRange",
    "check_dimension_name",
    "check_safe_key",
    "require_aware",
    "split_range",
    "to_utc",
]

#: The characters a static or dynamic partition key may use.
SAFE_KEY = re.compile(r"[A-Za-z0-9_.:+-]{1,200}", re.ASCII)
_DIMENSION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def require_aware(now: datetime) -> datetime:
    """Return ``now`` if it is a timezone-aware datetime; raise :class:`PartitaError` if not."""
    if not isinstance(now, datetime):
        raise PartitaError(f"now must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise PartitaError(
            f"now must be timezone-aware, got the naive datetime {now.isoformat()}",
            hint="pass datetime.now(timezone.utc) or a datetime with tzinfo",
        )
    return now


def to_utc(moment: datetime) -> datetime:
    """``moment`` as a UTC datetime (aware arithmetic within one zone ignores DST)."""
    return moment.astimezone(UTC)


def check_dimension_name(name: object) -> str:
    """Return ``name`` if it is a valid dimension name (an identifier), else raise."""
    if not isinstance(name, str) or not _DIMENSION.fullmatch(name):
        raise DefinitionError(
            f"invalid partition dimension name {name!r}",
            hint="a dimension name is an identifier: [A-Za-z_][A-Za-z0-9_]*",
        )
    return name


def check_safe_key(key: object) -> str | None:
    """Why ``key`` is not a safe static/dynamic key, or ``None`` when it is safe.

    Safe keys use ``[A-Za-z0-9_.:+-]`` only (1 to 200 characters), contain no
    ``..`` and do not start with ``.``: they can be used as a folder name.
    """
    if not isinstance(key, str):
        return f"a key must be a string, got {type(key).__name__}"
    if not SAFE_KEY.fullmatch(key):
        return "a key uses only letters, digits and _ . : + - (1 to 200 characters)"
    if ".." in key:
        return "a key must not contain '..'"
    if key.startswith("."):
        return "a key must not start with '.'"
    return None


@dataclass(frozen=True, slots=True)
class TimeWindowRange:
    """The time window of a time partition: ``start`` inclusive, ``end`` exclusive.

    Both are timezone-aware datetimes in the definition's time zone.
    """

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        """The elapsed (real) time between start and end."""
        return to_utc(self.end) - to_utc(self.start)


@runtime_checkable
class DynamicPartitionsStore(Protocol):
    """Where the keys of :class:`~partita.partitions.DynamicPartitions` live.

    ``get`` returns the keys of a definition in the order they were added;
    ``add`` returns the keys that were new and rejects a key that is not safe
    (:class:`~partita.errors.PartitionKeyError`); ``delete`` ignores unknown
    keys. The one protocol for dynamic keys: the in-memory store ships here,
    and every catalog exposes its keys as ``catalog.dynamic_partitions``.
    """

    def get(self, name: str) -> list[str]:
        """The keys of dynamic definition ``name``."""
        ...

    def add(self, name: str, keys: Iterable[str]) -> list[str]:
        """Add ``keys`` to ``name``; return the ones that were not there yet."""
        ...

    def delete(self, name: str, keys: Iterable[str]) -> None:
        """Remove ``keys`` from ``name``."""
        ...


def split_range(text: str) -> tuple[str, str | None]:
    """``KEY`` -> ``(key, None)``; ``FIRST..LAST`` -> ``(first, last)``, both stripped.

    Raises:
        ValueError: a ``..`` without a key on each side, or more than one ``..``.
    """
    if ".." not in text:
        return text.strip(), None
    first, _sep, last = text.partition("..")
    if not first.strip() or not last.strip() or ".." in last:
        raise ValueError("a range is written first..last")
    return first.strip(), last.strip()


class PartitionsDefinition(ABC):
    """How an asset is sliced into partitions: a frozen value.

    Subclasses: the time definitions (daily, hourly, weekly, monthly),
    :class:`~partita.partitions.StaticPartitions`,
    :class:`~partita.partitions.DynamicPartitions` and
    :class:`~partita.partitions.MultiPartitions`.
    """

    @property
    @abstractmethod
    def dimension(self) -> str:
        """The dimension name (``date``, ``key``, ...; ``date|region`` for a multi)."""

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimension names, in declared order (a 1-tuple for one dimension)."""
        return (self.dimension,)

    @property
    def is_time(self) -> bool:
        """True for a one-dimensional time definition."""
        return False

    @property
    def time_dimension(self) -> str | None:
        """The name of the time dimension, if the definition has one."""
        return self.dimension if self.is_time else None

    @abstractmethod
    def keys(
        self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None
    ) -> Sequence[str]:
        """Every partition key that exists at ``now``, in order (may be a lazy sequence)."""

    def size(self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None) -> int:
        """How many partitions exist at ``now``."""
        return len(self.keys(now, dynamic=dynamic))

    @abstractmethod
    def validate(self, key: str) -> str:
        """Return the canonical form of ``key``, or raise :class:`PartitionKeyError`."""

    @abstractmethod
    def example_key(self) -> str:
        """A valid key, shown in error messages."""

    @abstractmethod
    def describe(self) -> str:
        """A short human description, e.g. ``daily from 2025-01-01 (UTC)``."""

    def split(self, key: str) -> dict[str, str]:
        """The key as ``{dimension: value}`` (validated)."""
        return {self.dimension: self.validate(key)}

    def join(self, parts: Mapping[str, str]) -> str:
        """The key made of ``{dimension: value}`` (validated)."""
        if set(parts) != {self.dimension}:
            raise PartitionKeyError(
                f"{self!r} has the one dimension {self.dimension!r}, got {sorted(parts)}"
            )
        return self.validate(parts[self.dimension])

    def time_window(self, key: str) -> TimeWindowRange:
        """The time window of ``key``; only time definitions (and multis with one) have it."""
        raise PartitionKeyError(
            f"{self!r} has no time dimension, so key {key!r} has no time window"
        )

    def exists_from(self, key: str) -> datetime | None:
        """The moment the (valid) ``key`` comes to exist, or ``None`` when that does not
        depend on time (static and dynamic keys exist once declared or added)."""
        self.validate(key)
        return None

    def key_error(self, key: object, reason: str) -> PartitionKeyError:
        """A :class:`PartitionKeyError` naming this definition and a valid example."""
        error = PartitionKeyError(
            f"invalid partition key {key!r} for {self!r}: {reason}; "
            f"a valid key looks like {self.example_key()!r}",
        )
        error.reason = reason
        return error

    # -- subsets -------------------------------------------------------------------------

    @abstractmethod
    def empty_subset(self) -> PartitionSubset:
        """The subset with no partitions."""

    @abstractmethod
    def all_subset(
        self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None
    ) -> PartitionSubset:
        """The subset of every partition that exists at ``now``."""

    @abstractmethod
    def subset(self, keys: Iterable[str]) -> PartitionSubset:
        """The subset of the given keys (each validated)."""

    @abstractmethod
    def key_range(
        self, start_key: str, end_key: str, *, dynamic: DynamicPartitionsStore | None = None
    ) -> PartitionSubset:
        """The keys from ``start_key`` to ``end_key``, both included."""

    def parse_range(
        self, text: str, *, dynamic: DynamicPartitionsStore | None = None
    ) -> PartitionSubset:
        """Parse ``first..last`` (inclusive) or a single key into a subset."""
        if not isinstance(text, str):
            raise self.key_error(text, "a range is a string")
        try:
            first, last = split_range(text)
        except ValueError as exc:
            raise self.key_error(text, str(exc)) from None
        if last is None:
            return self.subset([first])
        return self.key_range(first, last, dynamic=dynamic)

    def subset_from_json(self, data: Mapping[str, Any]) -> PartitionSubset:
        """Rebuild a subset written by :meth:`PartitionSubset.to_json`."""
        ranges = data.get("ranges")
        if not isinstance(ranges, list):
            raise PartitionKeyError(f"not a subset of {self!r}: no 'ranges' list")
        result = self.empty_subset()
        for item in ranges:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                raise PartitionKeyError(f"not a subset of {self!r}: bad range {item!r}")
            result = result | self.key_range(str(item[0]), str(item[1]))
        return result


class PartitionSubset(ABC):
    """A set of partition keys of one definition, held compactly.

    Supports ``|``, ``&``, ``-`` (operands of the same definition), ``len``,
    ``in`` (a key), iteration in key order, :meth:`ranges`, :meth:`to_text` and
    :meth:`to_json` / :meth:`from_json`.
    """

    @property
    @abstractmethod
    def definition(self) -> PartitionsDefinition:
        """The definition this subset belongs to."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __iter__(self) -> Iterator[str]: ...

    @abstractmethod
    def __contains__(self, key: object) -> bool: ...

    @abstractmethod
    def _union(self, other: PartitionSubset) -> PartitionSubset: ...

    @abstractmethod
    def _intersection(self, other: PartitionSubset) -> PartitionSubset: ...

    @abstractmethod
    def _difference(self, other: PartitionSubset) -> PartitionSubset: ...

    @abstractmethod
    def ranges(self) -> list[tuple[str, str]]:
        """First and last key of each contiguous run, in order."""

    @property
    def is_empty(self) -> bool:
        """True when the subset has no partitions."""
        return len(self) == 0

    def _same(self, other: object, op: str) -> PartitionSubset:
        if not isinstance(other, PartitionSubset):
            raise TypeError(f"unsupported operand for {op}: {type(other).__name__}")
        if other.definition != self.definition:
            raise PartitaError(
                f"cannot combine subsets of different definitions with {op}: "
                f"{self.definition!r} and {other.definition!r}",
                hint="map one subset onto the other definition with a partition mapping first",
            )
        return other

    def __or__(self, other: PartitionSubset) -> PartitionSubset:
        return self._union(self._same(other, "|"))

    def __and__(self, other: PartitionSubset) -> PartitionSubset:
        return self._intersection(self._same(other, "&"))

    def __sub__(self, other: PartitionSubset) -> PartitionSubset:
        return self._difference(self._same(other, "-"))

    def __bool__(self) -> bool:
        return not self.is_empty

    def to_text(self, max_runs: int = 5) -> str:
        """Human text: ``2025-03-01..2025-03-07 (7)``; long lists are shortened."""
        runs = self.ranges()
        if not runs:
            return "(none)"
        parts = [
            (first or "(unpartitioned)") if first == last else f"{first}..{last}"
            for first, last in runs[:max_runs]
        ]
        if len(runs) > max_runs:
            more = len(runs) - max_runs
            parts.append(f"and {more} more range{'s' if more > 1 else ''}")
        return f"{', '.join(parts)} ({len(self)})"

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict: the definition's description and inclusive key ranges."""
        return {
            "definition": self.definition.describe(),
            "ranges": [[first, last] for first, last in self.ranges()],
        }

    @staticmethod
    def from_json(definition: PartitionsDefinition, data: Mapping[str, Any]) -> PartitionSubset:
        """Rebuild a subset of ``definition`` from :meth:`to_json` output (keys validated)."""
        return definition.subset_from_json(data)

    def __repr__(self) -> str:
        return f"<PartitionSubset of {self.definition!r}: {self.to_text()}>"
