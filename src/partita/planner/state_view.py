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
    """The recorded fingerprint of one (asset, upstream asset) edge per partition
    (0 where none is recorded)."""

    fingerprint: U64


@dataclass
class StateView:
    """Index spaces of the assets a plan looks at, and their recorded edges."""

    spaces: dict[AssetKey, AssetSpace]
    edges: dict[tuple[AssetKey, str], RecordedEdges]
    code_ok: dict[AssetKey, Mask]
    config_ok: dict[AssetKey, Mask]
    non_breaking: dict[AssetKey, Mask] = field(default_factory=dict)
    """Per SQL asset with a non-breaking change: the partitions recorded with a code
    version the current one only adds columns to."""


def _hashes(column: pa.Array | pa.ChunkedArray) -> U64:
    if column.null_count:
        column = column.fill_null(0)
    return np.asarray(column, dtype=np.int64).view(np.uint64)


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


@dataclass(frozen=True)
class _Columns:
    """The numeric columns of the grouped ``latest`` table as numpy arrays (one
    conversion for all assets; each asset takes a slice)."""

    ids: npt.NDArray[np.int64]
    hashes: U64

    @classmethod
    def of(cls, table: pa.Table) -> _Columns:
        if table.num_rows == 0:
            return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64))
        return cls(
            np.asarray(table["materialization_id"].fill_null(-1), dtype=np.int64),
            _hashes(table["output_hash"]),
        )


def _same(column: pa.ChunkedArray | pa.Array, value: str) -> Mask:
    """``column == value`` per row (null: not the same)."""
    equal = pc.equal(column, value)
    if equal.null_count:
        equal = equal.fill_null(False)
    return np.asarray(equal, dtype=np.bool_)


def _scatter_latest(
    graph: AssetGraph,
    key: AssetKey,
    space: AssetSpace,
    rows: pa.Table,
    columns: tuple[npt.NDArray[np.int64], U64],
    config_hash: str,
    view: StateView,
    owners: _Owners,
    non_breaking: frozenset[str] = frozenset(),
) -> None:
    index = space.index.indices_of(rows["partition"])
    ids, hashes = columns
    if bool((index >= 0).all()):
        at, valid = index, None
    else:
        valid = index >= 0
        at, ids, hashes = index[valid], ids[valid], hashes[valid]
    space.materialized[at] = True
    space.output_hash[at] = hashes
    if graph.spec(key).is_source:
        return
    space.materialization_id[at] = ids
    codes = rows["code_version"]
    for target, column, current in (
        (view.code_ok, codes, graph.code_version(key)),
        (view.config_ok, rows["config_hash"], config_hash),
    ):
        same = _same(column, current)
        if valid is not None:
            same = same[valid]
        if same.all():
            continue  # no entry: every recorded build agrees
        mask = np.ones(space.size, dtype=np.bool_)
        mask[at] = same
        target[key] = mask
        if target is view.code_ok:
            differing = pc.unique(pc.filter(codes, pa.array(~_same(codes, current)))).to_pylist()
            space.stale_code_versions = tuple(sorted(str(c) for c in differing))
            if non_breaking:
                from_versions = pc.is_in(codes, value_set=pa.array(sorted(non_breaking)))
                spared = np.asarray(from_versions.fill_null(False), dtype=np.bool_)
                found = np.zeros(space.size, dtype=np.bool_)
                found[at] = spared if valid is None else spared[valid]
                view.non_breaking[key] = found
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
    non_breaking: Mapping[AssetKey, frozenset[str]] | None = None,
) -> StateView:
    """Scatter ``state`` into index spaces for ``assets``; ``non_breaking[asset]`` are
    recorded code versions the asset's current code changes non-breakingly."""
    latest_groups = AssetRows.group(state.latest)
    latest_columns = _Columns.of(latest_groups.table)
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
        if spec.is_source:
            rows = observed_groups.of(name)
            if spec.fn is None and rows is None:
                _unobserved_source(space, key)
            elif rows is not None:
                columns = (np.full(rows.num_rows, -1, np.int64), _hashes(rows["output_hash"]))
                _scatter_latest(graph, key, space, rows, columns, "", view, owners)
        else:
            bounds = latest_groups.bounds.get(name)
            if bounds is not None:
                lo, hi = bounds
                rows = latest_groups.table.slice(lo, hi - lo)
                columns = (latest_columns.ids[lo:hi], latest_columns.hashes[lo:hi])
                config = config_hashes.get(name, "")
                spared = (non_breaking or {}).get(key, frozenset())
                _scatter_latest(graph, key, space, rows, columns, config, view, owners, spared)
        failed_rows = failed_groups.of(name)
        if failed_rows is not None:
            failed_index = space.index.indices_of(failed_rows["partition"])
            space.failed[failed_index[failed_index >= 0]] = True
    view.edges = _recorded_edges(graph, state.edges, view.spaces, owners)
    return view


