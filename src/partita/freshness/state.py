"""Per-asset partition state for freshness: which partitions are fresh, stale, missing, failed.

The catalog's bulk :class:`~partita.records.PlannerState` (the same snapshot the
planner reads) is grouped by asset once (one sort) and scattered into numpy
arrays over each asset's partitions at ``now``: present (materialized, or
observed for a source), when it was last refreshed (``created_at`` /
``observed_at``), failed, and planned. "Planned" comes from the plan the api
computed (:class:`PlannedPartitions`), so ``partita status`` and ``partita plan``
never disagree. No Python loop over partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import (
    UNPARTITIONED,
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
)
from partita.records import PlannerState
from partita.spaces import AssetRows, KeyIndex, Mask, OverKeys

__all__ = ["AssetPartitions", "Mask", "PlannedPartitions", "build_states", "subset_of"]

NEVER = -1
"""``refreshed_us`` of a partition that was never materialized (or observed)."""


@dataclass(frozen=True)
class PlannedPartitions:
    """What the plan wants of one asset: its partitions (steps and blocked ones) and why.

    Attributes:
        partitions: every partition of the asset the plan builds or would build
            but cannot (blocked), whatever the reason.
        reasons: ``(reason in words, partitions it applies to)`` pairs.
    """

    partitions: PartitionSubset
    reasons: tuple[tuple[str, PartitionSubset], ...] = ()

    def reasons_for(self, key: str) -> list[str]:
        """The reasons, in words, that apply to partition ``key``."""
        return [text for text, subset in self.reasons if key in subset]


@dataclass(frozen=True)
class AssetPartitions(OverKeys):
    """One asset's partitions at ``now`` and their state, as arrays over partition indices.

    ``refreshed_us`` is the time of the latest materialization (observation for
    a source) in microseconds since the epoch, :data:`NEVER` when none.
    """

    asset: AssetKey
    index: KeyIndex
    present: Mask
    refreshed_us: npt.NDArray[np.int64]
    failed: Mask
    planned: Mask

    @property
    def failed_mask(self) -> Mask:
        """Partitions whose last attempt failed (after their last success, if any)."""
        return self.failed

    @property
    def missing_mask(self) -> Mask:
        """Partitions never materialized (and not failed)."""
        return ~self.present & ~self.failed

    @property
    def stale_mask(self) -> Mask:
        """Materialized partitions the plan rebuilds for a reason other than missing/failed."""
        return self.planned & self.present & ~self.failed

    @property
    def fresh_mask(self) -> Mask:
        """Materialized, current partitions: not planned, not failed."""
        return self.present & ~self.failed & ~self.planned


def _micros(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    """Timestamps as int64 microseconds since the epoch (UTC)."""
    as_us = pc.cast(column, pa.timestamp("us", tz="UTC"))
    return np.asarray(pc.cast(as_us, pa.int64()).fill_null(NEVER), dtype=np.int64)


def subset_of(states: AssetPartitions, mask: Mask) -> PartitionSubset:
    """The subset of ``states.definition`` whose indices are set in ``mask``."""
    return states.index.subset_of(mask)


def build_states(
    graph: AssetGraph,
    state: PlannerState,
    assets: Iterable[AssetKey],
    planned: Mapping[AssetKey, PlannedPartitions],
    now: datetime,
    dynamic: DynamicPartitionsStore | None = None,
) -> dict[AssetKey, AssetPartitions]:
    """Scatter ``state`` and ``planned`` into :class:`AssetPartitions` for ``assets``.

    A source without an observe function and without observations counts as
    present (as the planner counts it) but never refreshed.
    """
    latest = AssetRows.group(state.latest)
    observed = AssetRows.group(state.observations)
    failed = AssetRows.group(state.failed)
    shared: dict[PartitionsDefinition, KeyIndex] = {}
    result: dict[AssetKey, AssetPartitions] = {}
    for key in assets:
        spec = graph.spec(key)
        definition = spec.partitions or UNPARTITIONED
        found = shared.get(definition)
        if found is None:
            found = shared[definition] = KeyIndex.of(definition, now, dynamic)
        n = found.size
        present = np.zeros(n, dtype=np.bool_)
        refreshed = np.full(n, NEVER, dtype=np.int64)
        rows = (observed if spec.is_source else latest).of(str(key))
        if rows is not None:
            index = found.indices_of(rows["partition"])
            valid = index >= 0
            present[index[valid]] = True
            column = rows["observed_at" if spec.is_source else "created_at"]
            refreshed[index[valid]] = _micros(column)[valid]
        elif spec.is_source and spec.fn is None:
            present[:] = True
        failed_mask = np.zeros(n, dtype=np.bool_)
        failed_rows = failed.of(str(key))
        if failed_rows is not None:
            index = found.indices_of(failed_rows["partition"])
            failed_mask[index[index >= 0]] = True
        wanted = planned.get(key)
        planned_mask = (
            np.zeros(n, dtype=np.bool_) if wanted is None else found.mask_of(wanted.partitions)
        )
        result[key] = AssetPartitions(
            asset=key,
            index=found,
            present=present,
            refreshed_us=refreshed,
            failed=failed_mask,
            planned=planned_mask,
        )
    return result
