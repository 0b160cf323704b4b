"""What a plan request covers: its target assets, their requested partitions, and the
partitions of observed sources those read.

``partita plan daily --partition 2025-03-01`` targets the selected assets that
are built (sources are observed, never built) and, of each, the partitions the
request names; a key of another time grain is mapped by time (``2025-03-01``
asks an hourly asset for that day's 24 hours). Observing a source is IO, so
planning observes only :func:`source_partitions`: the source partitions the
requested partitions of its readers map to through their edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from partita.errors import PartitionKeyError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.mappings import TimeWindow
from partita.partitions import (
    UNPARTITIONED,
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
)
from partita.planner.plan import PartitionRequest, PlanRequest
from partita.selection import select

__all__ = ["assets_needed", "requested_partitions", "source_partitions", "targets"]


def targets(graph: AssetGraph, selection: str | None) -> tuple[AssetKey, ...]:
    """The selected assets that are built (sources are observed, never built)."""
    return tuple(k for k in select(graph, selection) if not graph.spec(k).is_source)


def assets_needed(graph: AssetGraph, selection: str | None) -> list[AssetKey]:
    """The assets whose catalog state a plan of ``selection`` reads: the selected assets
    and sources, and the inputs of the targets."""
    selected = select(graph, selection)
    needed = set(selected)
    for key in selected:
        if not graph.spec(key).is_source:
            needed.update(e.upstream for e in graph.upstream_edges(key))
    return list(graph.order(needed))


def requested_partitions(
    definition: PartitionsDefinition,
    request: PartitionRequest | None,
    others: Sequence[PartitionsDefinition],
    now: datetime,
    dynamic: DynamicPartitionsStore | None,
) -> PartitionSubset | None:
    """The partitions of ``definition`` that ``request`` names.

    ``None`` means all of them (no partition was requested, or the asset is
    unpartitioned). A key of another time grain among ``others`` (the
    definitions of the other targets) is mapped by time.

    Raises:
        PartitionKeyError: a key is valid for none of the definitions.
    """
    if request is None or not definition.dimensions:
        return None
    try:
        return request.subset(definition, dynamic=dynamic)
    except PartitionKeyError as own_error:
        for other in others:
            if other == definition or not (other.is_time and definition.is_time):
                continue
            try:
                requested = request.subset(other, dynamic=dynamic)
            except PartitionKeyError:
                continue
            return TimeWindow().upstream(
                requested & other.all_subset(now, dynamic=dynamic),
                other,
                definition,
                now,
                dynamic=dynamic,
            )
        raise own_error from None


def source_partitions(
    graph: AssetGraph,
    request: PlanRequest,
    now: datetime,
    *,
    dynamic: DynamicPartitionsStore | None = None,
) -> dict[AssetKey, PartitionSubset]:
    """Per observed source that a target reads, the partitions of it a plan of ``request``
    reads: the requested partitions of each reader mapped through the edge (unioned
    over readers). Sources without an observe function are left out; the order is
    the graph's.
    """
    chosen = targets(graph, request.selection)
    others = [graph.spec(k).partitions or UNPARTITIONED for k in chosen]
    found: dict[AssetKey, PartitionSubset] = {}
    for key in chosen:
        definition = graph.spec(key).partitions or UNPARTITIONED
        wanted: PartitionSubset | None = None
        for edge in graph.upstream_edges(key):
            source = graph.spec(edge.upstream)
            if not source.is_source or source.fn is None:
                continue
            if wanted is None:
                existing = definition.all_subset(now, dynamic=dynamic)
                named = requested_partitions(definition, request.partitions, others, now, dynamic)
                wanted = existing if named is None else named & existing
            mapped = edge.mapping.upstream(
                wanted, definition, source.partitions, now, dynamic=dynamic
            )
            before = found.get(edge.upstream)
            found[edge.upstream] = mapped if before is None else before | mapped
    return {k: found[k] for k in graph.order(found)}
