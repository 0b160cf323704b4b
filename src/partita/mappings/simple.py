"""Mappings that ignore keys or list them: all partitions, the last one, a static map."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from partita.errors import DefinitionError
from partita.mappings.base import PartitionMapping, mismatch, resolve
from partita.partitions.base import DynamicPartitionsStore, PartitionsDefinition, PartitionSubset
from partita.partitions.multi import MultiPartitions
from partita.partitions.static import Unpartitioned

__all__ = ["AllPartitions", "LastPartition", "StaticMap"]


@dataclass(frozen=True)
class AllPartitions(PartitionMapping):
    """Every downstream partition reads every upstream partition that exists at ``now``.

    The default when either side is unpartitioned (an unpartitioned summary of
    a daily table; a daily table joined with an unpartitioned dimension table).

    Args:
        allow_missing: ``False`` (the default): a reader waits until every
            upstream partition is materialized (it is *blocked* while one is
            missing). ``True``: it reads the ones that are materialized; it is
            planned once at least one is, and becomes stale
            (``upstream_changed``) when another appears. See
            docs/concepts/partitions.md.
    """

    allow_missing: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.allow_missing, bool):
            raise DefinitionError(
                f"AllPartitions(allow_missing=...) takes True or False, got {self.allow_missing!r}"
            )

    @property
    def reads_what_exists(self) -> bool:
        """Whether a reader reads the materialized upstream partitions, missing ones allowed."""
        return self.allow_missing

    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """Any two definitions can be connected."""

    def describe(self) -> str:
        """``AllPartitions()`` or ``AllPartitions(allow_missing=True)``."""
        return "AllPartitions(allow_missing=True)" if self.allow_missing else "AllPartitions()"

    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        if downstream.is_empty:
            return upstream_def.empty_subset()
        return upstream_def.all_subset(now, dynamic=dynamic)

    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        if upstream.is_empty:
            return downstream_def.empty_subset()
        return downstream_def.all_subset(now, dynamic=dynamic)


@dataclass(frozen=True)
class LastPartition(PartitionMapping):
    """Every downstream partition reads the last upstream partition that exists at ``now``.

    "Last" follows key order (time order; declared order for static keys;
    sorted order for dynamic keys). For a multi-partitioned upstream use
    ``Dimension("date", LastPartition())``.
    """

    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """The upstream must be one-dimensional."""
        down, up = resolve(downstream_def), resolve(upstream_def)
        if isinstance(up, MultiPartitions):
            raise mismatch(
                "LastPartition()",
                down,
                up,
                f"the last of several dimensions is ambiguous; use "
                f"Dimension({up.primary!r}, LastPartition())",
            )

    def describe(self) -> str:
        """``LastPartition()``."""
        return "LastPartition()"

    @staticmethod
    def _last(
        upstream_def: PartitionsDefinition, now: datetime, dynamic: DynamicPartitionsStore | None
    ) -> PartitionSubset:
        keys = upstream_def.keys(now, dynamic=dynamic)
        return upstream_def.subset([keys[-1]] if len(keys) else [])

    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        if downstream.is_empty:
            return upstream_def.empty_subset()
        return self._last(upstream_def, now, dynamic)

    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        last = self._last(upstream_def, now, dynamic)
        if (last & upstream).is_empty:
            return downstream_def.empty_subset()
        return downstream_def.all_subset(now, dynamic=dynamic)


@dataclass(frozen=True, init=False)
class StaticMap(PartitionMapping):
    """An explicit table: ``StaticMap({"emea": ["de", "fr"], "amer": ["us"]})``.

    Each downstream key reads the listed upstream keys; a downstream key not
    in the table reads nothing. Both sides are one-dimensional; every key is
    validated against its definition by :meth:`check`.
    """

    table: tuple[tuple[str, tuple[str, ...]], ...]

    def __init__(self, table: Mapping[str, str | Iterable[str]]) -> None:
        if not isinstance(table, Mapping):
            raise DefinitionError("StaticMap takes a dict {downstream key: [upstream keys]}")
        items: list[tuple[str, tuple[str, ...]]] = []
        for down, ups in table.items():
            values = (ups,) if isinstance(ups, str) else tuple(ups)
            items.append((down, tuple(dict.fromkeys(values))))
        object.__setattr__(self, "table", tuple(sorted(items)))

    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """Both sides one-dimensional and partitioned; every key valid on its side."""
        down, up = resolve(downstream_def), resolve(upstream_def)
        for side in (down, up):
            if isinstance(side, MultiPartitions | Unpartitioned):
                raise mismatch(
                    "StaticMap", down, up, "both sides must be one-dimensional and partitioned"
                )
        for down_key, up_keys in self.table:
            try:
                down.validate(down_key)
                for key in up_keys:
                    up.validate(key)
            except Exception as exc:
                raise DefinitionError(
                    f"StaticMap does not fit: {getattr(exc, 'message', exc)}"
                ) from None

    def describe(self) -> str:
        """``StaticMap({...})``."""
        inner = ", ".join(f"{k!r}: [{', '.join(map(repr, v))}]" for k, v in self.table[:4])
        return f"StaticMap({{{inner}{', ...' if len(self.table) > 4 else ''}}})"

    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        wanted = [u for d, ups in self.table if d in downstream for u in ups]
        return upstream_def.subset(wanted) & upstream_def.all_subset(now, dynamic=dynamic)

    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        readers = [d for d, ups in self.table if any(u in upstream for u in ups)]
        return downstream_def.subset(readers) & downstream_def.all_subset(now, dynamic=dynamic)
