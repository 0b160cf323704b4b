"""Sets of integers held as sorted, disjoint, half-open intervals ``[start, stop)``.

The compact core of partition subsets: a range of 100,000 daily partitions is
one pair of integers. Every operation is a linear merge over the two lists.
Intervals are normalized: sorted, non-empty, neither overlapping nor touching.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

__all__ = [
    "Intervals",
    "clip",
    "contains",
    "count",
    "difference",
    "from_indices",
    "intersection",
    "normalize",
    "shift",
    "union",
]

Intervals = tuple[tuple[int, int], ...]


def normalize(pairs: Iterable[tuple[int, int]]) -> Intervals:
    """Sort and merge arbitrary ``[start, stop)`` pairs; drop empty ones."""
    ordered = sorted((a, b) for a, b in pairs if a < b)
    merged: list[tuple[int, int]] = []
    for a, b in ordered:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return tuple(merged)


def from_indices(indices: Iterable[int]) -> Intervals:
    """Intervals covering exactly the given integers."""
    result: list[tuple[int, int]] = []
    for i in sorted(set(indices)):
        if result and result[-1][1] == i:
            result[-1] = (result[-1][0], i + 1)
        else:
            result.append((i, i + 1))
    return tuple(result)


def count(intervals: Intervals) -> int:
    """How many integers the intervals hold."""
    return sum(b - a for a, b in intervals)


def contains(intervals: Intervals, i: int) -> bool:
    """Whether ``i`` is in the intervals (binary search)."""
    pos = bisect_right(intervals, i, key=_first) - 1
    return pos >= 0 and intervals[pos][0] <= i < intervals[pos][1]


def _first(pair: tuple[int, int]) -> int:
    return pair[0]


def union(x: Intervals, y: Intervals) -> Intervals:
    """``x | y``."""
    if not x:
        return y
    if not y:
        return x
    merged: list[tuple[int, int]] = []
    i = j = 0
    while i < len(x) or j < len(y):
        if j >= len(y) or (i < len(x) and x[i][0] <= y[j][0]):
            a, b = x[i]
            i += 1
        else:
            a, b = y[j]
            j += 1
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return tuple(merged)


def intersection(x: Intervals, y: Intervals) -> Intervals:
    """``x & y``."""
    result: list[tuple[int, int]] = []
    i = j = 0
    while i < len(x) and j < len(y):
        a = max(x[i][0], y[j][0])
        b = min(x[i][1], y[j][1])
        if a < b:
            result.append((a, b))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return tuple(result)


def difference(x: Intervals, y: Intervals) -> Intervals:
    """``x - y``."""
    result: list[tuple[int, int]] = []
    j = 0
    for a, b in x:
        start = a
        while j < len(y) and y[j][1] <= start:
            j += 1
        k = j
        while k < len(y) and y[k][0] < b:
            if y[k][0] > start:
                result.append((start, y[k][0]))
            start = max(start, y[k][1])
            if start >= b:
                break
            k += 1
        if start < b:
            result.append((start, b))
    return tuple(result)


def clip(intervals: Intervals, low: int, high: int) -> Intervals:
    """The part of the intervals inside ``[low, high)``."""
    return intersection(intervals, ((low, high),)) if low < high else ()


def shift(intervals: Intervals, by: int) -> Intervals:
    """Every interval moved by ``by``."""
    return tuple((a + by, b + by) for a, b in intervals)
