"""Partitions: definitions (which keys exist) and compact subsets (sets of keys).

Time definitions (:class:`DailyPartitions`, :class:`HourlyPartitions`,
:class:`WeeklyPartitions`, :class:`MonthlyPartitions`), :class:`StaticPartitions`,
:class:`DynamicPartitions` and :class:`MultiPartitions` are frozen values;
``now`` (and, for dynamic keys, the ``dynamic`` store) is always passed in.
:class:`PartitionSubset` holds keys compactly (integer intervals) with set algebra.
"""

from __future__ import annotations

from partita.partitions.base import (
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
    TimeWindowRange,
)
from partita.partitions.dynamic import (
    DynamicPartitions,
    InMemoryDynamicPartitionsStore,
    check_dynamic_key,
)
from partita.partitions.multi import MultiPartitions, MultiSubset
from partita.partitions.static import UNPARTITIONED, StaticPartitions, Unpartitioned
from partita.partitions.subsets import IndexedPartitions, IntervalSubset, KeySetSubset
from partita.partitions.time import (
    DailyPartitions,
    HourlyPartitions,
    MonthlyPartitions,
    TimePartitions,
    WeeklyPartitions,
)

__all__ = [
    "DailyPartitions",
    "DynamicPartitions",
    "DynamicPartitionsStore",
    "HourlyPartitions",
    "InMemoryDynamicPartitionsStore",
    "IndexedPartitions",
    "IntervalSubset",
    "KeySetSubset",
    "MonthlyPartitions",
    "MultiPartitions",
    "MultiSubset",
    "PartitionSubset",
    "PartitionsDefinition",
    "StaticPartitions",
    "TimePartitions",
    "TimeWindowRange",
    "UNPARTITIONED",
    "Unpartitioned",
    "WeeklyPartitions",
    "check_dynamic_key",
]
