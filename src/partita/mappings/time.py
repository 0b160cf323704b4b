"""Time-window mapping: offsets in downstream periods, any grain to any grain.

Periods map by overlap of their time windows, which is containment when one
grain divides the other (a day holds its 23, 24 or 25 hours; an hour lies in
one day). Everything is computed on interval endpoints: mapping a range of
1,096 days costs the same as mapping one day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partita.errors import DefinitionError
from partita.mappings.base import PartitionMapping, mismatch, resolve
from partita.partitions import intervals as iv
from partita.partitions.base import DynamicPartitionsStore, PartitionsDefinition, PartitionSubset
from partita.partitions.subsets import IntervalSubset
from partita.partitions.time import TimePartitions

__all__ = ["TimeWindow", "time_downstream", "time_upstream"]


def time_upstream(
    downstream: IntervalSubset,
    down: TimePartitions,
    up: TimePartitions,
    now: datetime,
    start_offset: int = 0,
    end_offset: int = 0,
) -> IntervalSubset:
    """Upstream periods overlapping the windows ``[d + start_offset, d + end_offset]``."""
    if down == up:
        pairs = [(a + start_offset, b + end_offset) for a, b in downstream.intervals]
    else:
        pairs = []
        for a, b in downstream.intervals:
            low = down.period_start(a + start_offset)
            high = down.period_start(b + end_offset)
            pairs.append((up.index_at(low), up.ceil_index(high)))
    return IntervalSubset(up, iv.clip(iv.normalize(pairs), 0, up.count(now)))


def time_downstream(
    upstream: IntervalSubset,
    up: TimePartitions,
    down: TimePartitions,
    now: datetime,
    start_offset: int = 0,
    end_offset: int = 0,
) -> IntervalSubset:
    """Downstream periods whose shifted windows overlap any of the ``upstream`` periods."""
    if down == up:
        pairs = [(a - end_offset, b - start_offset) for a, b in upstream.intervals]
    else:
        pairs = []
        for a, b in upstream.intervals:
            first = down.index_at(up.period_start(a))
            stop = down.ceil_index(up.period_start(b))
            pairs.append((first - end_offset, stop - start_offset))
    return IntervalSubset(down, iv.clip(iv.normalize(pairs), 0, down.count(now)))


@dataclass(frozen=True)
class TimeWindow(PartitionMapping):
    """Each downstream period reads the upstream periods overlapping a window of periods.

    The window runs from ``start_offset`` to ``end_offset`` downstream periods
    around the partition, both included: ``TimeWindow()`` reads the same
    period, ``TimeWindow(start_offset=-6)`` a rolling 7 days (for a daily
    asset), ``TimeWindow(-1, -1)`` the previous period. Grains may differ: a
    daily asset over an hourly one reads that day's hours; an hourly asset
    over a daily one reads its day. Windows clip at the upstream bounds.
    """

    start_offset: int = 0
    end_offset: int = 0

    def __post_init__(self) -> None:
        for value in (self.start_offset, self.end_offset):
            if not isinstance(value, int) or isinstance(value, bool):
                raise DefinitionError(f"TimeWindow offsets are ints, got {value!r}")
        if self.start_offset > self.end_offset:
            raise DefinitionError(
                f"TimeWindow(start_offset={self.start_offset}, end_offset={self.end_offset}) "
                "is empty: start_offset must not be after end_offset",
                hint="a rolling 7-day window is TimeWindow(start_offset=-6, end_offset=0)",
            )

    def check(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
    ) -> None:
        """Both sides must be one-dimensional time definitions."""
        down, up = resolve(downstream_def), resolve(upstream_def)
        if not (isinstance(down, TimePartitions) and isinstance(up, TimePartitions)):
            raise mismatch(
                self.describe(),
                down,
                up,
                "both assets need time partitions "
                "(for a multi-partitioned asset use Dimension('date', TimeWindow(...)))",
            )

    def describe(self) -> str:
        """``TimeWindow(-6, 0)``."""
        return f"TimeWindow({self.start_offset}, {self.end_offset})"

    def _upstream(
        self,
        downstream: PartitionSubset,
        downstream_def: PartitionsDefinition,
        upstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        assert isinstance(downstream, IntervalSubset)
        assert isinstance(downstream_def, TimePartitions)
        assert isinstance(upstream_def, TimePartitions)
        return time_upstream(
            downstream, downstream_def, upstream_def, now, self.start_offset, self.end_offset
        )

    def _downstream(
        self,
        upstream: PartitionSubset,
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> PartitionSubset:
        assert isinstance(upstream, IntervalSubset)
        assert isinstance(downstream_def, TimePartitions)
        assert isinstance(upstream_def, TimePartitions)
        return time_downstream(
            upstream, upstream_def, downstream_def, now, self.start_offset, self.end_offset
        )
