"""The Plan: a frozen, JSON-serializable value saying what to build and why.

A :class:`Plan` holds one :class:`PlanStep` per asset with partitions to build
(a compact :class:`~partita.partitions.PartitionSubset`), and for each reason
the subset of those partitions it applies to. Unpartitioned assets use the
one-partition definition :data:`~partita.partitions.UNPARTITIONED` (key ``""``).
Nothing inside a Plan is mutable; the runner keeps its own state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from partita.errors import PartitionKeyError
from partita.keys import AssetKey
from partita.partitions import (
    DynamicPartitionsStore,
    MultiPartitions,
    PartitionsDefinition,
    PartitionSubset,
)
from partita.partitions.base import split_range

__all__ = [
    "Blocked",
    "FailedObservation",
    "NonBreakingChange",
    "PartitionRequest",
    "Plan",
    "PlanRequest",
    "PlanStep",
    "Reason",
    "StepReason",
]


class Reason(StrEnum):
    """Why a partition is stale (DESIGN §2)."""

    MISSING = "missing"
    CODE_CHANGED = "code_changed"
    CONFIG_CHANGED = "config_changed"
    UPSTREAM_CHANGED = "upstream_changed"
    UPSTREAM_STALE = "upstream_stale"
    FAILED = "failed"
    FORCED = "forced"


@dataclass(frozen=True)
class StepReason:
    """One reason, and the partitions of the step it applies to.

    Attributes:
        reason: the reason.
        partitions: the step's partitions with this reason.
        upstream: for ``upstream_changed`` / ``upstream_stale``: the upstream asset.
        upstream_partitions: the upstream partitions that changed (or are planned).
        detail: words for people (``code 1 -> 2``, the first line of an error).
    """

    reason: Reason
    partitions: PartitionSubset
    upstream: AssetKey | None = None
    upstream_partitions: PartitionSubset | None = None
    detail: str = ""

    def describe(self) -> str:
        """One line: ``upstream_changed: raw_orders 2025-03-01..2025-03-07 (7)``."""
        text = self.reason.value
        if self.upstream is not None:
            text += f": {self.upstream}"
            shown = self.upstream_partitions
            if shown is not None and len(shown) and shown.definition.dimensions:
                text += f" {shown.to_text(max_runs=3)}"
        if self.detail:
            text += f" ({self.detail})" if self.upstream is not None else f": {self.detail}"
        return text

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "reason": self.reason.value,
            "partitions": self.partitions.to_json(),
            "count": len(self.partitions),
            "upstream": None if self.upstream is None else str(self.upstream),
            "upstream_partitions": None
            if self.upstream_partitions is None
            else self.upstream_partitions.to_json(),
            "detail": self.detail,
        }


_INPUT_REASONS = frozenset({Reason.UPSTREAM_CHANGED, Reason.UPSTREAM_STALE})


@dataclass(frozen=True)
class NonBreakingChange:
    """The current code of a SQL asset, against a recorded code version, only adds
    columns (``sqlglot.diff``; see :mod:`partita.sql.changes`).

    A partition built with ``code_version`` whose only reason is ``code_changed``
    is rebuilt, and its new materialization keeps the output hash of the previous
    one: what reads it is not stale (its data version stays the true content hash).

    Attributes:
        asset: the SQL asset.
        code_version: the recorded code version the change is from.
        summary: what changed, for people (``adds column c``).
    """

    asset: AssetKey
    code_version: str
    summary: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": str(self.asset),
            "code_version": self.code_version,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class PlanStep:
    """The partitions of one asset to build, with the reasons per partition.

    ``non_breaking`` are the partitions planned only because of a non-breaking
    change of a SQL model (:class:`NonBreakingChange`): their new
    materializations keep the previous output hash, so no reader is planned for them.
    """

    asset: AssetKey
    partitions: PartitionSubset
    reasons: tuple[StepReason, ...]
    code_version: str = ""
    config_hash: str = ""
    non_breaking: PartitionSubset | None = None

    def keeps_output(self, key: str) -> bool:
        """Whether ``key``'s new materialization keeps the previous output hash."""
        return self.non_breaking is not None and key in self.non_breaking

    @property
    def definition(self) -> PartitionsDefinition:
        """The asset's partitions definition (``UNPARTITIONED`` when it has none)."""
        return self.partitions.definition

    @property
    def partitioned(self) -> bool:
        """Whether the asset is partitioned."""
        return bool(self.definition.dimensions)

    def keys(self) -> list[str]:
        """The partition keys to build, in order (``[""]`` for an unpartitioned asset)."""
        return list(self.partitions)

    def reasons_for(self, key: str) -> list[StepReason]:
        """The reasons that apply to one partition."""
        return [r for r in self.reasons if key in r.partitions]

    def only_upstream_stale(self, key: str) -> bool:
        """Whether ``key`` is planned only because upstream partitions are planned.

        Such a partition is re-checked just before it runs (early cutoff).
        """
        found = self.reasons_for(key)
        return bool(found) and all(r.reason is Reason.UPSTREAM_STALE for r in found)

    def rechecked(self, key: str) -> bool:
        """Whether ``key`` is re-checked just before it runs (early cutoff).

        True when it is planned only because of its inputs and at least one of
        them is planned in this run (``upstream_stale``, maybe with
        ``upstream_changed``): an input changed at planning time may be rebuilt
        to the very version the partition last read, and then nothing changed.
        """
        found = {r.reason for r in self.reasons_for(key)}
        return Reason.UPSTREAM_STALE in found and found <= _INPUT_REASONS

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": str(self.asset),
            "partitions": self.partitions.to_json(),
            "count": len(self.partitions),
            "code_version": self.code_version,
            "config_hash": self.config_hash,
            "reasons": [r.to_json() for r in self.reasons],
            "non_breaking": None if self.non_breaking is None else self.non_breaking.to_json(),
        }


