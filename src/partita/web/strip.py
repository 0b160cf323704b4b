"""The partition health strip: every partition of an asset as one state, in key order,
compressed into runs of neighbours that share their state and reasons.

A run of 3,000 fresh days is one segment; a stale day between fresh ones is its
own segment with the plan's reasons for it (shown when hovered). States, worst
first: ``failed``, ``running``, ``stale``, ``missing``, ``fresh``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from partita.partitions import PartitionSubset

__all__ = ["HealthState", "Segment", "segments", "segments_json"]


class HealthState(StrEnum):
    """What one partition looks like on the page."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    FAILED = "failed"
    RUNNING = "running"


@dataclass(frozen=True, slots=True)
class Segment:
    """Neighbouring partitions in one state, for the same reasons.

    Attributes:
        first / last: the first and last key (equal for one partition).
        count: how many partitions.
        state: their state.
        reasons: why (the plan's reasons in words; empty for fresh ones).
    """

    first: str
    last: str
    count: int
    state: HealthState
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{"first", "last", "count", "state", "reasons"}``."""
        return {
            "first": self.first,
            "last": self.last,
            "count": self.count,
            "state": self.state.value,
            "reasons": list(self.reasons),
        }


def segments(
    keys: Iterable[str],
    *,
    failed: PartitionSubset | None = None,
    missing: PartitionSubset | None = None,
    stale: PartitionSubset | None = None,
    running: frozenset[str] = frozenset(),
    reasons: Sequence[tuple[str, PartitionSubset]] = (),
) -> list[Segment]:
    """Every key of ``keys`` (in their order) as compressed :class:`Segment` runs.

    Args:
        keys: the asset's partition keys, in order.
        failed / missing / stale: the partitions in each state (the rest are fresh).
        running: keys a running run is building now (they show as running).
        reasons: ``(reason in words, partitions it applies to)`` pairs (a plan's).
    """
    ordered: list[tuple[HealthState, PartitionSubset | None]] = [
        (HealthState.FAILED, failed),
        (HealthState.STALE, stale),
        (HealthState.MISSING, missing),
    ]
    checked = [(state, subset) for state, subset in ordered if subset]
    wanted = [(text, subset) for text, subset in reasons if subset]
    found: list[Segment] = []
    first = last = ""
    count = 0
    current: tuple[HealthState, tuple[str, ...]] | None = None
    for key in keys:
        state = HealthState.RUNNING if key in running else HealthState.FRESH
        if state is HealthState.FRESH:
            for candidate, subset in checked:
                if key in subset:
                    state = candidate
                    break
        why: tuple[str, ...] = ()
        if state is not HealthState.FRESH and wanted:
            why = tuple(text for text, subset in wanted if key in subset)
        look = (state, why)
        if look == current:
            last = key
            count += 1
            continue
        if current is not None:
            found.append(Segment(first, last, count, current[0], current[1]))
        current, first, last, count = look, key, key, 1
    if current is not None:
        found.append(Segment(first, last, count, current[0], current[1]))
    return found


def segments_json(found: Sequence[Segment]) -> list[dict[str, Any]]:
    """The segments as JSON-ready dicts."""
    return [s.to_json() for s in found]
