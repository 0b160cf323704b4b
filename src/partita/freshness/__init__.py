"""Freshness: policies judged per asset and per partition, and the status of every partition.

Pure, like the planner (DESIGN §6): the api hands in the catalog's bulk state,
the plan's partitions per asset and ``now``; nothing here reads a clock, a
catalog or a store.

- :func:`evaluate` -> :class:`FreshnessReport` (``partita freshness``);
- :func:`status` -> :class:`StatusReport` (``partita status``).
"""

from partita.freshness.deadlines import due_at, last_due_index, next_tick, previous_tick
from partita.freshness.evaluate import evaluate
from partita.freshness.report import (
    AssetFreshness,
    AssetStatus,
    FreshnessReport,
    FreshnessStatus,
    Level,
    StatusReport,
    format_lag,
)
from partita.freshness.state import AssetPartitions, PlannedPartitions, build_states
from partita.freshness.status import status

__all__ = [
    "AssetFreshness",
    "AssetPartitions",
    "AssetStatus",
    "FreshnessReport",
    "FreshnessStatus",
    "Level",
    "PlannedPartitions",
    "StatusReport",
    "build_states",
    "due_at",
    "evaluate",
    "format_lag",
    "last_due_index",
    "next_tick",
    "previous_tick",
    "status",
]
