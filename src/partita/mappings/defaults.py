"""The mapping used when a dependency names none."""

from __future__ import annotations

from partita.errors import DefinitionError
from partita.mappings.base import PartitionMapping, kind_of, resolve
from partita.mappings.dimension import Dimension
from partita.mappings.identity import Identity, same_grain
from partita.mappings.simple import AllPartitions
from partita.mappings.time import TimeWindow
from partita.partitions.base import PartitionsDefinition
from partita.partitions.dynamic import DynamicPartitions
from partita.partitions.multi import MultiPartitions
from partita.partitions.static import StaticPartitions, Unpartitioned
from partita.partitions.time import TimePartitions

__all__ = ["default_mapping"]


def _default_one(down: PartitionsDefinition, up: PartitionsDefinition) -> PartitionMapping | None:
    """The natural mapping between two one-dimensional definitions, if there is one."""
    if down == up:
        return Identity()
    if isinstance(down, TimePartitions) and isinstance(up, TimePartitions):
        return Identity() if same_grain(down, up) else TimeWindow()
    if isinstance(down, StaticPartitions) and isinstance(up, StaticPartitions):
        return Identity() if set(down.partition_keys) <= set(up.partition_keys) else None
    if isinstance(down, DynamicPartitions) and isinstance(up, DynamicPartitions):
        return Identity() if down.name == up.name else None
    return None


def _suggestion(down: PartitionsDefinition, up: PartitionsDefinition) -> str:
    if isinstance(down, MultiPartitions) or isinstance(up, MultiPartitions):
        multi = down if isinstance(down, MultiPartitions) else up
        assert isinstance(multi, MultiPartitions)
        return f"Dimension({multi.primary!r}, <mapping>) or AllPartitions()"
    if isinstance(up, StaticPartitions):
        keys = ", ".join(repr(k) for k in up.partition_keys[:2])
        return f"AllPartitions() or StaticMap({{<downstream key>: [{keys}]}})"
    if isinstance(down, StaticPartitions):
        return "AllPartitions(), LastPartition() or StaticMap({...})"
    return "AllPartitions() or LastPartition()"


def default_mapping(
    downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition | None
) -> PartitionMapping:
    """The mapping a dependency uses when it names none.

    * equal definitions, or time definitions of the same grain and zone: :class:`Identity`;
    * an unpartitioned side (``None``): :class:`AllPartitions`;
    * time definitions of different grains or zones: :class:`TimeWindow` (containment);
    * static over static with every downstream key upstream: :class:`Identity`;
    * multi and one-dimensional, or multis sharing dimensions: :class:`Dimension` over
      the one dimension with a natural mapping (the time dimension first).

    Anything else raises :class:`DefinitionError` naming the mappings to choose from.
    """
    down, up = resolve(downstream_def), resolve(upstream_def)
    if down == up:
        return Identity()
    if isinstance(down, Unpartitioned) or isinstance(up, Unpartitioned):
        return AllPartitions()
    multi_down, multi_up = isinstance(down, MultiPartitions), isinstance(up, MultiPartitions)
    if not multi_down and not multi_up:
        found = _default_one(down, up)
        if found is not None:
            return found
    else:
        candidates = _dimension_candidates(down, up)
        if len(candidates) == 1:
            return candidates[0]
        if multi_down and multi_up and candidates:
            identity = Identity()
            try:
                identity.check(down, up)
            except DefinitionError:
                return candidates[0]
            return identity
    raise DefinitionError(
        f"{kind_of(down)} asset reads {kind_of(up)} partitions and no mapping fits by default: "
        f"pass ins={{...: In(..., mapping={_suggestion(down, up)})}}",
        hint=f"downstream {down!r}, upstream {up!r}",
    )


def _dimension_candidates(
    down: PartitionsDefinition, up: PartitionsDefinition
) -> list[PartitionMapping]:
    """``Dimension(name, natural mapping)`` for each dimension where that mapping fits."""
    names: list[str] = []
    for side in (down, up):
        if isinstance(side, MultiPartitions):
            ordered = sorted(side.dimensions, key=lambda n: n != side.time_dimension)
            names.extend(n for n in ordered if n not in names)
    found: list[PartitionMapping] = []
    for name in names:
        down_dim = down.by_name.get(name) if isinstance(down, MultiPartitions) else down
        up_dim = up.by_name.get(name) if isinstance(up, MultiPartitions) else up
        if down_dim is None or up_dim is None:
            continue
        inner = _default_one(down_dim, up_dim)
        if inner is None:
            continue
        candidate = Dimension(name, inner)
        try:
            candidate.check(down, up)
        except DefinitionError:
            continue
        found.append(candidate)
    return found
