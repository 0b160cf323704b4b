"""Which upstream partitions each downstream partition reads, as CSR index arrays.

For an edge ``upstream -> downstream`` the planner needs, for every
downstream partition ``d``, the upstream partitions ``map(d)``. They are held
in compressed sparse rows: ``indices[indptr[d]:indptr[d + 1]]`` are the
upstream indices of ``d``. Common mappings (identity and time windows between
time definitions of one grain, all partitions, unpartitioned sides) are built
with numpy from offsets; any other mapping asks ``mapping.upstream`` once per
downstream partition. Sums over the rows (fingerprints, counts) are then one
cumulative sum each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from partita.mappings import AllPartitions, Identity, PartitionMapping, TimeWindow
from partita.mappings.identity import same_grain
from partita.partitions import DynamicPartitionsStore, Unpartitioned
from partita.partitions.time import TimePartitions
from partita.planner.space import AssetSpace

__all__ = ["EdgeRows", "edge_rows", "merge_rows"]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EdgeRows:
    """Upstream indices per downstream index (CSR): ``indices[indptr[d]:indptr[d+1]]``.

    Rows built from offsets also keep their bounds: row ``d`` is the contiguous
    range ``low[d]:high[d]`` (``high >= low``), so sums and counts over the rows
    are two lookups into one cumulative sum, with no gather over ``indices``;
    ``identity`` rows (``d`` reads exactly ``d``, both sides the same size) skip
    even that. The answers are the same as the CSR's.
    """

    indptr: Ints
    indices: Ints
    low: Ints | None = None
    high: Ints | None = None
    identity: bool = False

    def counts(self) -> Ints:
        """How many upstream partitions each downstream partition reads."""
        if self.identity:
            return np.ones(len(self.indptr) - 1, dtype=np.int64)
        return np.diff(self.indptr)

    def row_sum_u64(self, values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """Per downstream partition, the sum modulo 2**64 of ``values`` over its row."""
        if self.identity:
            return values.copy()
        if self.low is not None and self.high is not None:
            cumulative = np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(values)))
            return cumulative[self.high] - cumulative[self.low]
        gathered = values[self.indices]
        cumulative = np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(gathered)))
        return cumulative[self.indptr[1:]] - cumulative[self.indptr[:-1]]

    def row_count(self, mask: npt.NDArray[np.bool_]) -> Ints:
        """Per downstream partition, how many of its upstream partitions are set in ``mask``."""
        if self.identity:
            return mask.astype(np.int64)
        if self.low is not None and self.high is not None:
            counted: Ints = np.concatenate(
                (np.zeros(1, dtype=np.int64), np.cumsum(mask, dtype=np.int64))
            )
            return counted[self.high] - counted[self.low]
        gathered = mask[self.indices].astype(np.int64)
        cumulative: Ints = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(gathered)))
        return cumulative[self.indptr[1:]] - cumulative[self.indptr[:-1]]

    def downstream_of(self, upstream_mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Downstream partitions that read at least one upstream partition in the mask."""
        if self.identity:
            return upstream_mask.copy()
        return self.row_count(upstream_mask) > 0

    def lacking(self, available: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Downstream partitions that read at least one upstream partition not ``available``."""
        if self.identity:
            return ~available
        return self.counts() - self.row_count(available) > 0

    def upstream_of(
        self, downstream_mask: npt.NDArray[np.bool_], n_up: int
    ) -> npt.NDArray[np.bool_]:
        """Upstream partitions read by at least one downstream partition in the mask."""
        if self.identity:
            return downstream_mask.copy()
        if self.low is not None and self.high is not None:
            starts = np.bincount(self.low[downstream_mask], minlength=n_up + 1)
            stops = np.bincount(self.high[downstream_mask], minlength=n_up + 1)
            covered: npt.NDArray[np.bool_] = np.cumsum(starts[:n_up] - stops[:n_up]) > 0
            return covered
        down_idx, up_idx = self.pairs()
        mask = np.zeros(n_up, dtype=np.bool_)
        mask[up_idx[downstream_mask[down_idx]]] = True
        return mask

    def pairs(self) -> tuple[Ints, Ints]:
        """All (downstream, upstream) index pairs."""
        if self.identity:
            return self.indices, self.indices
        rows = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), self.counts())
        return rows, self.indices


def _from_ranges(low: Ints, high: Ints, n_up: int) -> EdgeRows:
    high = np.maximum(high, low)
    identity = _is_identity(low, high, n_up)
    lengths = high - low
    indptr = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(lengths)))
    total = int(indptr[-1])
    starts = np.repeat(low - indptr[:-1], lengths)
    indices = np.arange(total, dtype=np.int64) + starts
    return EdgeRows(indptr=indptr, indices=indices, low=low, high=high, identity=identity)


def _is_identity(low: Ints, high: Ints, n_up: int) -> bool:
    """Whether rows ``low:high`` read exactly partition ``d`` for every ``d`` (same sizes)."""
    n_down = len(low)
    if n_down != n_up:
        return False
    positions = np.arange(n_down, dtype=np.int64)
    return bool(np.array_equal(low, positions) and np.array_equal(high, positions + 1))


def _time_offsets(mapping: PartitionMapping) -> tuple[int, int] | None:
    if isinstance(mapping, Identity):
        return 0, 0
    if isinstance(mapping, TimeWindow):
        return mapping.start_offset, mapping.end_offset
    return None


def edge_rows(
    mapping: PartitionMapping,
    down: AssetSpace,
    up: AssetSpace,
    now: datetime,
    dynamic: DynamicPartitionsStore | None = None,
) -> EdgeRows:
    """The upstream partitions of every downstream partition through ``mapping``."""
    n_down, n_up = down.size, up.size
    positions = np.arange(n_down, dtype=np.int64)
    if isinstance(mapping, AllPartitions) or isinstance(up.definition, Unpartitioned):
        return _from_ranges(np.zeros(n_down, dtype=np.int64), np.full(n_down, n_up, np.int64), n_up)
    offsets = _time_offsets(mapping)
    d_def, u_def = down.definition, up.definition
    if (
        offsets is not None
        and isinstance(d_def, TimePartitions)
        and isinstance(u_def, TimePartitions)
        and same_grain(d_def, u_def)
    ):
        shift = u_def.index_at(d_def.period_start(0)) if n_down else 0
        low = np.clip(positions + shift + offsets[0], 0, n_up)
        high = np.clip(positions + shift + offsets[1] + 1, 0, n_up)
        return _from_ranges(low, high, n_up)
    if isinstance(mapping, Identity) and d_def == u_def:
        return _from_ranges(positions, positions + 1, n_up)
    return _generic(mapping, down, up, now, dynamic)


def _generic(
    mapping: PartitionMapping,
    down: AssetSpace,
    up: AssetSpace,
    now: datetime,
    dynamic: DynamicPartitionsStore | None,
) -> EdgeRows:
    indptr = [0]
    indices: list[int] = []
    for key in down.keys:
        mapped = mapping.upstream(
            down.definition.subset([key]), down.definition, up.definition, now, dynamic=dynamic
        )
        for upstream_key in mapped:
            position = up.position(upstream_key)
            if position is not None:
                indices.append(position)
        indptr.append(len(indices))
    return EdgeRows(
        indptr=np.asarray(indptr, dtype=np.int64), indices=np.asarray(indices, dtype=np.int64)
    )


def merge_rows(rows: list[EdgeRows], n_up: int) -> EdgeRows:
    """The union of several edges' rows between the same two assets (no duplicates)."""
    if len(rows) == 1:
        return rows[0]
    codes = np.concatenate([r.pairs()[0] * n_up + r.pairs()[1] for r in rows])
    codes = np.unique(codes)
    down, upstream = np.divmod(codes, n_up) if n_up else (codes, codes)
    n_down = len(rows[0].indptr) - 1
    counts = np.bincount(down, minlength=n_down).astype(np.int64)
    indptr = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))
    return EdgeRows(indptr=indptr, indices=upstream.astype(np.int64))
