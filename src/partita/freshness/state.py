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

from collections.abc import Iterable, Mapping, Sequence
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
    IntervalSubset,
    PartitionsDefinition,
    PartitionSubset,
)
from partita.partitions.subsets import IndexedPartitions
from partita.records import PlannerState

__all__ = ["AssetPartitions", "Mask", "PlannedPartitions", "build_states", "mask_of", "subset_of"]

Mask = npt.NDArray[np.bool_]
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
class AssetPartitions:
    """One asset's partitions at ``now`` and their state, as arrays over partition indices.

    ``refreshed_us`` is the time of the latest materialization (observation for
    a source) in microseconds since the epoch, :data:`NEVER` when none.
    """

    asset: AssetKey
    definition: PartitionsDefinition
    keys: Sequence[str]
    present: Mask
    refreshed_us: npt.NDArray[np.int64]
    failed: Mask
    planned: Mask

    @property
    def size(self) -> int:
        """Number of partitions that exist at ``now``."""
        return len(self.keys)

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


@dataclass(frozen=True)
class _Grouped:
    """A table sorted by asset (one ``take``), and each asset's row range."""

    table: pa.Table
    bounds: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, table: pa.Table) -> _Grouped:
        if table.num_rows == 0:
            return cls(table, {})
        encoded = pc.dictionary_encode(table["asset"]).combine_chunks()
        codes = np.asarray(encoded.indices, dtype=np.int64)
        names = encoded.dictionary.to_pylist()
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1)).tolist()
        ordered = table.take(pa.array(order)).combine_chunks()
        return cls(ordered, {n: (bounds[i], bounds[i + 1]) for i, n in enumerate(names)})

    def rows(self, asset: str) -> pa.Table | None:
        found = self.bounds.get(asset)
        if found is None:
            return None
        return self.table.slice(found[0], found[1] - found[0])


def _micros(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    """Timestamps as int64 microseconds since the epoch (UTC)."""
    as_us = pc.cast(column, pa.timestamp("us", tz="UTC"))
    return np.asarray(pc.cast(as_us, pa.int64()).fill_null(NEVER), dtype=np.int64)


def mask_of(subset: PartitionSubset, keys: Sequence[str], positions: Mapping[str, int]) -> Mask:
    """The mask over ``keys`` of ``subset`` (keys that do not exist at ``now`` drop out)."""
    mask = np.zeros(len(keys), dtype=np.bool_)
    if isinstance(subset, IntervalSubset):
        for start, stop in subset.intervals:
            mask[max(start, 0) : max(min(stop, len(keys)), 0)] = True
        return mask
    for key in subset:
        index = positions.get(key)
        if index is not None:
            mask[index] = True
    return mask


def subset_of(states: AssetPartitions, mask: Mask) -> PartitionSubset:
    """The subset of ``states.definition`` whose indices are set in ``mask``."""
    definition = states.definition
    if isinstance(definition, IndexedPartitions):
        if not mask.any():
            return definition.empty_subset()
        padded = np.concatenate(([False], mask, [False]))
        changes = np.flatnonzero(padded[1:] != padded[:-1])
        runs = zip(changes[0::2].tolist(), changes[1::2].tolist(), strict=True)
        return definition.index_subset(runs)
    return definition.subset(states.keys[i] for i in np.flatnonzero(mask).tolist())


@dataclass
class _Keys:
    """The keys of one definition at ``now``, shared by every asset that uses it."""

    keys: Sequence[str]
    array: pa.Array
    positions: dict[str, int] | None = None

    def position_map(self) -> dict[str, int]:
        if self.positions is None:
            self.positions = {k: i for i, k in enumerate(self.keys)}
        return self.positions


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
    latest = _Grouped.of(state.latest)
    observed = _Grouped.of(state.observations)
    failed = _Grouped.of(state.failed)
    shared: dict[PartitionsDefinition, _Keys] = {}
    result: dict[AssetKey, AssetPartitions] = {}
    for key in assets:
        spec = graph.spec(key)
        definition = spec.partitions or UNPARTITIONED
        found = shared.get(definition)
        if found is None:
            keys = definition.keys(now, dynamic=dynamic)
            found = shared[definition] = _Keys(keys, pa.array(list(keys), type=pa.string()))
        n = len(found.keys)
        present = np.zeros(n, dtype=np.bool_)
        refreshed = np.full(n, NEVER, dtype=np.int64)
        rows = (observed if spec.is_source else latest).rows(str(key))
        if rows is not None:
            index = np.asarray(
                pc.index_in(rows["partition"], value_set=found.array).fill_null(-1), dtype=np.int64
            )
            valid = index >= 0
            present[index[valid]] = True
            column = rows["observed_at" if spec.is_source else "created_at"]
            refreshed[index[valid]] = _micros(column)[valid]
        elif spec.is_source and spec.fn is None:
            present[:] = True
        failed_mask = np.zeros(n, dtype=np.bool_)
        failed_rows = failed.rows(str(key))
        if failed_rows is not None:
            index = np.asarray(
                pc.index_in(failed_rows["partition"], value_set=found.array).fill_null(-1),
                dtype=np.int64,
            )
            failed_mask[index[index >= 0]] = True
        wanted = planned.get(key)
        planned_mask = (
            np.zeros(n, dtype=np.bool_)
            if wanted is None
            else mask_of(wanted.partitions, found.keys, found.position_map())
        )
        result[key] = AssetPartitions(
            asset=key,
            definition=definition,
            keys=found.keys,
            present=present,
            refreshed_us=refreshed,
            failed=failed_mask,
            planned=planned_mask,
        )
    return result
