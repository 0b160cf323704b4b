"""Deleting an asset's stored data: ``partita wipe ASSET``.

A wipe deletes the published data of some partitions of one asset (or all of
them) through the asset's store, and records in the catalog that they were
wiped, so the planner sees them as ``missing`` and the next ``materialize``
rebuilds them. History stays: earlier materializations are still listed by
``history`` and ``lineage``. It is the way out of a refused schema change
(:mod:`partita.io.schema`): wipe the asset, then rebuild it with the new types.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow.compute as pc

from partita.api.planning import requested
from partita.api.project import Project, ProjectLike, as_project
from partita.errors import DefinitionError, PartitaError
from partita.io import PartitionPath, Store
from partita.keys import AssetKey
from partita.partitions import PartitionsDefinition, PartitionSubset
from partita.records import UNPARTITIONED
from partita.runner import WorkerRuntime

__all__ = ["WipeResult", "wipe"]


@dataclass(frozen=True)
class WipeResult:
    """What a wipe deleted (or, for a dry run, would delete).

    Attributes:
        asset: the asset key.
        partitions: the partition keys wiped (``None`` for an unpartitioned asset),
            sorted: those stored or recorded as materialized.
        whole_asset: every partition was wiped (the store dropped the asset's
            table or folder, with its column types).
        dry_run: nothing was deleted or recorded.
    """

    asset: str
    partitions: tuple[str | None, ...]
    whole_asset: bool
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "asset": self.asset,
            "partitions": list(self.partitions),
            "whole_asset": self.whole_asset,
            "dry_run": self.dry_run,
        }


def _key_of(definition: PartitionsDefinition | None, path: PartitionPath) -> str | None:
    if definition is None or not path:
        return None
    return definition.join(dict(path))


def _selected(key: str | None, subset: PartitionSubset | None) -> bool:
    if subset is None:
        return True
    if key is None:
        return False
    try:
        return key in subset
    except PartitaError:  # a stored key the definition no longer has
        return False


def wipe(
    project: ProjectLike,
    asset: str,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> WipeResult:
    """Delete the stored data of ``asset`` and record it, so it is rebuilt from scratch.

    ::

        partita.api.wipe(project, "marts/deals")                          # every partition
        partita.api.wipe(project, "marts/deals", partition_key="2026-11-20")
        partita.api.wipe(project, "marts/deals", partition_range=("2026-11-01", "2026-11-30"))

    Without a partition, the whole asset goes: the store drops its table (DuckDB)
    or folder (Parquet), column types included, so a rebuild may change them.
    With one, only those partitions' rows or files are deleted (a DuckDB table
    keeps its column types).

    Args:
        project: a loaded project, or definitions built in memory.
        asset: the asset key (or a unique name).
        partition_key: wipe only this partition.
        partition_range: wipe the partitions from ``first`` to ``last``, both included.
        home: where the catalog and default data live (as for :func:`materialize`).
        now: the time recorded for the wipe (default: now, UTC).
        dry_run: only say what would be wiped.

    Raises:
        UnknownAssetError: no such asset.
        DefinitionError: ``asset`` is a source (its data is not Partita's to delete).
        PartitionKeyError: a requested key is not valid for the asset.
        PartitaError: a run is building one of these partitions now.
    """
    moment = now or datetime.now(UTC)
    chosen: Project = as_project(project, home)
    key: AssetKey = chosen.graph.resolve(asset)
    spec = chosen.graph.spec(key)
    if spec.is_source:
        raise DefinitionError(
            f"{key} is a source: Partita observes its data but does not store it",
            hint="wipe the assets built from it instead",
        )
    request = requested(partition_key, partition_range)
    definition = spec.partitions if spec.partitions and spec.partitions.dimensions else None
    store: Store = WorkerRuntime.for_data_path(chosen.graph, chosen.data_path).store_of(key)
    with chosen.open_catalog() as catalog:
        subset = None
        if request is not None:
            if definition is None:
                raise DefinitionError(
                    f"{key} is not partitioned, so it has no partition {request.text!r}",
                    hint="leave out --partition / --from / --to",
                )
            subset = request.subset(definition, dynamic=catalog.dynamic_partitions)
        latest = catalog.planner_state([str(key)]).latest
        recorded = latest.filter(pc.equal(latest["asset"], str(key)))["partition"].to_pylist()
        found: set[str | None] = {None if p == UNPARTITIONED else str(p) for p in recorded}
        stored = {_key_of(definition, path): path for path in store.list_partitions(key)}
        found.update(stored)
        wiped = sorted((p for p in found if _selected(p, subset)), key=lambda p: p or "")
        holders = catalog.lease_holders([(str(key), p) for p in wiped], now=moment)
        if holders:
            (_, busy), run_id = next(iter(holders.items()))
            label = str(key) if busy is None else f"{key} [{busy}]"
            raise PartitaError(
                f"{label} is being built by run {run_id}: not wiped",
                hint="wait for that run to finish (partita runs), then wipe",
            )
        result = WipeResult(str(key), tuple(wiped), whole_asset=subset is None, dry_run=dry_run)
        if dry_run:
            return result
        if subset is None:
            store.delete(key)
        else:
            for part in wiped:
                path = stored.get(part)
                if path is not None:
                    store.delete(key, path)
        targets = None if subset is None else list(wiped)
        catalog.record_wipe(str(key), targets, now=moment)
    return result
