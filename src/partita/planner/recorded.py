"""The recorded per-edge input fingerprints, scattered into per-asset arrays.

The catalog's ``edges`` table has one row per (latest materialization,
upstream asset): millions of rows at scale. For each asset and each upstream
asset of it in the graph, the planner wants one uint64 per partition (0 where
nothing is recorded). Each row must be found the asset and partition of its
materialization. The catalogs return the edges asset after asset, ``k`` rows
per latest materialization (one per upstream asset) in the order of the
asset's latest rows; one reshaped comparison of the ids per asset proves
that, and then row ``i * k + j`` of an asset's run belongs to its ``i``-th
latest row, with no join. Any other order is joined by id (:func:`join`,
through a table indexed by id) and grouped by asset (a stable sort when the
rows of an asset are not together). Each asset's run is then split by
upstream asset.

Splitting by upstream asset compares strings. Comparing each run with each
upstream name costs an Arrow call per pair (thousands at scale), and
dictionary-encoding the column hashes every row; instead the runs are checked
to be *periodic*: an asset with ``k`` upstream assets records ``k`` edges per
materialization, in the same order each time, so row ``r`` names the same
upstream asset as row ``r - k``. One vectorized comparison of the column with
itself shifted by ``k`` proves it for every run at once; the upstream asset
of a row is then the one of the run's ``(r - start) % k``-th row, read from
its first ``k`` rows. A run that is not periodic (an asset whose
dependencies changed between builds, rows in another order) is split by
comparing with each name, which is exact too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.planner.columns import IntRanges
from partita.planner.space import AssetSpace, Mask

__all__ = ["Owners", "RecordedEdges", "hashes", "recorded_edges", "same"]

U64 = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

_MAX_PERIODS = 3
"""Shifted comparisons made at most (one per common number of upstream assets)."""

_DENSE_SLACK = 4
"""Join edges to latest materializations through tables indexed by id when the ids
span at most this many times their count (else by binary search)."""


@dataclass(frozen=True)
class RecordedEdges:
    """The recorded fingerprint of one (asset, upstream asset) edge per partition
    (0 where none is recorded); read only (it may be a view of the state's column)."""

    fingerprint: U64


@dataclass
class Owners:
    """The latest materializations of each asset: their ids, and the partition index of
    each (-1 for a partition that does not exist at ``now``), in the rows' order."""

    ids: list[npt.NDArray[np.int64]] = field(default_factory=list)
    keys: list[AssetKey] = field(default_factory=list)
    positions: list[npt.NDArray[np.int64]] = field(default_factory=list)
    whole: list[bool] = field(default_factory=list)
    """Per asset: its positions are exactly ``0, 1, ..., size - 1`` (every partition,
    in index order)."""


def hashes(column: pa.Array | pa.ChunkedArray) -> U64:
    """An int64 hash column as uint64 (null: 0)."""
    if column.null_count:
        column = column.fill_null(0)
    return np.asarray(column, dtype=np.int64).view(np.uint64)


def same(column: pa.ChunkedArray | pa.Array, value: str) -> Mask:
    """``column == value`` per row (null: not the same)."""
    equal = pc.equal(column, value)
    if equal.null_count:
        equal = equal.fill_null(False)
    return np.asarray(equal, dtype=np.bool_)


def join(owned: Owners, edge_ids: npt.NDArray[np.int64]) -> tuple[I32, I32]:
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
        edge_at = edge_ids - (low - 1)  # ids outside [low, high] are clipped onto -1 slots
        return owners.take(edge_at, mode="clip"), positions.take(edge_at, mode="clip")
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


def _periodic(upstream: pa.ChunkedArray | pa.Array, periods: Sequence[int]) -> dict[int, Mask]:
    """Per period ``k``: ``upstream[i + k] == upstream[i]`` for each ``i`` (null: False)."""
    n = len(upstream)
    return {k: _same_shifted(upstream, k) for k in periods if 0 < k < n}


def _same_shifted(column: pa.ChunkedArray | pa.Array, k: int) -> Mask:
    """``column[i + k] == column[i]`` for each ``i < len(column) - k`` (null: False)."""
    n = len(column)
    equal = pc.equal(column.slice(k), column.slice(0, n - k))
    if equal.null_count:
        equal = equal.fill_null(False)
    return np.asarray(equal, dtype=np.bool_)


def _aligned(
    owned: Owners, edge_ids: IntRanges, periods: Sequence[int]
) -> list[tuple[int, int, int]] | None:
    """(owner, start, stop) of each owner's edge rows when the table holds, owner after
    owner in ``owned`` order, exactly ``periods[owner]`` rows per latest materialization,
    in the order of the owner's latest rows (as the catalogs return them); else None."""
    runs: list[tuple[int, int, int]] = []
    cursor, n = 0, len(edge_ids)
    for owner, (ids, k) in enumerate(zip(owned.ids, periods, strict=True)):
        stop = cursor + k * len(ids)
        if k == 0 or not len(ids):
            continue
        if stop > n:
            return None
        if not bool((edge_ids.range(cursor, stop).reshape(len(ids), k) == ids[:, None]).all()):
            return None
        runs.append((owner, cursor, stop))
        cursor = stop
    return runs if cursor == n else None


def _put(fingerprint: U64, rows: npt.NDArray[np.integer], values: U64) -> None:
    """``fingerprint[rows] = values``, leaving out rows at -1 (a partition that does not
    exist at ``now``)."""
    if bool((rows >= 0).all()):
        fingerprint[rows] = values
    else:
        keep = rows >= 0
        fingerprint[rows[keep]] = values[keep]


def recorded_edges(
    graph: AssetGraph,
    table: pa.Table,
    spaces: Mapping[AssetKey, AssetSpace],
    owned: Owners,
) -> dict[tuple[AssetKey, str], RecordedEdges]:
    """Per (asset, upstream asset of it in the graph): the recorded fingerprint of each
    partition's latest build (edges to assets the graph no longer connects are not
    looked at by the planner, and left out)."""
    if table.num_rows == 0 or not owned.ids:
        return {}
    edge_ids = IntRanges(table["materialization_id"], null=-1)
    upstream = table["upstream_asset"]
    fingerprints = IntRanges(table["fingerprint"])
    wanted = [
        list(dict.fromkeys(str(e.upstream) for e in graph.upstream_edges(key)))
        for key in owned.keys
    ]
    aligned = _aligned(owned, edge_ids, [len(names) for names in wanted])
    position: I32 | None = None
    if aligned is not None:
        runs = aligned
    else:
        owner, position = join(owned, edge_ids.whole())
        runs = _runs(owner)
        if len({value for value, _, _ in runs}) != len(runs):  # not grouped by asset: sort
            order = np.argsort(owner, kind="stable")
            owner, position = owner[order], position[order]
            fingerprints = IntRanges(fingerprints.whole()[order])
            upstream = upstream.take(pa.array(order))
            runs = _runs(owner)
    rows_per_period: Counter[int] = Counter()
    for value, start, stop in runs:
        rows_per_period[len(wanted[value])] += stop - start
    periodic = _periodic(upstream, [k for k, _ in rows_per_period.most_common(_MAX_PERIODS)])
    result: dict[tuple[AssetKey, str], RecordedEdges] = {}
    for value, start, stop in runs:
        key, names = owned.keys[value], wanted[value]
        if not names:
            continue
        k = len(names)
        shifted = periodic.get(k)
        run = _Run(
            names=names,
            size=spaces[key].size,
            upstream=upstream.slice(start, stop - start),
            values=fingerprints.range(start, stop).view(np.uint64),
            periodic=stop - start <= k
            or (shifted is not None and bool(shifted[start : stop - k].all())),
            latest=owned.positions[value],
            whole=position is None and owned.whole[value],
            rows=None if position is None else position[start:stop],
        )
        for name, fingerprint in run.split().items():
            result[(key, name)] = RecordedEdges(fingerprint)
    return result


@dataclass(frozen=True)
class _Run:
    """The edge rows of one asset, to split by upstream asset."""

    names: list[str]
    """The asset's upstream assets in the graph (``k`` of them)."""
    size: int
    upstream: pa.ChunkedArray | pa.Array
    values: U64
    periodic: bool
    """Row ``r`` names the same upstream asset as row ``r - k``."""
    latest: Ints
    """The partition index of the asset's latest rows: aligned rows (``rows`` None),
    row ``i * k + j`` belongs to the ``i``-th."""
    whole: bool
    """Aligned, and ``latest`` is every partition in index order."""
    rows: I32 | None
    """Rows joined by id: the partition index of each row; None when aligned."""

    def split(self) -> dict[str, U64]:
        """Per upstream asset named in some row: the fingerprint of each partition."""
        k, found = len(self.names), {}
        if self.periodic:
            firsts = self.upstream.slice(0, k).to_pylist()
            for name in self.names:
                offsets = [j for j, first in enumerate(firsts) if first == name]
                if self.whole and len(offsets) == 1:
                    # row j + i * k is partition i: a strided view of the column (read
                    # only, like every recorded fingerprint)
                    found[name] = self.values[offsets[0] :: k]
                elif offsets:
                    fingerprint = np.zeros(self.size, dtype=np.uint64)
                    for j in offsets:
                        rows = self.latest if self.rows is None else self.rows[j::k]
                        _put(fingerprint, rows, self.values[j::k])
                    found[name] = fingerprint
            return found
        at = np.repeat(self.latest, k) if self.rows is None else self.rows
        for name in self.names:
            hit = same(self.upstream, name) & (at >= 0)
            if hit.any():
                fingerprint = np.zeros(self.size, dtype=np.uint64)
                fingerprint[at[hit]] = self.values[hit]
                found[name] = fingerprint
        return found
