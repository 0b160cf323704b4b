"""Per-asset index spaces: the planner's vectorized view of one asset's state.

Every partition of an asset that exists at ``now`` has an index (its position
in ``definition.keys(now)``). The catalog's bulk state is scattered once into
numpy arrays over those indices (materialized?, materialization id, output
hash, code and config up to date?, failed?), so staleness is computed with
array operations, never a Python loop over partitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from partita.partitions.intervals import Intervals
from partita.partitions.subsets import IndexedPartitions, IntervalSubset

__all__ = ["AssetSpace", "Mask", "mask_to_subset", "subset_to_mask"]

Mask = npt.NDArray[np.bool_]


@dataclass
class AssetSpace:
    """The partitions of one asset at ``now`` and its recorded state, as arrays.

    Built once per plan; mutable only while the planner fills it.
    """

    definition: PartitionsDefinition
    keys: Sequence[str]
    materialized: Mask
    materialization_id: npt.NDArray[np.int64]
    output_hash: npt.NDArray[np.uint64]
    failed: Mask
    stale_code_versions: tuple[str, ...] = ()
    _key_array: pa.Array | None = None
    _positions: dict[str, int] | None = None

    @property
    def size(self) -> int:
        """Number of partitions at ``now``."""
        return len(self.keys)

    @property
    def key_array(self) -> pa.Array:
        """The keys as an Arrow string array (for vectorized lookups)."""
        if self._key_array is None:
            self._key_array = pa.array(list(self.keys), type=pa.string())
        return self._key_array

    def indices_of(self, partitions: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        """Index of each partition key (-1 for keys that do not exist at ``now``)."""
        found = pc.index_in(partitions, value_set=self.key_array)
        return np.asarray(found.fill_null(-1), dtype=np.int64)

    def position(self, key: str) -> int | None:
        """Index of one key, or None."""
        if self._positions is None:
            self._positions = {k: i for i, k in enumerate(self.keys)}
        return self._positions.get(key)

    def fresh(self) -> AssetSpace:
        """A new space over the same keys with nothing recorded (key lookups shared)."""
        n = self.size
        return AssetSpace(
            definition=self.definition,
            keys=self.keys,
            materialized=np.zeros(n, dtype=np.bool_),
            materialization_id=np.full(n, -1, dtype=np.int64),
            output_hash=np.zeros(n, dtype=np.uint64),
            failed=np.zeros(n, dtype=np.bool_),
            _key_array=self.key_array,
            _positions=self._positions,
        )

    @classmethod
    def empty(
        cls,
        definition: PartitionsDefinition | None,
        now: datetime,
        dynamic: DynamicPartitionsStore | None,
    ) -> AssetSpace:
        """A space with nothing recorded."""
        resolved = UNPARTITIONED if definition is None else definition
        keys = resolved.keys(now, dynamic=dynamic)
        n = len(keys)
        return cls(
            definition=resolved,
            keys=keys,
            materialized=np.zeros(n, dtype=np.bool_),
            materialization_id=np.full(n, -1, dtype=np.int64),
            output_hash=np.zeros(n, dtype=np.uint64),
            failed=np.zeros(n, dtype=np.bool_),
        )


def _intervals_from_mask(mask: Mask) -> Intervals:
    if not mask.any():
        return ()
    padded = np.concatenate(([False], mask, [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    starts, stops = changes[0::2], changes[1::2]
    return tuple(zip(starts.tolist(), stops.tolist(), strict=True))


def mask_to_subset(space: AssetSpace, mask: Mask) -> PartitionSubset:
    """The subset of ``space.definition`` whose indices are set in ``mask``."""
    definition = space.definition
    if isinstance(definition, IndexedPartitions):
        return definition.index_subset(_intervals_from_mask(mask))
    return definition.subset(space.keys[i] for i in np.flatnonzero(mask).tolist())


def subset_to_mask(space: AssetSpace, subset: PartitionSubset) -> Mask:
    """The mask of ``subset`` over ``space`` (keys that do not exist at ``now`` drop out)."""
    mask = np.zeros(space.size, dtype=np.bool_)
    if isinstance(subset, IntervalSubset):
        for start, stop in subset.intervals:
            mask[max(start, 0) : max(min(stop, space.size), 0)] = True
        return mask
    for key in subset:
        index = space.position(key)
        if index is not None:
            mask[index] = True
    return mask
