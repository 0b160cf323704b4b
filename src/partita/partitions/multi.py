"""Multi-dimensional partitions (``date`` x ``region``) and their compact subsets.

A key joins one key per dimension with ``|`` in declared order
(``2025-01-01|eu``). At most one dimension is a time dimension; the others
are static or dynamic.

**Compact subsets.** The *primary* dimension is the time dimension if there is
one, else the first. A :class:`MultiSubset` holds, for each combination of the
other dimensions' keys (``("eu",)``), a one-dimensional subset of the primary
dimension: "all regions of 2025-01-01..2025-12-31" is one interval per region.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import overload

from partita.errors import DefinitionError, PartitionKeyError
from partita.partitions.base import (
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
    TimeWindowRange,
    check_dimension_name,
)
from partita.partitions.dynamic import DynamicPartitions
from partita.partitions.static import Unpartitioned
from partita.partitions.subsets import IndexedPartitions, IntervalSubset, KeySequence

__all__ = ["MultiPartitions", "MultiSubset"]

Others = tuple[str, ...]


def _order(definition: PartitionsDefinition, key: str) -> int | str:
    """A sort value of ``key`` within its dimension (index, or the key for dynamic)."""
    return definition.index_of(key) if isinstance(definition, IndexedPartitions) else key


@dataclass(frozen=True, repr=False, init=False)
class MultiPartitions(PartitionsDefinition):
    """The product of one-dimensional definitions, in declared order.

    ``MultiPartitions({"date": DailyPartitions("2025-01-01"), "region":
    StaticPartitions(["eu", "us"])})`` has keys like ``2025-01-01|eu``. The
    dict keys name the dimensions (the inner definitions' own ``dimension`` is
    not used).
    """

    parts: tuple[tuple[str, PartitionsDefinition], ...]

    def __init__(self, dimensions: Mapping[str, PartitionsDefinition]) -> None:
        items = tuple(dimensions.items())
        if len(items) < 2:
            raise DefinitionError(
                "MultiPartitions needs at least two dimensions",
                hint="use the one-dimensional definition directly",
            )
        for name, definition in items:
            check_dimension_name(name)
            if not isinstance(definition, PartitionsDefinition) or isinstance(
                definition, MultiPartitions | Unpartitioned
            ):
                raise DefinitionError(
                    f"dimension {name!r} of MultiPartitions must be a one-dimensional "
                    f"partitions definition, got {definition!r}"
                )
        times = [name for name, definition in items if definition.is_time]
        if len(times) > 1:
            raise DefinitionError(
                f"MultiPartitions has more than one time dimension: {', '.join(times)}",
                hint="keep one time dimension; make the others static or dynamic",
            )
        object.__setattr__(self, "parts", items)

    # -- structure ------------------------------------------------------------------------

    @property
    def dimension(self) -> str:
        """The dimension names joined by ``|`` (``date|region``)."""
        return "|".join(self.dimensions)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimension names in declared order."""
        return tuple(name for name, _ in self.parts)

    @cached_property
    def by_name(self) -> dict[str, PartitionsDefinition]:
        """``{dimension name: definition}``."""
        return dict(self.parts)

    @property
    def time_dimension(self) -> str | None:
        """The name of the time dimension, if any."""
        return next((name for name, d in self.parts if d.is_time), None)

    @cached_property
    def primary(self) -> str:
        """The dimension whose subsets are kept compact (time, else the first)."""
        return self.time_dimension or self.parts[0][0]

    @cached_property
    def others(self) -> tuple[str, ...]:
        """The non-primary dimensions in declared order."""
        return tuple(name for name in self.dimensions if name != self.primary)

    @cached_property
    def _primary_position(self) -> int:
        return self.dimensions.index(self.primary)

    def compose(self, primary_key: str, others: Others) -> str:
        """The key made of a primary value and the other dimensions' values (unchecked)."""
        values = list(others)
        values.insert(self._primary_position, primary_key)
        return "|".join(values)

    def decompose(self, key: str) -> tuple[str, Others]:
        """A validated key as (primary value, other values)."""
        parts = self.split(key)
        return parts[self.primary], tuple(parts[name] for name in self.others)

    # -- keys -----------------------------------------------------------------------------

    def keys(
        self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None
    ) -> Sequence[str]:
        """Every key at ``now``, lexicographic in declared dimension order (lazy)."""
        return _ProductKeys([d.keys(now, dynamic=dynamic) for _, d in self.parts])

    def size(self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None) -> int:
        """The product of the dimensions' sizes."""
        total = 1
        for _, definition in self.parts:
            total *= definition.size(now, dynamic=dynamic)
        return total

    def split(self, key: str) -> dict[str, str]:
        """``{dimension: value}`` of a key, each value validated."""
        if not isinstance(key, str):
            raise self.key_error(key, "a key is a string")
        values = key.split("|")
        if len(values) != len(self.parts):
            raise self.key_error(
                key, f"expected {len(self.parts)} values joined by '|' ({self.dimension})"
            )
        result: dict[str, str] = {}
        for (name, definition), value in zip(self.parts, values, strict=True):
            try:
                result[name] = definition.validate(value)
            except PartitionKeyError as exc:  # its reason: the key's own example follows
                raise self.key_error(
                    key, f"dimension {name!r}: {exc.reason or exc.message}"
                ) from None
            except DefinitionError as exc:
                raise self.key_error(key, f"dimension {name!r}: {exc.message}") from None
            except Exception as exc:
                message = getattr(exc, "message", str(exc))
                raise self.key_error(key, f"dimension {name!r}: {message}") from None
        return result

    def join(self, parts: Mapping[str, str]) -> str:
        """The key of ``{dimension: value}`` (every dimension required, each validated)."""
        if set(parts) != set(self.dimensions):
            raise self.key_error(
                dict(parts), f"give exactly the dimensions {', '.join(self.dimensions)}"
            )
        return self.validate("|".join(parts[name] for name in self.dimensions))

    def validate(self, key: str) -> str:
        """The canonical key, or :class:`PartitionKeyError`."""
        parts = self.split(key)
        return "|".join(parts[name] for name in self.dimensions)

    def time_window(self, key: str) -> TimeWindowRange:
        """The time window of the key's time dimension."""
        name = self.time_dimension
        if name is None:
            return super().time_window(key)
        return self.by_name[name].time_window(self.split(key)[name])

    def exists_from(self, key: str) -> datetime | None:
        """When the key's time dimension comes to exist (``None`` without one)."""
        name = self.time_dimension
        parts = self.split(key)
        return None if name is None else self.by_name[name].exists_from(parts[name])

    def example_key(self) -> str:
        """One key built from each dimension's example."""
        return "|".join(d.example_key() for _, d in self.parts)

    def describe(self) -> str:
        """E.g. ``date: daily from 2025-01-01 (UTC) x region: static: eu, us``."""
        return " x ".join(f"{name}: {d.describe()}" for name, d in self.parts)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={d!r}" for name, d in self.parts)
        return f"MultiPartitions({inner})"

    # -- subsets --------------------------------------------------------------------------

    def empty_subset(self) -> MultiSubset:
        """The subset with no partitions."""
        return MultiSubset.build(self, {})

    def all_subset(
        self, now: datetime, *, dynamic: DynamicPartitionsStore | None = None
    ) -> MultiSubset:
        """Every partition at ``now``: one compact primary subset per other-value combination."""
        primary = self.by_name[self.primary].all_subset(now, dynamic=dynamic)
        combos = itertools.product(
            *(self.by_name[name].keys(now, dynamic=dynamic) for name in self.others)
        )
        return MultiSubset.build(self, {combo: primary for combo in combos})

    def subset(
        self, keys: Iterable[str], *, dynamic: DynamicPartitionsStore | None = None
    ) -> MultiSubset:
        """The subset of the given keys (each validated).

        A key of the primary dimension alone (``2025-01-01``, no ``|``) names that
        value in every combination of the other dimensions (all regions of the day);
        ``dynamic`` holds the keys of dynamic dimensions.
        """
        if isinstance(keys, str):
            keys = [keys]
        grouped: dict[Others, list[str]] = {}
        every: list[Others] | None = None
        for key in keys:
            if self._primary_alone(key):
                value = self._primary_value(key)
                if every is None:
                    every = self._every_other(key, dynamic)
                for others in every:
                    grouped.setdefault(others, []).append(value)
                continue
            value, others = self.decompose(key)
            grouped.setdefault(others, []).append(value)
        primary = self.by_name[self.primary]
        return MultiSubset.build(self, {o: primary.subset(v) for o, v in grouped.items()})

    def _primary_alone(self, key: str) -> bool:
        """Whether ``key`` names the primary dimension only (no ``|``)."""
        return isinstance(key, str) and len(self.parts) > 1 and "|" not in key

    def _primary_value(self, key: str) -> str:
        """``key`` validated as a value of the primary dimension (whose definition
        names itself in the error)."""
        return self.by_name[self.primary].validate(key)

    def _every_other(self, key: str, dynamic: DynamicPartitionsStore | None) -> list[Others]:
        """Every combination of the other dimensions' keys (static ones, and dynamic ones
        from ``dynamic``), for a key naming the primary dimension alone."""
        if dynamic is None and any(
            isinstance(self.by_name[name], DynamicPartitions) for name in self.others
        ):
            raise self.key_error(
                key,
                f"name every dimension ({'|'.join(self.dimensions)}): a dynamic one "
                "has no list of keys here",
            )
        now = datetime.now(UTC)  # the other dimensions are not time dimensions
        return list(
            itertools.product(*(self.by_name[n].keys(now, dynamic=dynamic) for n in self.others))
        )

    def product_subset(self, per_dimension: Mapping[str, PartitionSubset]) -> MultiSubset:
        """The product of one subset per dimension (``{"date": ..., "region": ...}``)."""
        primary = per_dimension[self.primary]
        combos = itertools.product(*(list(per_dimension[name]) for name in self.others))
        return MultiSubset.build(self, {combo: primary for combo in combos})

    def key_range(
        self, start_key: str, end_key: str, *, dynamic: DynamicPartitionsStore | None = None
    ) -> MultiSubset:
        """Keys from ``start_key`` to ``end_key`` along the primary dimension.

        Both keys must agree on every other dimension: ``2025-01-01|eu..2025-01-31|eu``;
        or both name the primary dimension alone (``2025-01-01..2025-01-31``): the
        range in every combination of the other dimensions (all regions).
        """
        if self._primary_alone(start_key) and self._primary_alone(end_key):
            first, last = self._primary_value(start_key), self._primary_value(end_key)
            primary = self.by_name[self.primary].key_range(first, last, dynamic=dynamic)
            every = self._every_other(start_key, dynamic)
            return MultiSubset.build(self, {others: primary for others in every})
        first, first_others = self.decompose(start_key)
        last, last_others = self.decompose(end_key)
        if first_others != last_others:
            raise self.key_error(
                f"{start_key}..{end_key}",
                f"a range varies only the {self.primary!r} dimension; "
                "the other values must be equal at both ends",
            )
        primary = self.by_name[self.primary].key_range(first, last, dynamic=dynamic)
        return MultiSubset.build(self, {first_others: primary})


