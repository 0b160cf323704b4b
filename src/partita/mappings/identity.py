"""The identity mapping: a partition reads the upstream partition with the same key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partita.mappings.base import PartitionMapping, mismatch, resolve
from partita.mappings.product import Rule, dimensions_of, map_upstream
from partita.mappings.time import time_upstream
from partita.partitions.base import DynamicPartitionsStore, PartitionsDefinition, PartitionSubset
from partita.partitions.multi import MultiPartitions
from partita.partitions.static import Unpartitioned
from partita.partitions.subsets import IntervalSubset
from partita.partitions.time import TimePartitions, WeeklyPartitions

__all__ = ["Identity", "same_grain"]


def same_grain(down: TimePartitions, up: TimePartitions) -> bool:
    """Whether two time definitions have the same periods (grain, zone, week start)."""
    if type(down) is not type(up) or down.timezone != up.timezone:
        return False
    if isinstance(down, WeeklyPartitions) and isinstance(up, WeeklyPartitions):
        return down.week_start == up.week_start
    return True


@dataclass(frozen=True)
class Identity(PartitionMapping):
    """A downstream partition reads the upstream partition with the same key.

    The default between equal definitions. Between time definitions of the
    same grain and zone (different start or end) it maps by period; between
    static or dynamic definitions by key (a key missing upstream reads
    nothing); between multis with the same dimension names, dimension by
    dimension.
    """

    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """Raise :class:`DefinitionError` unless the keys of both sides are comparable."""
        down, up = resolve(downstream_def), resolve(upstream_def)
        if down == up:
            return
        if isinstance(down, TimePartitions) and isinstance(up, TimePartitions):
            if not same_grain(down, up):
                raise mismatch(
                    "Identity()", down, up, "the periods differ; use TimeWindow() to map by time"
                )
            return
        if isinstance(down, MultiPartitions) and isinstance(up, MultiPartitions):
            if set(down.dimensions) != set(up.dimensions):
                raise mismatch(
                    "Identity()",
                    down,
                    up,
                    "the dimensions differ; use Dimension(name, mapping) to map one of them",
                )
            for name in down.dimensions:
                self.check(down.by_name[name], up.by_name[name])
            return
        one_dimensional_keys = not (
            isinstance(down, TimePartitions | MultiPartitions | Unpartitioned)
            or isinstance(up, TimePartitions | MultiPartitions | Unpartitioned)
        )
        if not one_dimensional_keys:
            raise mismatch(
                "Identity()",
                down,
                up,
                "their keys are of different kinds; use AllPartitions(), StaticMap(...), "
                "TimeWindow() or Dimension(...)",
            )

    def describe(self) -> str:
        """``Identity()``."""
        return "Identity()"

    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        return self._map(downstream, downstream_def, upstream_def, now, dynamic)

    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        return self._map(upstream, upstream_def, downstream_def, now, dynamic)

    def _map(
        self,
        subset: PartitionSubset,
        source: PartitionsDefinition,
        target: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        """Identity is symmetric: the same key, if it exists on the other side."""
        if source == target:
            return subset
        if isinstance(source, TimePartitions) and isinstance(target, TimePartitions):
            assert isinstance(subset, IntervalSubset)
            return time_upstream(subset, source, target, now)
        if isinstance(source, MultiPartitions) and isinstance(target, MultiPartitions):
            rules = [Rule(name, name, self) for name in target.dimensions]
            return map_upstream(
                subset, dimensions_of(source), target, dimensions_of(target), rules, now, dynamic
            )
        present = target.all_subset(now, dynamic=dynamic)
        return target.subset(k for k in subset if k in present)
