"""Scattering the catalog's bulk state into per-asset index spaces (vectorized).

The catalog hands the planner Arrow tables (``PlannerState``); this module
groups their rows by asset once (one sort), turns partition keys into indices
with one ``index_in`` per asset, and fills the arrays of each
:class:`~partita.planner.space.AssetSpace`. It also collects the recorded
per-edge input fingerprints: for each asset and upstream asset, one uint64
per partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore, PartitionsDefinition
from partita.planner.space import AssetSpace, Mask
from partita.records import PlannerState, partition_hash
from partita.spaces import AssetRows, KeyIndex

__all__ = ["RecordedEdges", "StateView", "build_state_view"]

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class RecordedEdges:
    """The recorded fingerprint of one (asset, upstream asset) edge per partition."""

    fingerprint: U64
    present: Mask


@dataclass
class StateView:
    """Index spaces of the assets a plan looks at, and their recorded edges."""

    spaces: dict[AssetKey, AssetSpace]
    edges: dict[tuple[AssetKey, str], RecordedEdges]
    code_ok: dict[AssetKey, Mask]
    config_ok: dict[AssetKey, Mask]


def _hashes(column: pa.Array) -> U64:
    return np.asarray(column.fill_null(0), dtype=np.int64).view(np.uint64)


def _unobserved_source(space: AssetSpace, key: AssetKey) -> None:
    """A source without an observe function counts as present with data version ``""``."""
    space.materialized[:] = True
    space.output_hash[:] = np.asarray(
        [partition_hash(str(key), k or None, "") for k in space.keys], dtype=np.int64
    ).view(np.uint64)


@dataclass
class _Owners:
    """Which asset and index each latest materialization id belongs to."""

    ids: list[npt.NDArray[np.int64]] = field(default_factory=list)
    keys: list[AssetKey] = field(default_factory=list)
    positions: list[npt.NDArray[np.int64]] = field(default_factory=list)


def _scatter_latest(
    graph: AssetGraph,
    key: AssetKey,
    space: AssetSpace,
    rows: pa.Table,
    config_hash: str,
    view: StateView,
    owners: _Owners,
) -> None:
    index = space.index.indices_of(rows["partition"])
    valid = index >= 0
    at = index[valid]
    space.materialized[at] = True
    space.output_hash[at] = _hashes(rows["output_hash"])[valid]
    if graph.spec(key).is_source:
        return
    ids = np.asarray(rows["materialization_id"], dtype=np.int64)[valid]
    space.materialization_id[at] = ids
    codes = rows["code_version"].combine_chunks()
    for target, column, current in (
        (view.code_ok, codes, graph.code_version(key)),
        (view.config_ok, rows["config_hash"], config_hash),
    ):
        same = np.asarray(pc.equal(column, current).fill_null(False))
        mask = np.ones(space.size, dtype=np.bool_)
        mask[at] = same[valid]
        target[key] = mask
        if target is view.code_ok and not same.all():
            differing = codes.filter(pa.array(~same)).unique().to_pylist()
            space.stale_code_versions = tuple(sorted(str(c) for c in differing))
    owners.ids.append(ids)
    owners.keys.append(key)
    owners.positions.append(at)


def build_state_view(
    graph: AssetGraph,
    state: PlannerState,
    assets: Iterable[AssetKey],
    now: datetime,
    config_hashes: Mapping[str, str],
    dynamic: DynamicPartitionsStore | None = None,
) -> StateView:
    """Scatter ``state`` into index spaces for ``assets``."""
    latest_groups = AssetRows.group(state.latest)
    observed_groups = AssetRows.group(state.observations)
    failed_groups = AssetRows.group(state.failed)
    view = StateView(spaces={}, edges={}, code_ok={}, config_ok={})
    owners = _Owners()
    shared_keys: dict[PartitionsDefinition | None, KeyIndex] = {}
    for key in assets:
        spec = graph.spec(key)
        index = shared_keys.get(spec.partitions)
        if index is None:
            index = shared_keys[spec.partitions] = KeyIndex.of(spec.partitions, now, dynamic)
        space = AssetSpace.over(index)
        view.spaces[key] = space
        name = str(key)
        rows = (observed_groups if spec.is_source else latest_groups).of(name)
        if spec.is_source and spec.fn is None and rows is None:
            _unobserved_source(space, key)
        elif rows is not None:
            _scatter_latest(graph, key, space, rows, config_hashes.get(name, ""), view, owners)
        failed_rows = failed_groups.of(name)
        if failed_rows is not None:
            failed_index = space.index.indices_of(failed_rows["partition"])
            space.failed[failed_index[failed_index >= 0]] = True
    view.edges = _recorded_edges(state.edges, view.spaces, owners)
    return view


def _recorded_edges(
    table: pa.Table, spaces: Mapping[AssetKey, AssetSpace], owned: _Owners
) -> dict[tuple[AssetKey, str], RecordedEdges]:
    """Per (asset, upstream asset): the recorded fingerprint of each partition's latest build."""
    owner_ids, owner_keys, owner_idx = owned.ids, owned.keys, owned.positions
    if table.num_rows == 0 or not owner_ids:
        return {}
    ids = np.concatenate(owner_ids)
    owners = np.concatenate([np.full(len(a), i, dtype=np.int64) for i, a in enumerate(owner_ids)])
    positions = np.concatenate(owner_idx)
    order = np.argsort(ids)
    ids, owners, positions = ids[order], owners[order], positions[order]
    edge_ids = np.asarray(table["materialization_id"], dtype=np.int64)
    slot = np.clip(np.searchsorted(ids, edge_ids), 0, max(len(ids) - 1, 0))
    matched = ids[slot] == edge_ids if len(ids) else np.zeros(len(edge_ids), dtype=np.bool_)
    encoded = pc.dictionary_encode(table["upstream_asset"]).combine_chunks()
    up_codes = np.asarray(encoded.indices, dtype=np.int64)
    up_names = encoded.dictionary.to_pylist()
    fingerprints = _hashes(table["fingerprint"].combine_chunks())
    group = owners[slot] * len(up_names) + up_codes
    group = np.where(matched, group, -1)
    order = np.argsort(group, kind="stable")
    sorted_groups = group[order]
    result: dict[tuple[AssetKey, str], RecordedEdges] = {}
    for value in np.unique(sorted_groups[sorted_groups >= 0]).tolist():
        lo, hi = np.searchsorted(sorted_groups, [value, value + 1])
        rows = order[lo:hi]
        owner, up_code = divmod(value, len(up_names))
        key = owner_keys[owner]
        size = spaces[key].size
        fingerprint = np.zeros(size, dtype=np.uint64)
        present = np.zeros(size, dtype=np.bool_)
        fingerprint[positions[slot[rows]]] = fingerprints[rows]
        present[positions[slot[rows]]] = True
        result[(key, up_names[up_code])] = RecordedEdges(fingerprint, present)
    return result
