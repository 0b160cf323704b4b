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

from partita.errors import PartitionKeyError, PartitionNotYetError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.mappings import TimeWindow
from partita.partitions import (
    UNPARTITIONED,
    DynamicPartitionsStore,
    MultiPartitions,
    PartitionsDefinition,
    PartitionSubset,
    TimePartitions,
)
from partita.planner.plan import PartitionRequest, PlanRequest
from partita.selection import select

__all__ = [
    "assets_needed",
    "refuse_partitions_not_yet",
    "requested_partitions",
    "source_partitions",
    "targets",
]


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
    *,
    asset: AssetKey | None = None,
) -> PartitionSubset | None:
    """The partitions of ``definition`` (of ``asset``) that ``request`` names.

    ``None`` means all of them (no partition was requested, or the asset is
    unpartitioned). A key of another time grain among ``others`` (the
    definitions of the other targets) is mapped by time, to the partitions
    that exist.

    Raises:
        PartitionKeyError: a key is valid for none of the definitions.
        PartitionNotYetError: a key of ``definition`` names a time partition
            that does not exist yet at ``now`` (see :func:`refuse_partitions_not_yet`).
    """
    if request is None or not definition.dimensions:
        return None
    try:
        requested = request.subset(definition, dynamic=dynamic)
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
    refuse_partitions_not_yet(asset, definition, requested, now, dynamic)
    return requested


def refuse_partitions_not_yet(
    asset: AssetKey | None,
    definition: PartitionsDefinition,
    requested: PartitionSubset,
    now: datetime,
    dynamic: DynamicPartitionsStore | None,
) -> None:
    """Raise when ``requested`` names time partitions that do not exist at ``now``.

    A time partition exists once its window is complete (``end_offset`` shifts
    that); planning one before would silently plan nothing and report it up
    to date, so the request is refused, saying when the first one will exist.

    Raises:
        PartitionNotYetError: naming the asset, the definition, the partitions and
            the moment the first of them comes to exist.
    """
    if definition.time_dimension is None or not requested:
        return
    existing = definition.all_subset(now, dynamic=dynamic)
    not_yet = requested - existing
    if not not_yet:
        return
    ranges = not_yet.ranges()
    moments = [m for m in (definition.exists_from(first) for first, _ in ranges) if m is not None]
    future = [m for m in moments if m > now]
    if not future:  # missing for another reason (a dynamic key not added): not ours to judge
        return
    when = min(future)
    first, last = ranges[0][0], ranges[-1][1]
    owner = f"{asset} ({definition.describe()})" if asset else definition.describe()
    if len(not_yet) == 1:
        what, which = f"partition {first} of {owner} does not exist yet", "it"
    else:
        what = f"{len(not_yet)} partitions {first}..{last} of {owner} do not exist yet"
        which = "the first of them"
    newest = existing.ranges()[-1][1] if existing else None
    raise PartitionNotYetError(
        f"{what}: a time partition exists once its window is complete"
        f"{_offset_note(definition)}; {which} exists from "
        f"{_moment_text(definition, when)}",
        exists_from=when,
        hint=f"the newest partition now is {newest}"
        if newest is not None
        else "no partition of it exists yet",
    )


def _time_part(definition: PartitionsDefinition) -> TimePartitions | None:
    if isinstance(definition, TimePartitions):
        return definition
    name = definition.time_dimension
    if isinstance(definition, MultiPartitions) and name is not None:
        part = definition.by_name[name]
        return part if isinstance(part, TimePartitions) else None
    return None


def _offset_note(definition: PartitionsDefinition) -> str:
    part = _time_part(definition)
    offset = 0 if part is None else part.end_offset
    return f" (shifted by end_offset={offset})" if offset else ""


def _moment_text(definition: PartitionsDefinition, moment: datetime) -> str:
    part = _time_part(definition)
    return f"{moment:%Y-%m-%d %H:%M} {part.timezone if part else moment.tzname()}"


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
                named = requested_partitions(
                    definition, request.partitions, others, now, dynamic, asset=key
                )
                wanted = existing if named is None else named & existing
            mapped = edge.mapping.upstream(
                wanted, definition, source.partitions, now, dynamic=dynamic
            )
            before = found.get(edge.upstream)
            found[edge.upstream] = mapped if before is None else before | mapped
    return {k: found[k] for k in graph.order(found)}
