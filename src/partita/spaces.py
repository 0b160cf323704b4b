"""Index spaces of partitions, and the catalog's bulk state grouped by asset.

Shared by the planner and freshness (which may not import each other): both
scatter the same :class:`~partita.records.PlannerState` into numpy arrays over
an asset's partitions. :class:`KeyIndex` numbers the partitions of one
definition at ``now`` and converts between compact subsets and boolean
masks; :class:`AssetRows` sorts a state table by asset once and hands out
zero-copy slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from partita.partitions import (
    UNPARTITIONED,
    DynamicPartitionsStore,
    PartitionsDefinition,
    PartitionSubset,
)
from partita.partitions.subsets import IndexedPartitions, IntervalSubset

__all__ = ["AssetRows", "KeyIndex", "Mask", "OverKeys"]

Mask = npt.NDArray[np.bool_]


@dataclass
class KeyIndex:
    """The partitions of one definition at ``now``, numbered by position in ``keys``."""

    definition: PartitionsDefinition
    keys: Sequence[str]
    _array: pa.Array | None = field(default=None, repr=False)
    _positions: dict[str, int] | None = field(default=None, repr=False)
    _chunked: pa.ChunkedArray | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        definition: PartitionsDefinition | None,
        now: datetime,
        dynamic: DynamicPartitionsStore | None = None,
    ) -> KeyIndex:
        """The keys of ``definition`` (``None``: unpartitioned) at ``now``."""
        resolved = UNPARTITIONED if definition is None else definition
        return cls(resolved, resolved.keys(now, dynamic=dynamic))

    @property
    def size(self) -> int:
        """Number of partitions."""
        return len(self.keys)

    @property
    def array(self) -> pa.Array:
        """The keys as an Arrow string array (for vectorized lookups)."""
        if self._array is None:
            self._array = pa.array(list(self.keys), type=pa.string())
        return self._array

    @property
    def chunked(self) -> pa.ChunkedArray:
        """:attr:`array` as a one-chunk chunked array (to compare columns with)."""
        if self._chunked is None:
            self._chunked = pa.chunked_array([self.array])
        return self._chunked

    def position(self, key: str) -> int | None:
        """The index of one key, or ``None``."""
        if self._positions is None:
            self._positions = {k: i for i, k in enumerate(self.keys)}
        return self._positions.get(key)

    def indices_of(self, partitions: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        """The index of each partition key (-1 for keys that do not exist at ``now``)."""
        if len(partitions) == self.size:
            whole = (
                partitions.combine_chunks()
                if isinstance(partitions, pa.ChunkedArray)
                else partitions
            )
            if whole.cast(pa.string()).equals(self.array):  # every key, in index order
                return np.arange(self.size, dtype=np.int64)
        found = pc.index_in(partitions, value_set=self.array)
        return np.asarray(found.fill_null(-1), dtype=np.int64)

    def mask_of(self, subset: PartitionSubset) -> Mask:
        """The mask of ``subset`` (keys that do not exist at ``now`` drop out)."""
        mask = np.zeros(self.size, dtype=np.bool_)
        if isinstance(subset, IntervalSubset):
            for start, stop in subset.intervals:
                mask[max(start, 0) : max(min(stop, self.size), 0)] = True
            return mask
        for key in subset:
            index = self.position(key)
            if index is not None:
                mask[index] = True
        return mask

    def subset_of(self, mask: Mask) -> PartitionSubset:
        """The compact subset whose indices are set in ``mask``."""
        definition = self.definition
        if isinstance(definition, IndexedPartitions):
            if not mask.any():
                return definition.empty_subset()
            padded = np.concatenate(([False], mask, [False]))
            changes = np.flatnonzero(padded[1:] != padded[:-1]).tolist()
            # The runs of a mask are already normalized (sorted, non-empty, apart).
            return IntervalSubset(definition, tuple(zip(changes[0::2], changes[1::2], strict=True)))
        return definition.subset(self.keys[i] for i in np.flatnonzero(mask).tolist())


class OverKeys:
    """Mixin for per-asset arrays over a :class:`KeyIndex` held as ``index``."""

    index: KeyIndex

    @property
    def definition(self) -> PartitionsDefinition:
        """The asset's partitions definition (``UNPARTITIONED`` when it has none)."""
        return self.index.definition

    @property
    def keys(self) -> Sequence[str]:
        """The partition keys at ``now``, in index order."""
        return self.index.keys

    @property
    def size(self) -> int:
        """Number of partitions at ``now``."""
        return self.index.size


@dataclass(frozen=True)
class AssetRows:
    """A state table sorted by asset (one ``take``), and each asset's row range."""

    table: pa.Table
    bounds: dict[str, tuple[int, int]]

    @classmethod
    def group(cls, table: pa.Table) -> AssetRows:
        """Group ``table`` by its ``asset`` column (no copy when it already is grouped)."""
        if table.num_rows == 0:
            return cls(table, {})
        grouped = cls._grouped(table)
        if grouped is not None:
            return grouped
        encoded = pc.dictionary_encode(table["asset"]).combine_chunks()
        codes = np.asarray(encoded.indices, dtype=np.int64)
        names = encoded.dictionary.to_pylist()
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1)).tolist()
        ordered = table.take(pa.array(order)).combine_chunks()
        return cls(ordered, {n: (bounds[i], bounds[i + 1]) for i, n in enumerate(names)})

    @classmethod
    def _grouped(cls, table: pa.Table) -> AssetRows | None:
        """The groups of a table whose rows of each asset are together (as the
        catalog returns them), found by comparing neighbours; None when they are not."""
        column, n = table["asset"], table.num_rows
        changed = pc.not_equal(column.slice(1), column.slice(0, n - 1))
        if changed.null_count:
            changed = changed.fill_null(True)
        after = np.asarray(pc.indices_nonzero(changed), dtype=np.int64) + 1
        starts = np.concatenate((np.zeros(1, dtype=np.int64), after))
        # scalar reads: a ``take`` on a column of many chunks concatenates them first
        names = [column[i].as_py() for i in starts.tolist()]
        if len(set(names)) != len(names):
            return None
        stops = [*starts[1:].tolist(), n]
        return cls(table, dict(zip(names, zip(starts.tolist(), stops, strict=True), strict=True)))

    def of(self, asset: str) -> pa.Table | None:
        """The rows of one asset (a zero-copy slice), or ``None`` when it has none."""
        found = self.bounds.get(asset)
        if found is None:
            return None
        return self.table.slice(found[0], found[1] - found[0])