@dataclass(frozen=True)
class Blocked:
    """Partitions that cannot be built: upstream partitions they read are missing
    and not planned (outside the selection, or blocked themselves), or are source
    partitions whose observation failed (``detail`` then says so, with the error)."""

    asset: AssetKey
    partitions: PartitionSubset
    upstream: AssetKey
    upstream_partitions: PartitionSubset
    detail: str = ""

    def describe(self) -> str:
        """One line for people."""
        return (
            f"{self.asset} {self.partitions.to_text(max_runs=3)}: needs {self.upstream} "
            f"{self.upstream_partitions.to_text(max_runs=3)}, {self.detail or 'which is missing'}"
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": str(self.asset),
            "partitions": self.partitions.to_json(),
            "count": len(self.partitions),
            "upstream": str(self.upstream),
            "upstream_partitions": self.upstream_partitions.to_json(),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class FailedObservation:
    """A source partition whose observe function raised, after the source's retries.

    Its data version now is unknown, so the plan blocks the partitions that
    read it; ``partita materialize`` records it as a failed attempt of the
    source partition.

    Attributes:
        asset: the source.
        partition: its partition (``""`` when unpartitioned).
        error: ``ExceptionType: first line of the message``.
        attempts: how many times the observe function was called for it.
        log: the traceback of the last attempt (not part of the JSON).
    """

    asset: AssetKey
    partition: str
    error: str
    attempts: int = 1
    log: str = field(default="", compare=False)

    def describe(self) -> str:
        """``vendor [2026-11-01]: ConnectionError: database is down``."""
        where = f"{self.asset} [{self.partition}]" if self.partition else str(self.asset)
        return f"{where}: {self.error}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": str(self.asset),
            "partition": self.partition or None,
            "error": self.error,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class PartitionRequest:
    """The partitions a request names: one key, or the inclusive range ``first``..``last``.

    Keys are validated by each asset's partitions definition when planned, so
    the same request fits assets of other time grains (a daily key names the
    hours of that day). Build one with :meth:`key`, :meth:`between`, or
    :meth:`parse` for the command line's text (``KEY`` or ``FIRST..LAST``).
    """

    first: str
    last: str | None = None

    def __post_init__(self) -> None:
        for value in (self.first, self.last):
            if value is not None and (not isinstance(value, str) or not value):
                raise PartitionKeyError(f"a partition key is a non-empty string, not {value!r}")

    @classmethod
    def key(cls, key: str) -> PartitionRequest:
        """One partition."""
        return cls(key)

    @classmethod
    def between(cls, first: str, last: str) -> PartitionRequest:
        """The partitions from ``first`` to ``last``, both included."""
        return cls(first, last)

    @classmethod
    def parse(cls, text: str) -> PartitionRequest:
        """``KEY`` or ``FIRST..LAST`` as typed on the command line."""
        if not isinstance(text, str) or not text.strip():
            raise PartitionKeyError(f"no partition in {text!r}")
        try:
            first, last = split_range(text)
        except ValueError as exc:
            raise PartitionKeyError(f"invalid partition range {text!r}: {exc}") from None
        return cls(first, last)

    @property
    def single(self) -> str | None:
        """The one key requested, or ``None`` for a range."""
        return self.first if self.last is None else None

    @property
    def bounds(self) -> tuple[str, str] | None:
        """``(first, last)`` of a range, or ``None`` for one key."""
        return None if self.last is None else (self.first, self.last)

    @property
    def text(self) -> str:
        """``KEY`` or ``FIRST..LAST``."""
        return self.first if self.last is None else f"{self.first}..{self.last}"

    def subset(
        self, definition: PartitionsDefinition, *, dynamic: DynamicPartitionsStore | None = None
    ) -> PartitionSubset:
        """The named partitions of ``definition``.

        Raises:
            PartitionKeyError: a key is not valid for ``definition`` (the error
                names the definition).
        """
        if self.last is None:
            if isinstance(definition, MultiPartitions):  # a date alone: every region
                return definition.subset([self.first], dynamic=dynamic)
            return definition.subset([self.first])
        return definition.key_range(self.first, self.last, dynamic=dynamic)


@dataclass(frozen=True)
class PlanRequest:
    """What the user asked for.

    Attributes:
        selection: an asset selection (``None``: every asset).
        partitions: one key or an inclusive range (``None``: all).
        force: rebuild the requested partitions whatever their state.
        config_hashes: the run-time config hash per asset key string (empty: none).
        config_not_compared: asset key strings whose config is unknown (a read-only
            question asked without a required value): their recorded config hash
            is not compared, so none of their partitions is ``config_changed``.
    """

    selection: str | None = None
    partitions: PartitionRequest | None = None
    force: bool = False
    config_hashes: Mapping[str, str] = field(default_factory=dict)
    config_not_compared: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``partitions`` as ``KEY`` or ``FIRST..LAST`` text)."""
        return {
            "selection": self.selection,
            "partitions": None if self.partitions is None else self.partitions.text,
            "force": self.force,
            "config_hashes": dict(self.config_hashes),
            "config_not_compared": sorted(self.config_not_compared),
        }


@dataclass(frozen=True)
class Plan:
    """What to build, in dependency order, and why; made by :func:`partita.planner.plan`.

    ``failed_observations`` are the source partitions the request reads whose
    observe function raised; what reads them is in ``blocked``.
    ``non_breaking_changes`` are the non-breaking SQL changes the plan was made
    with (the partitions they spare readers of are each step's ``non_breaking``).
    """

    now: datetime
    request: PlanRequest
    steps: tuple[PlanStep, ...]
    blocked: tuple[Blocked, ...] = ()
    failed_observations: tuple[FailedObservation, ...] = ()
    non_breaking_changes: tuple[NonBreakingChange, ...] = ()

    def non_breaking_change(self, asset: AssetKey | str, code_version: str) -> str | None:
        """The summary of ``asset``'s non-breaking change from ``code_version``, if any."""
        key = AssetKey.parse(asset)
        return next(
            (
                c.summary
                for c in self.non_breaking_changes
                if c.asset == key and c.code_version == code_version
            ),
            None,
        )

    @property
    def is_empty(self) -> bool:
        """True when nothing is stale."""
        return not self.steps

    @property
    def partition_count(self) -> int:
        """Asset-partitions to build in all."""
        return sum(len(s.partitions) for s in self.steps)

    def step(self, asset: AssetKey | str) -> PlanStep | None:
        """The step of one asset, if it has one."""
        key = AssetKey.parse(asset)
        return next((s for s in self.steps if s.asset == key), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stable field names; see docs/planning.md)."""
        return {
            "now": self.now.isoformat(),
            "request": self.request.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "blocked": [b.to_json() for b in self.blocked],
            "failed_observations": [f.to_json() for f in self.failed_observations],
            "non_breaking_changes": [c.to_json() for c in self.non_breaking_changes],
            "total_partitions": self.partition_count,
            "total_steps": len(self.steps),
        }


def reasons_text(reasons: Sequence[StepReason]) -> str:
    """Reasons joined for one line of output."""
    return "; ".join(r.describe() for r in reasons)
