"""``partita status``: every asset's partitions as fresh / stale / missing / failed (pure).

Counts come from the same bulk state and the same plan as ``partita plan``:
a partition is *failed* when its last attempt failed, *missing* when it was
never materialized, *stale* when the plan rebuilds it for another reason
(code, config or upstream changed, upstream stale; blocked ones included), and
*fresh* otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pyarrow.compute as pc

from partita.freshness.report import AssetStatus, StatusReport
from partita.freshness.state import PlannedPartitions, build_states, subset_of
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore
from partita.partitions.base import require_aware
from partita.records import PlannerState
from partita.selection import select

__all__ = ["status"]


def status(
    graph: AssetGraph,
    state: PlannerState,
    planned: Mapping[AssetKey, PlannedPartitions],
    now: datetime,
    selection: str | None = None,
    *,
    dynamic: DynamicPartitionsStore | None = None,
    config_notes: Mapping[AssetKey, str] | None = None,
) -> StatusReport:
    """Per selected asset and source: partitions by state, with the non-fresh ones as subsets.

    Args:
        graph: the asset graph.
        state: the catalog's bulk state of (at least) the selected assets.
        planned: per asset, the partitions the plan of ``now`` builds or blocks.
        now: the time partitions are enumerated at (timezone-aware).
        selection: an asset selection (``None``: every asset and source).
        dynamic: the store of dynamic partition keys.
        config_notes: per asset, a note on the config it was judged with.
    """
    require_aware(now)
    now = now.astimezone(UTC)
    chosen = select(graph, selection)
    states = build_states(graph, state, chosen, planned, now, dynamic)
    side_effects = _side_effects(state)
    rows: list[AssetStatus] = []
    for key in chosen:
        part = states[key]
        rows.append(
            AssetStatus(
                asset=key,
                kind=graph.spec(key).kind,
                partitioned=bool(part.definition.dimensions),
                partitions=part.size,
                fresh=int(part.fresh_mask.sum()),
                stale=subset_of(part, part.stale_mask),
                missing=subset_of(part, part.missing_mask),
                failed=subset_of(part, part.failed_mask),
                side_effect=str(key) in side_effects,
                config_note=(config_notes or {}).get(key),
            )
        )
    return StatusReport(now=now, assets=tuple(rows))


def _side_effects(state: PlannerState) -> set[str]:
    """Assets whose latest builds all stored no data (an empty data version).

    Computed column-wise (arrow): a project of 600 assets x 1,096 days has 657,600
    latest rows, which a Python loop over them took ~0.5 s to read.
    """
    assets = state.latest.column("asset")
    versions = state.latest.column("data_version")
    has_data = pc.and_(pc.is_valid(versions), pc.not_equal(versions, ""))
    with_data = pc.unique(pc.filter(assets, pc.fill_null(has_data, False)))
    return {str(a) for a in pc.unique(assets).to_pylist()} - {str(a) for a in with_data.to_pylist()}
