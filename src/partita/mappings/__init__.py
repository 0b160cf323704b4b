"""Partition mappings: which upstream partitions a downstream partition reads, and back.

:class:`Identity`, :class:`TimeWindow`, :class:`AllPartitions`,
:class:`LastPartition`, :class:`StaticMap` and :class:`Dimension` are frozen
values. ``upstream`` and ``downstream`` work on compact subsets, take ``now``
as a parameter, and are exact inverses of each other. ``None`` as a
definition means an unpartitioned asset (see :mod:`partita.mappings.base`).
"""

from __future__ import annotations

from partita.mappings.base import PartitionMapping
from partita.mappings.defaults import default_mapping
from partita.mappings.dimension import Dimension
from partita.mappings.identity import Identity
from partita.mappings.simple import AllPartitions, LastPartition, StaticMap
from partita.mappings.time import TimeWindow

__all__ = [
    "AllPartitions",
    "Dimension",
    "Identity",
    "LastPartition",
    "PartitionMapping",
    "StaticMap",
    "TimeWindow",
    "default_mapping",
]
