"""Integer columns of the catalog's Arrow state read range by range, without copies.

Converting a chunked Arrow column to one numpy array concatenates its chunks
into fresh memory: at W8's size that is ~170 MB written (and page-faulted)
per plan for the ids and hashes of the latest rows and of the edges. The
catalogs return these tables one chunk per asset, and the planner reads them
one asset's range at a time, so :class:`IntRanges` hands out each range as a
zero-copy (read-only) view of the chunk holding it, and copies only a range
that spans chunks.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["IntRanges"]

Ints = npt.NDArray[np.int64]


class IntRanges:
    """An int64 column (nulls read as ``null``), read by row ranges."""

    def __init__(self, column: pa.ChunkedArray | pa.Array | Ints, null: int = 0) -> None:
        self._null = null
        self._whole: Ints | None = None
        if isinstance(column, np.ndarray):
            self._whole = column
            self._chunks: list[pa.Array] = []
            self._starts = [0, len(column)]
            return
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        self._chunks = [c for c in chunks if len(c)]
        self._starts = [0]
        for chunk in self._chunks:
            self._starts.append(self._starts[-1] + len(chunk))
        self._arrays: list[Ints | None] = [None] * len(self._chunks)

    def __len__(self) -> int:
        return self._starts[-1]

    def _convert(self, values: pa.Array | pa.ChunkedArray) -> Ints:
        if values.null_count:
            values = values.fill_null(self._null)
        return np.asarray(values, dtype=np.int64)

    def _chunk(self, i: int) -> Ints:
        found = self._arrays[i]
        if found is None:
            found = self._arrays[i] = self._convert(self._chunks[i])
        return found

    def range(self, start: int, stop: int) -> Ints:
        """Rows ``start:stop`` (a view when they are in one chunk)."""
        if self._whole is not None:
            return self._whole[start:stop]
        if stop <= start:
            return np.zeros(0, dtype=np.int64)
        i = bisect_right(self._starts, start) - 1
        first = self._starts[i]
        if stop <= self._starts[i + 1]:
            return self._chunk(i)[start - first : stop - first]
        return self.whole()[start:stop]

    def whole(self) -> Ints:
        """Every row as one array (concatenated once)."""
        if self._whole is None:
            self._whole = self._convert(pa.chunked_array(self._chunks, type=pa.int64()))
        return self._whole
