"""What the OpenLineage events say about each asset, as plain data.

:class:`AssetLineage` is fixed for a run (an asset's job name, dataset,
partitions, code, SQL and upstream assets); :func:`project_lineage` makes it
for every asset of a graph. This module imports no part of the
``openlineage-python`` client, so a run whose events are built in the sender
process (:mod:`partita.openlineage.sender`) never loads the client itself.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING

from partita.errors import PartitaError

if TYPE_CHECKING:  # the sender process unpickles lineage without the stores' modules
    from partita.assets import AssetSpec
    from partita.graph import AssetGraph
    from partita.partitions import PartitionsDefinition, TimeWindowRange
    from partita.records import Input

__all__ = [
    "AssetLineage",
    "UpstreamRead",
    "lineage_of",
    "no_source_code",
    "partition_split",
    "partition_window",
    "portable_lineage",
    "project_lineage",
    "upstream_reads",
]


def no_source_code() -> str | None:
    """The code of an asset whose code is unknown (``None``)."""
    return None


@dataclass(frozen=True)
class AssetLineage:
    """What the events of one asset say about it, fixed for a run.

    Attributes:
        key: the asset key (the job name).
        dataset: ``(namespace, name)`` of its data.
        partitions: its partitions definition (``None``: unpartitioned).
        source_code: returns the code that builds it (``None`` when unknown);
            called once, off the run's hot path.
        sql: ``(query, dialect)`` of a SQL asset.
        upstream: the assets it depends on.
        columns: a SQL asset's column lineage: per output column, the
            ``(upstream asset, column)`` pairs it derives from (a column whose
            lineage could not be traced lists what could be, possibly nothing).
    """

    key: str
    dataset: tuple[str, str]
    partitions: PartitionsDefinition | None = None
    source_code: Callable[[], str | None] = field(default=no_source_code, compare=False)
    sql: tuple[str, str | None] | None = None
    upstream: tuple[str, ...] = ()
    columns: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()


# -- what both event builders read of an asset (the client's classes and plain dicts) --


def lineage_of(assets: Mapping[str, AssetLineage], namespace: str, key: str) -> AssetLineage:
    """What is known of ``key`` (an asset unknown to the definitions gets a dataset
    named after it, so events of a renamed asset can still be made)."""
    found = assets.get(key)
    return AssetLineage(key=key, dataset=(namespace, key)) if found is None else found


def partition_split(
    asset: AssetLineage, keys: Sequence[str]
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The dimensions of ``asset`` and each key split into them (``["key"]`` and nothing
    when unpartitioned; a key its definition rejects counts as its first dimension's)."""
    definition = asset.partitions
    if definition is None:
        return ["key"], {}
    dimensions = list(definition.dimensions)
    split: dict[str, dict[str, str]] = {}
    for key in keys:
        try:
            split[key] = definition.split(key)
        except PartitaError:
            split[key] = {dimensions[0]: key}
    return dimensions, split


def partition_window(asset: AssetLineage, partition: str) -> TimeWindowRange | None:
    """The time window of one partition of ``asset`` (``None``: not a time partition)."""
    definition = asset.partitions
    if definition is None:
        return None
    try:
        return definition.time_window(partition)
    except PartitaError:
        return None


@dataclass(frozen=True)
class UpstreamRead:
    """What one step read of one upstream asset: the partitions, and their data version
    when it read exactly one record carrying one."""

    lineage: AssetLineage
    keys: list[str]
    version: str | None


def upstream_reads(
    asset: AssetLineage, read: Iterable[Input], lookup: Callable[[str], AssetLineage]
) -> list[UpstreamRead]:
    """Per upstream asset (the declared ones first, each even when nothing of it was
    read), what a step of ``asset`` read of it."""
    by_asset: dict[str, list[Input]] = {name: [] for name in asset.upstream}
    for item in read:
        by_asset.setdefault(item.upstream_asset, []).append(item)
    reads = []
    for name, items in by_asset.items():
        keys = [i.upstream_partition for i in items if i.upstream_partition]
        versions = {i.upstream_data_version for i in items if i.upstream_data_version}
        version = versions.pop() if len(items) == 1 and len(versions) == 1 else None
        reads.append(UpstreamRead(lookup(name), keys, version))
    return reads


def _code_of(spec: AssetSpec) -> Callable[[], str | None]:
    @cache
    def read() -> str | None:
        if spec.fn is None:
            return None
        try:
            return inspect.getsource(spec.fn)
        except (OSError, TypeError):
            return None

    return read


def project_lineage(
    graph: AssetGraph, namespace: str, store_of: Callable[[AssetSpec], object]
) -> dict[str, AssetLineage]:
    """:class:`AssetLineage` of every asset and source of ``graph``.

    ``store_of`` gives an asset's store: one that names its data
    (:class:`~partita.io.LineageNamedStore`) names the dataset; other stores
    and sources get ``(namespace, asset key)``.
    """
    from partita.io import LineageNamedStore  # noqa: PLC0415 - see the imports above

    assets: dict[str, AssetLineage] = {}
    for spec in graph.specs():
        key = str(spec.key)
        dataset = (namespace, key)
        if not spec.is_source:
            store = store_of(spec)
            if isinstance(store, LineageNamedStore):
                dataset = store.lineage_dataset(spec.key)
        model = spec.sql_model
        assets[key] = AssetLineage(
            key=key,
            dataset=dataset,
            partitions=spec.partitions,
            source_code=_code_of(spec),
            upstream=tuple(str(edge.upstream) for edge in graph.upstream_edges(spec.key)),
            sql=None if model is None else (model.query, model.dialect),
            columns=()
            if model is None
            else tuple(
                (line.column, tuple((src.asset, src.column) for src in line.sources))
                for line in model.column_lineage
            ),
        )
    return assets


def portable_lineage(assets: Mapping[str, AssetLineage]) -> bytes | None:
    """``assets`` pickled for another Python process, without their code (which the
    sender is given asset by asset, when first needed); ``None`` when a partitions
    definition is not one of Partita's own (a class the other process could not import)
    or does not pickle."""
    plain: dict[str, AssetLineage] = {}
    for key, lineage in assets.items():
        definition = lineage.partitions
        if definition is not None and not type(definition).__module__.startswith("partita."):
            return None
        plain[key] = replace(lineage, source_code=no_source_code)
    try:
        return pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
