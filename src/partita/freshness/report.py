"""The results of freshness and status: frozen values with stable JSON shapes.

The shapes are documented in ``docs/freshness.md``; field names only ever get
added, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from partita.keys import AssetKey
from partita.partitions import PartitionSubset

__all__ = [
    "AssetFreshness",
    "AssetStatus",
    "FreshnessReport",
    "FreshnessStatus",
    "Level",
    "StatusReport",
    "format_lag",
]


class Level(StrEnum):
    """How bad a freshness status is: ``error`` makes ``partita freshness`` exit 1."""

    OK = "ok"
    WARN = "warn"
    ERROR = "error"


class FreshnessStatus(StrEnum):
    """The freshness of one asset."""

    FRESH = "fresh"
    WARN = "warn"
    LATE = "late"
    STALE = "stale"
    MISSING = "missing"
    FAILED = "failed"
    NO_POLICY = "no_policy"

    @property
    def level(self) -> Level:
        """``ok`` for fresh / no_policy, ``warn`` for warn, ``error`` otherwise."""
        if self in (FreshnessStatus.FRESH, FreshnessStatus.NO_POLICY):
            return Level.OK
        if self is FreshnessStatus.WARN:
            return Level.WARN
        return Level.ERROR


def format_lag(lag: timedelta | None) -> str:
    """``1d 2h``, ``3h 5m``, ``45s``; ``-`` when unknown."""
    if lag is None:
        return "-"
    seconds = int(lag.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{secs}s"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class AssetFreshness:
    """The freshness of one asset at ``now``.

    Attributes:
        asset: the asset (or source).
        kind: ``asset`` or ``source``.
        status: see :class:`FreshnessStatus`.
        policy: the policy in words (``None``: no policy).
        newest_partition: the newest partition that exists at ``now`` (``None``
            when unpartitioned or none exists).
        judged_partition: the newest partition that is due at ``now`` (the one
            the status is about), ``None`` when none is due or not time-partitioned.
        last_materialization: the latest materialization (observation for a
            source, ``loaded_at`` when the policy reads a column) of any partition.
        lag: how old the newest good data is (``None`` when there is none).
        next_deadline: when the next partition (or refresh) is due.
        reason: the status in words.
        config_note: what the judgement says about config, when there is something
            to say: the asset's config was not compared (it needs a value that
            was not given), or partitions built with another config were judged
            against the config given (see ``docs/freshness.md``); else ``None``.
    """

    asset: AssetKey
    kind: str
    status: FreshnessStatus
    policy: str | None
    newest_partition: str | None
    judged_partition: str | None
    last_materialization: datetime | None
    lag: timedelta | None
    next_deadline: datetime | None
    reason: str
    config_note: str | None = None

    @property
    def level(self) -> Level:
        """The status's level."""
        return self.status.level

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see docs/freshness.md)."""
        return {
            "asset": str(self.asset),
            "kind": self.kind,
            "status": self.status.value,
            "level": self.level.value,
            "policy": self.policy,
            "newest_partition": self.newest_partition,
            "judged_partition": self.judged_partition,
            "last_materialization": _iso(self.last_materialization),
            "lag_seconds": None if self.lag is None else self.lag.total_seconds(),
            "lag": format_lag(self.lag),
            "next_deadline": _iso(self.next_deadline),
            "reason": self.reason,
            "config_note": self.config_note,
        }


@dataclass(frozen=True)
class FreshnessReport:
    """The freshness of the selected assets at ``now``, in topological order."""

    now: datetime
    assets: tuple[AssetFreshness, ...]

    @property
    def violated(self) -> bool:
        """Whether any asset violates an ``error``-level policy (exit status 1)."""
        return any(a.level is Level.ERROR for a in self.assets)

    def count(self, status: FreshnessStatus) -> int:
        """How many assets have ``status``."""
        return sum(1 for a in self.assets if a.status is status)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see docs/freshness.md)."""
        return {
            "now": self.now.isoformat(),
            "assets": [a.to_json() for a in self.assets],
            "totals": {s.value: self.count(s) for s in FreshnessStatus},
            "violated": self.violated,
        }


def _subset_json(subset: PartitionSubset | None) -> dict[str, Any] | None:
    if subset is None:
        return None
    return {"text": subset.to_text(max_runs=5), "ranges": [list(r) for r in subset.ranges()]}


@dataclass(frozen=True)
class AssetStatus:
    """One asset's partitions by state: counts, and the non-fresh ones as subsets.

    ``fresh + stale + missing + failed == partitions``. An unpartitioned asset
    has one partition. ``side_effect``: the asset's builds store no data (its
    function returns ``None``: a notification, a refresh). ``config_note``: as
    :attr:`AssetFreshness.config_note`.
    """

    asset: AssetKey
    kind: str
    partitioned: bool
    partitions: int
    fresh: int
    stale: PartitionSubset
    missing: PartitionSubset
    failed: PartitionSubset
    side_effect: bool = False
    config_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see docs/freshness.md)."""
        return {
            "asset": str(self.asset),
            "kind": self.kind,
            "partitioned": self.partitioned,
            "partitions": self.partitions,
            "fresh": self.fresh,
            "stale": len(self.stale),
            "missing": len(self.missing),
            "failed": len(self.failed),
            "stale_partitions": _subset_json(self.stale),
            "missing_partitions": _subset_json(self.missing),
            "failed_partitions": _subset_json(self.failed),
            "side_effect": self.side_effect,
            "config_note": self.config_note,
        }


@dataclass(frozen=True)
class StatusReport:
    """Every selected asset's partitions by state, and the totals."""

    now: datetime
    assets: tuple[AssetStatus, ...]

    def totals(self) -> dict[str, int]:
        """Partitions in all, and per state, over every asset."""
        return {
            "assets": len(self.assets),
            "partitions": sum(a.partitions for a in self.assets),
            "fresh": sum(a.fresh for a in self.assets),
            "stale": sum(len(a.stale) for a in self.assets),
            "missing": sum(len(a.missing) for a in self.assets),
            "failed": sum(len(a.failed) for a in self.assets),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see docs/freshness.md)."""
        return {
            "now": self.now.isoformat(),
            "assets": [a.to_json() for a in self.assets],
            "totals": self.totals(),
        }
