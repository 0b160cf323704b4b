"""Mapping multi-dimensional subsets one dimension at a time.

A subset is cut into *boxes*: products of one-dimensional subsets, one per
dimension (a :class:`~partita.partitions.MultiSubset` group is a box whose
non-primary dimensions hold one key). A product mapping says, for each
upstream dimension, which downstream dimension feeds it and through which
one-dimensional mapping (``None``: every upstream partition of that dimension).
Because such a relation is a product, the image of a box is a box, and the
inverse image is computed the same way: exact in both directions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from partita.partitions.base import DynamicPartitionsStore, PartitionsDefinition, PartitionSubset
from partita.partitions.multi import MultiPartitions, MultiSubset

if TYPE_CHECKING:
    from partita.mappings.base import PartitionMapping

__all__ = ["Rule", "dimensions_of", "map_downstream", "map_upstream"]

Box = dict[str, PartitionSubset]


@dataclass(frozen=True)
class Rule:
    """Upstream dimension ``upstream_dim`` is read from ``downstream_dim`` through ``mapping``.

    ``downstream_dim=None`` means every partition of the upstream dimension.
    """

    upstream_dim: str
    downstream_dim: str | None
    mapping: PartitionMapping | None


def dimensions_of(
    definition: PartitionsDefinition, rename: str | None = None
) -> dict[str, PartitionsDefinition]:
    """``{name: one-dimensional definition}``; a 1-D definition may be renamed."""
    if isinstance(definition, MultiPartitions):
        return dict(definition.parts)
    return {rename or definition.dimension: definition}


def _boxes(subset: PartitionSubset, names: Sequence[str]) -> list[Box]:
    definition = subset.definition
    if isinstance(subset, MultiSubset):
        assert isinstance(definition, MultiPartitions)
        boxes: list[Box] = []
        for others, primary in subset.groups:
            box: Box = {definition.primary: primary}
            for name, value in zip(definition.others, others, strict=True):
                box[name] = definition.by_name[name].subset([value])
            boxes.append(box)
        return boxes
    return [{names[0]: subset}] if not subset.is_empty else []


def _compose(
    definition: PartitionsDefinition, boxes: list[Box], names: Sequence[str]
) -> PartitionSubset:
    if not isinstance(definition, MultiPartitions):
        result = definition.empty_subset()
        for box in boxes:
            result = result | box[names[0]]
        return result
    groups: dict[tuple[str, ...], PartitionSubset] = {}
    for box in boxes:
        primary = box[definition.primary]
        for combo in itertools.product(*(list(box[n]) for n in definition.others)):
            groups[combo] = groups[combo] | primary if combo in groups else primary
    return MultiSubset.build(definition, groups)


def map_upstream(
    downstream: PartitionSubset,
    down_dims: dict[str, PartitionsDefinition],
    up_def: PartitionsDefinition,
    up_dims: dict[str, PartitionsDefinition],
    rules: Sequence[Rule],
    now: datetime,
    dynamic: DynamicPartitionsStore | None,
) -> PartitionSubset:
    """The image of ``downstream`` under the product mapping ``rules``."""
    results: list[Box] = []
    everything: dict[str, PartitionSubset] = {}
    for box in _boxes(downstream, list(down_dims)):
        image: Box = {}
        for rule in rules:
            target = up_dims[rule.upstream_dim]
            if rule.downstream_dim is None or rule.mapping is None:
                if rule.upstream_dim not in everything:
                    everything[rule.upstream_dim] = target.all_subset(now, dynamic=dynamic)
                part = everything[rule.upstream_dim]
            else:
                source = down_dims[rule.downstream_dim]
                part = rule.mapping.upstream(
                    box[rule.downstream_dim], source, target, now, dynamic=dynamic
                )
            if part.is_empty:
                break
            image[rule.upstream_dim] = part
        else:
            results.append(image)
    return _compose(up_def, results, list(up_dims))


def map_downstream(
    upstream: PartitionSubset,
    up_dims: dict[str, PartitionsDefinition],
    down_def: PartitionsDefinition,
    down_dims: dict[str, PartitionsDefinition],
    rules: Sequence[Rule],
    now: datetime,
    dynamic: DynamicPartitionsStore | None,
) -> PartitionSubset:
    """Every downstream partition whose image under ``rules`` meets ``upstream``."""
    results: list[Box] = []
    everything: dict[str, PartitionSubset] = {}
    for box in _boxes(upstream, list(up_dims)):
        preimage: Box = {}
        for rule in rules:
            if rule.downstream_dim is None or rule.mapping is None:
                continue  # every downstream partition reads all of this dimension
            source = down_dims[rule.downstream_dim]
            part = rule.mapping.downstream(
                box[rule.upstream_dim], up_dims[rule.upstream_dim], source, now, dynamic=dynamic
            )
            if rule.downstream_dim in preimage:
                part = part & preimage[rule.downstream_dim]
            preimage[rule.downstream_dim] = part
        if any(part.is_empty for part in preimage.values()):
            continue
        for name, definition in down_dims.items():
            if name not in preimage:
                if name not in everything:
                    everything[name] = definition.all_subset(now, dynamic=dynamic)
                preimage[name] = everything[name]
        if not any(part.is_empty for part in preimage.values()):
            results.append(preimage)
    return _compose(down_def, results, list(down_dims))
