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
from partita.partitions import DynamicPartitionsStore
from partita.planner.space import AssetSpace, Mask
from partita.records import PlannerState, partition_hash

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


def _groups(table: pa.Table) -> dict[str, npt.NDArray[np.int64]]:
    """Row positions of ``table`` per value of its ``asset`` column."""
    if table.num_rows == 0:
        return {}
    encoded = pc.dictionary_encode(table["asset"]).combine_chunks()
    codes = np.asarray(encoded.indices, dtype=np.int64)
    names = encoded.dictionary.to_pylist()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return {name: order[bounds[i] : bounds[i + 1]] for i, name in enumerate(names)}


def _column(table: pa.Table, name: str, rows: npt.NDArray[np.int64]) -> pa.Array:
    return table[name].take(pa.array(rows)).combine_chunks()


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
    table: pa.Table,
    rows: npt.NDArray[np.int64],
    config_hash: str,
    view: StateView,
    owners: _Owners,
) -> None:
    index = space.indices_of(_column(table, "partition", rows))
    valid = index >= 0
    at = index[valid]
    space.materialized[at] = True
    space.output_hash[at] = _hashes(_column(table, "output_hash", rows))[valid]
    space.data_version = _objects(space.size, at, _column(table, "data_version", rows), valid)
    if graph.spec(key).is_source:
        return
    ids = np.asarray(_column(table, "materialization_id", rows), dtype=np.int64)[valid]
    space.materialization_id[at] = ids
    codes = _column(table, "code_version", rows)
    space.code_version = _objects(space.size, at, codes, valid)
    for target, column, current in (
        (view.code_ok, codes, graph.code_version(key)),
        (view.config_ok, _column(table, "config_hash", rows), config_hash),
    ):
        mask = np.ones(space.size, dtype=np.bool_)
        mask[at] = np.asarray(pc.equal(column, current).fill_null(False))[valid]
        target[key] = mask
    owners.ids.append(ids)
    owners.keys.append(key)
    owners.positions.append(at)


def _objects(
    size: int, at: npt.NDArray[np.int64], column: pa.Array, valid: Mask
) -> npt.NDArray[np.object_]:
    out = np.full(size, None, dtype=object)
    out[at] = np.asarray(column.to_pylist(), dtype=object)[valid]
    return out


def build_state_view(
    graph: AssetGraph,
    state: PlannerState,
    assets: Iterable[AssetKey],
    now: datetime,
    config_hashes: Mapping[str, str],
    dynamic: DynamicPartitionsStore | None = None,
) -> StateView:
    """Scatter ``state`` into index spaces for ``assets``."""
    latest_groups = _groups(state.latest)
    observed_groups = _groups(state.observations)
    failed_groups = _groups(state.failed)
    view = StateView(spaces={}, edges={}, code_ok={}, config_ok={})
    owners = _Owners()
    for key in assets:
        spec = graph.spec(key)
        space = AssetSpace.empty(spec.partitions, now, dynamic)
        view.spaces[key] = space
        name = str(key)
        rows = (observed_groups if spec.is_source else latest_groups).get(name)
        if spec.is_source and spec.fn is None and rows is None:
            _unobserved_source(space, key)
        elif rows is not None:
            table = state.observations if spec.is_source else state.latest
            _scatter_latest(
                graph, key, space, table, rows, config_hashes.get(name, ""), view, owners
            )
        failed_rows = failed_groups.get(name)
        if failed_rows is not None:
            failed_index = space.indices_of(_column(state.failed, "partition", failed_rows))
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
