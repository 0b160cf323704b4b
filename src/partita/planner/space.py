"""Per-asset index spaces: the planner's vectorized view of one asset's state.

Every partition of an asset that exists at ``now`` has an index (its position
in ``definition.keys(now)``, see :class:`~partita.spaces.KeyIndex`). The
catalog's bulk state is scattered once into numpy arrays over those indices
(materialized?, materialization id, output hash, failed?), so staleness is
computed with array operations, never a Python loop over partitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from partita.spaces import KeyIndex, Mask, OverKeys

__all__ = ["AssetSpace", "Mask"]


@dataclass
class AssetSpace(OverKeys):
    """The partitions of one asset at ``now`` and its recorded state, as arrays.

    Built once per plan; mutable only while the planner fills it.
    """

    index: KeyIndex
    materialized: Mask
    materialization_id: npt.NDArray[np.int64]
    output_hash: npt.NDArray[np.uint64]
    failed: Mask
    stale_code_versions: tuple[str, ...] = ()

    @classmethod
    def over(cls, index: KeyIndex) -> AssetSpace:
        """A space over ``index`` with nothing recorded."""
        n = index.size
        return cls(
            index=index,
            materialized=np.zeros(n, dtype=np.bool_),
            materialization_id=np.full(n, -1, dtype=np.int64),
            output_hash=np.zeros(n, dtype=np.uint64),
            failed=np.zeros(n, dtype=np.bool_),
        )

    def position(self, key: str) -> int | None:
        """Index of one key, or None."""
        return self.index.position(key)