class _ProductKeys(Sequence[str]):
    """The ``|``-joined cartesian product of key sequences, computed on demand."""

    def __init__(self, sequences: list[Sequence[str]]) -> None:
        self._sequences = sequences
        self._len = 1
        for sequence in sequences:
            self._len *= len(sequence)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("partition key index out of range")
        values: list[str] = []
        for sequence in reversed(self._sequences):
            index, position = divmod(index, len(sequence))
            values.append(sequence[position])
        return "|".join(reversed(values))

    def __iter__(self) -> Iterator[str]:
        for combo in itertools.product(*self._sequences):
            yield "|".join(combo)


@dataclass(frozen=True, eq=True, repr=False)
class MultiSubset(PartitionSubset):
    """A subset of a :class:`MultiPartitions`: other-dimension values -> primary subset."""

    of: MultiPartitions
    groups: tuple[tuple[Others, PartitionSubset], ...]

    @staticmethod
    def build(of: MultiPartitions, groups: Mapping[Others, PartitionSubset]) -> MultiSubset:
        """A normalized subset: empty groups dropped, groups sorted by dimension order."""
        others = [of.by_name[name] for name in of.others]

        def order(item: tuple[Others, PartitionSubset]) -> tuple[int | str, ...]:
            return tuple(_order(d, v) for d, v in zip(others, item[0], strict=True))

        kept = [(o, s) for o, s in groups.items() if not s.is_empty]
        return MultiSubset(of, tuple(sorted(kept, key=order)))

    @cached_property
    def lookup(self) -> dict[Others, PartitionSubset]:
        """``{other values: primary subset}``."""
        return dict(self.groups)

    @property
    def definition(self) -> MultiPartitions:
        """The definition this subset belongs to."""
        return self.of

    def __len__(self) -> int:
        return sum(len(s) for _, s in self.groups)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            value, others = self.of.decompose(key)
        except Exception:
            return False
        group = self.lookup.get(others)
        return group is not None and value in group

    def _group_keys(
        self, others: Others, subset: PartitionSubset
    ) -> Iterator[tuple[tuple[int | str, ...], str]]:
        of = self.of
        other_orders = [_order(of.by_name[n], v) for n, v in zip(of.others, others, strict=True)]
        position = of._primary_position
        if isinstance(subset, IntervalSubset):
            for a, b in subset.intervals:
                for offset, value in enumerate(KeySequence(subset.of, a, b)):
                    order = list(other_orders)
                    order.insert(position, a + offset)
                    yield tuple(order), of.compose(value, others)
        else:
            for value in subset:
                order = list(other_orders)
                order.insert(position, value)
                yield tuple(order), of.compose(value, others)

    def __iter__(self) -> Iterator[str]:
        streams = [self._group_keys(o, s) for o, s in self.groups]
        for _, key in heapq.merge(*streams, key=lambda item: item[0]):
            yield key

    def _union(self, other: PartitionSubset) -> MultiSubset:
        assert isinstance(other, MultiSubset)
        merged = dict(self.lookup)
        for others, subset in other.groups:
            merged[others] = merged[others] | subset if others in merged else subset
        return MultiSubset.build(self.of, merged)

    def _intersection(self, other: PartitionSubset) -> MultiSubset:
        assert isinstance(other, MultiSubset)
        return MultiSubset.build(
            self.of,
            {o: s & other.lookup[o] for o, s in self.groups if o in other.lookup},
        )

    def _difference(self, other: PartitionSubset) -> MultiSubset:
        assert isinstance(other, MultiSubset)
        return MultiSubset.build(
            self.of,
            {o: (s - other.lookup[o] if o in other.lookup else s) for o, s in self.groups},
        )

    def ranges(self) -> list[tuple[str, str]]:
        """Runs along the primary dimension, per combination of the other dimensions."""
        return [
            (self.of.compose(first, others), self.of.compose(last, others))
            for others, subset in self.groups
            for first, last in subset.ranges()
        ]