_DENSE_SLACK = 4
"""Join edges to latest materializations through tables indexed by id when the ids
span at most this many times their count (else by binary search)."""

I32 = npt.NDArray[np.int32]


def _join(owned: _Owners, edge_ids: npt.NDArray[np.int64]) -> tuple[I32, I32]:
    """For each edge id, the owner (index into ``owned.keys``) and partition index of the
    latest materialization with that id; owner -1 when it is none of them."""
    ids = np.concatenate(owned.ids)
    lengths = [len(a) for a in owned.ids]
    owner_of = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    position_of = np.concatenate(owned.positions).astype(np.int32)
    if not len(ids) or not len(edge_ids):
        return np.full(len(edge_ids), -1, dtype=np.int32), np.zeros(len(edge_ids), np.int32)
    low, high = int(ids.min()), int(ids.max())
    if high - low < _DENSE_SLACK * len(ids) + 1024:
        owners = np.full(high - low + 3, -1, dtype=np.int32)  # [0] and [-1]: outside
        positions = np.zeros(high - low + 3, dtype=np.int32)
        at = ids - (low - 1)
        owners[at] = owner_of
        positions[at] = position_of
        edge_at = edge_ids - (low - 1)
        if int(edge_ids.min()) < low or int(edge_ids.max()) > high:
            edge_at = np.clip(edge_at, 0, high - low + 2)
        return owners[edge_at], positions[edge_at]
    order = np.argsort(ids)
    ordered = ids[order]
    slot = order[np.clip(np.searchsorted(ordered, edge_ids), 0, len(ids) - 1)]
    matched = ids[slot] == edge_ids
    return np.where(matched, owner_of[slot], -1).astype(np.int32), position_of[slot]


def _runs(owner: I32) -> list[tuple[int, int, int]]:
    """(owner, start, stop) of each run of equal values in ``owner``, skipping -1."""
    if not len(owner):
        return []
    starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    stops = np.append(starts[1:], len(owner))
    values = owner[starts]
    return [
        (value, start, stop)
        for value, start, stop in zip(values.tolist(), starts.tolist(), stops.tolist(), strict=True)
        if value >= 0
    ]


def _recorded_edges(
    graph: AssetGraph,
    table: pa.Table,
    spaces: Mapping[AssetKey, AssetSpace],
    owned: _Owners,
) -> dict[tuple[AssetKey, str], RecordedEdges]:
    """Per (asset, upstream asset of it in the graph): the recorded fingerprint of each
    partition's latest build (edges to assets the graph no longer connects are not
    looked at by the planner, and left out)."""
    if table.num_rows == 0 or not owned.ids:
        return {}
    owner, position = _join(owned, np.asarray(table["materialization_id"], dtype=np.int64))
    upstream = table["upstream_asset"]
    fingerprints = _hashes(table["fingerprint"])
    runs = _runs(owner)
    if len({value for value, _, _ in runs}) != len(runs):  # not grouped by asset: sort
        order = np.argsort(owner, kind="stable")
        owner, position, fingerprints = owner[order], position[order], fingerprints[order]
        upstream = upstream.take(pa.array(order))
        runs = _runs(owner)
    result: dict[tuple[AssetKey, str], RecordedEdges] = {}
    for value, start, stop in runs:
        key = owned.keys[value]
        size = spaces[key].size
        names = upstream.slice(start, stop - start)
        at = position[start:stop]
        values = fingerprints[start:stop]
        for name in dict.fromkeys(str(e.upstream) for e in graph.upstream_edges(key)):
            hit = _same(names, name)
            if not hit.any():
                continue
            fingerprint = np.zeros(size, dtype=np.uint64)
            fingerprint[at[hit]] = values[hit]
            result[(key, name)] = RecordedEdges(fingerprint)
    return result
