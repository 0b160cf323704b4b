"""Catalog records and the reader/writer protocols.

The catalog is the system of record of Partita (DESIGN.md section 5). This
module holds what it records as frozen values -- runs, step attempts,
materializations with their exact inputs, check results, observations of
source assets -- and the two narrow protocols the rest of Partita sees:
:class:`CatalogReader` (the planner and freshness only ever see this one) and
:class:`CatalogWriter` (the runner). :class:`PlannerState` is the bulk,
column-oriented snapshot handed to the pure planner.

Partitions are ``str | None`` in records (``None`` for an unpartitioned
asset, as in :class:`~partita.keys.AssetPartition`); in the column tables of
:class:`PlannerState` an unpartitioned asset's partition is
:data:`UNPARTITIONED` (the empty string), so columns never hold nulls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from hashlib import blake2b
from typing import Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FAILED_SCHEMA",
    "FAILED_STEP_STATUSES",
    "FINISHED_STEP_STATUSES",
    "EDGES_SCHEMA",
    "INPUTS_SCHEMA",
    "LATEST_SCHEMA",
    "OBSERVATIONS_SCHEMA",
    "UNPARTITIONED",
    "CatalogReader",
    "CatalogWriter",
    "CheckRecord",
    "DynamicPartitionsStore",
    "DynamicPartitionKeys",
    "Input",
    "Materialization",
    "Observation",
    "PlannerState",
    "Run",
    "RunStatus",
    "RunSummary",
    "StepAttempt",
    "StepStatus",
    "combine_hashes",
    "partition_column",
    "partition_hash",
    "partition_value",
]

UNPARTITIONED = ""
"""The partition value of an unpartitioned asset in columns and in the catalog's tables."""


def partition_column(partition: str | None) -> str:
    """The stored form of a record's partition (``None`` becomes :data:`UNPARTITIONED`)."""
    return UNPARTITIONED if partition is None else partition


def partition_value(stored: str) -> str | None:
    """The record form of a stored partition (:data:`UNPARTITIONED` becomes ``None``)."""
    return None if stored == UNPARTITIONED else stored


class RunStatus(StrEnum):
    """The status of a run. Only ``running`` changes, once, to one of the others."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CRASHED = "crashed"


class StepStatus(StrEnum):
    """The status of one attempt at one partition (or batch of partitions) of one asset."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    ABANDONED = "abandoned"


FAILED_STEP_STATUSES: frozenset[StepStatus] = frozenset({StepStatus.FAILED, StepStatus.TIMED_OUT})
"""Attempt outcomes that make a partition ``failed`` for the planner."""

FINISHED_STEP_STATUSES: frozenset[StepStatus] = frozenset(
    {
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,
        StepStatus.CANCELLED,
        StepStatus.TIMED_OUT,
        StepStatus.ABANDONED,
    }
)
"""Attempt statuses that never change again."""


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of a plan.

    ``config`` is the run-time configuration as JSON text; ``selection`` and
    ``partitions`` are what the user asked for, as typed. ``kind`` is
    ``materialize`` (building partitions) or ``check`` (``partita check``:
    checks of published data, nothing built).
    """

    run_id: str
    started_at: datetime
    status: RunStatus = RunStatus.RUNNING
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    selection: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()
    config: str = "{}"
    host: str = ""
    pid: int = 0
    partita_version: str = ""
    error: str | None = None
    kind: str = "materialize"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run as listed by ``runs()``: the run, its duration and step counts by status."""

    run: Run
    duration_s: float | None
    step_counts: tuple[tuple[StepStatus, int], ...]

    def count(self, status: StepStatus) -> int:
        """How many step attempts of this run ended (or are) in ``status``."""
        return dict(self.step_counts).get(status, 0)


@dataclass(frozen=True, slots=True)
class StepAttempt:
    """One attempt at building one partition of one asset inside a run.

    A batched step (one call for a range of partitions) records one attempt
    whose ``partition`` is the range as the runner names it, and one
    materialization per partition.
    """

    run_id: str
    asset: str
    partition: str | None
    attempt: int
    status: StepStatus
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    logs: str = ""


@dataclass(frozen=True, slots=True)
class Input:
    """One input partition a materialization read.

    ``upstream_materialization_id`` may be left ``None`` when recording: the
    catalog then links the upstream partition's latest materialization.
    """

    upstream_asset: str
    upstream_partition: str | None
    upstream_data_version: str
    upstream_materialization_id: int | None = None


@dataclass(frozen=True, slots=True)
class Materialization:
    """One successful build of one partition of one asset.

    ``materialization_id`` is assigned by the catalog when the
    materialization is recorded; ``schema`` is JSON text.
    ``code_components`` is the JSON object of the code version's component
    digests (:meth:`partita.versions.CodeVersion.components_json`), ``""``
    for an explicit version; the catalog keeps it once per code version.
    """

    asset: str
    partition: str | None
    run_id: str
    data_version: str
    created_at: datetime
    code_version: str = ""
    config_hash: str = ""
    rows: int | None = None
    bytes: int | None = None
    schema: str | None = None
    location: str | None = None
    materialization_id: int | None = None
    code_components: str = ""

    @property
    def output_hash(self) -> int:
        """:func:`partition_hash` of this partition at this data version."""
        return partition_hash(self.asset, self.partition, self.data_version)


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """The result of one data-quality check on one partition's output.

    ``sample`` (up to 5 failing rows) and ``metadata`` are JSON text, so the
    record stays a plain picklable value; ``attempt`` is the step attempt it
    belongs to (``None`` for checks of published data, ``partita check``).
    ``check_id`` is assigned by the catalog.
    """

    asset: str
    partition: str | None
    check_name: str
    passed: bool
    severity: str = "error"
    message: str = ""
    created_at: datetime | None = None
    run_id: str | None = None
    materialization_id: int | None = None
    kind: str = ""
    attempt: int | None = None
    failing_rows: int | None = None
    total_rows: int | None = None
    failing_fraction: float | None = None
    sample: str = "[]"
    metadata: str = "{}"
    check_id: int | None = None

    @property
    def blocking(self) -> bool:
        """Whether this result blocks publication (a failed ``error`` check)."""
        return not self.passed and self.severity == "error"


@dataclass(frozen=True, slots=True)
class Observation:
    """The data version of one partition of a source asset, as observed at a time."""

    asset: str
    partition: str | None
    data_version: str
    observed_at: datetime
    run_id: str | None = None

    @property
    def output_hash(self) -> int:
        """:func:`partition_hash` of this partition at the observed data version."""
        return partition_hash(self.asset, self.partition, self.data_version)


@dataclass(frozen=True, slots=True)
class DynamicPartitionKeys:
    """The keys of one dynamic partitions definition, in the order they were added."""

    name: str
    keys: tuple[str, ...] = field(default_factory=tuple)


def partition_hash(asset: str, partition: str | None, data_version: str) -> int:
    """The identity of one partition at one data version, as a signed 64-bit integer.

    ``int.from_bytes(blake2b(f"{asset}\\x1f{partition_column(partition)}\\x1f{data_version}"
    .encode(), digest_size=8).digest(), "big", signed=True)``: the same in every process
    and on every machine (never Python's ``hash()``). The catalog stores it as
    ``output_hash`` of every materialization and observation, and the planner
    recomputes it vectorized, so staleness is decided on integer columns.
    """
    key = f"{asset}\x1f{partition_column(partition)}\x1f{data_version}".encode()
    return int.from_bytes(blake2b(key, digest_size=8).digest(), "big", signed=True)


_MASK64 = (1 << 64) - 1


def combine_hashes(hashes: Iterable[int]) -> int:
    """The order-independent combination of :func:`partition_hash` values.

    The sum modulo ``2**64`` as a signed 64-bit integer (0 for no hashes):
    what numpy computes with ``uint64`` arithmetic, which wraps. The
    fingerprint of a materialization's edge to one upstream asset is this
    combination over the distinct upstream partitions it read.
    """
    total = sum(hashes) & _MASK64
    return total - (1 << 64) if total >= 1 << 63 else total


LATEST_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("materialization_id", pa.int64()),
        ("data_version", pa.string()),
        ("code_version", pa.string()),
        ("config_hash", pa.string()),
        ("output_hash", pa.int64()),
        ("run_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
EDGES_SCHEMA = pa.schema(
    [
        ("materialization_id", pa.int64()),
        ("upstream_asset", pa.string()),
        ("n_inputs", pa.int64()),
        ("fingerprint", pa.int64()),
    ]
)
INPUTS_SCHEMA = pa.schema(
    [
        ("materialization_id", pa.int64()),
        ("upstream_asset", pa.string()),
        ("upstream_partition", pa.string()),
        ("upstream_materialization_id", pa.int64()),
        ("upstream_data_version", pa.string()),
    ]
)
FAILED_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
    ]
)
OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("data_version", pa.string()),
        ("output_hash", pa.int64()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class PlannerState:
    """The catalog's bulk state for a set of assets, as Arrow tables.

    - ``latest``: the latest successful materialization of every partition
      (columns of :data:`LATEST_SCHEMA`), one row per ``(asset, partition)``;
      ``output_hash`` is :func:`partition_hash` of the row;
    - ``edges``: one row per (latest materialization, upstream asset it
      depends on) (:data:`EDGES_SCHEMA`): how many distinct upstream
      partitions it read (``n_inputs``) and :func:`combine_hashes` of their
      :func:`partition_hash` (``fingerprint``, 0 when it read nothing);
    - ``failed``: partitions whose last finished attempt failed or timed out
      after their last success (:data:`FAILED_SCHEMA`, ``error`` is the
      error's first line);
    - ``observations``: the latest observation of every partition of the
      source assets among them (:data:`OBSERVATIONS_SCHEMA`).

    A partition is up to date with an upstream asset when the fingerprint of
    the upstream partitions it maps to *now* (the sum of their current
    ``output_hash``) equals the recorded one; the exact inputs behind a
    fingerprint are in ``CatalogReader.inputs_of``. Rows come in no
    particular order. Unpartitioned assets have partition
    :data:`UNPARTITIONED`. The tables are immutable Arrow values.
    """

    latest: pa.Table
    edges: pa.Table
    failed: pa.Table
    observations: pa.Table

    @classmethod
    def empty(cls) -> PlannerState:
        """A state with no materializations (a fresh catalog)."""
        return cls(
            latest=LATEST_SCHEMA.empty_table(),
            edges=EDGES_SCHEMA.empty_table(),
            failed=FAILED_SCHEMA.empty_table(),
            observations=OBSERVATIONS_SCHEMA.empty_table(),
        )

    def latest_of(self, asset: str) -> pa.Table:
        """The rows of ``latest`` for one asset."""
        return self.latest.filter(pc.equal(self.latest["asset"], asset))


@runtime_checkable
class DynamicPartitionsStore(Protocol):
    """Where the keys of dynamic partitions definitions live."""

    def get(self, name: str) -> tuple[str, ...]:
        """The keys of ``name`` in the order they were added (empty if none)."""
        ...

    def add(self, name: str, keys: Sequence[str]) -> None:
        """Add ``keys`` to ``name``; keys already present are kept once."""
        ...

    def delete(self, name: str, keys: Sequence[str]) -> None:
        """Remove ``keys`` from ``name``; absent keys are ignored."""
        ...


@runtime_checkable
class CatalogReader(Protocol):
    """What the planner, freshness and the read-only commands may ask the catalog."""

    def planner_state(self, assets: Sequence[str]) -> PlannerState:
        """The bulk state of ``assets`` (see :class:`PlannerState`)."""
        ...

    def inputs_of(self, materialization_ids: Sequence[int]) -> pa.Table:
        """The recorded inputs of some materializations (:data:`INPUTS_SCHEMA`).

        For explaining a few stale partitions, not for bulk planning.
        """
        ...

    def code_components(self, code_version: str) -> dict[str, str] | None:
        """The component digests recorded with a code version, or ``None`` (to explain it)."""
        ...

    def latest_materialization(
        self, asset: str, partition: str | None = None
    ) -> Materialization | None:
        """The latest successful materialization of one partition, or ``None``."""
        ...

    def history(
        self, asset: str, partition: str | None = None, *, limit: int = 100
    ) -> list[Materialization]:
        """Materializations of ``asset`` (one partition, or all), newest first."""
        ...

    def get_dynamic_partitions(self, name: str) -> tuple[str, ...]:
        """The keys of a dynamic partitions definition."""
        ...

    def get_run(self, run_id: str, *, now: datetime) -> Run | None:
        """One run (a dead run shows as ``crashed``), or ``None``."""
        ...

    def runs(self, *, now: datetime, limit: int = 20) -> list[RunSummary]:
        """The latest runs, newest first; dead runs show as ``crashed``."""
        ...

    def attempts(
        self, run_id: str, *, asset: str | None = None, partition: str | None = None
    ) -> list[StepAttempt]:
        """The step attempts of a run, with their logs, in the order they started."""
        ...


@runtime_checkable
class CatalogWriter(Protocol):
    """What the runner writes. Every method is one transaction."""

    def start_run(self, run: Run) -> None:
        """Record a new run (status ``running``) with its host, pid and time."""
        ...

    def heartbeat(self, run_id: str, *, now: datetime) -> None:
        """Record that the run's coordinator is alive at ``now``."""
        ...

    def finish_run(
        self, run_id: str, status: RunStatus, *, now: datetime, error: str | None = None
    ) -> None:
        """Record the final status of a run."""
        ...

    def record_attempt_start(self, attempt: StepAttempt) -> None:
        """Record that an attempt started (status ``running``)."""
        ...

    def record_step_outcome(
        self,
        attempt: StepAttempt,
        materializations: Sequence[Materialization] = (),
        inputs: Sequence[Sequence[Input]] = (),
        checks: Sequence[CheckRecord] = (),
        *,
        upstream_assets: Sequence[str] = (),
    ) -> tuple[int, ...]:
        """Record a finished attempt with its materializations, inputs and checks.

        ``inputs[i]`` are the inputs of ``materializations[i]``.
        ``upstream_assets`` are the assets the step's asset depends on: each
        materialization gets an edge to each of them (and to every asset in
        its inputs), so an upstream it read nothing from is recorded with
        ``n_inputs = 0``. All or nothing; returns the ids given to the
        materializations.
        """
        ...

    def append_logs(
        self, run_id: str, asset: str, partition: str | None, attempt: int, text: str
    ) -> None:
        """Append log text to an attempt."""
        ...

    def record_checks(self, checks: Sequence[CheckRecord]) -> None:
        """Record results of checks run on published data (each with its run id and time)."""
        ...

    def record_observation(self, observation: Observation) -> None:
        """Record the observed data version of a source asset's partition."""
        ...

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        """Add keys to a dynamic partitions definition (idempotent)."""
        ...

    def delete_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        """Delete keys of a dynamic partitions definition."""
        ...

    def acquire_leases(
        self,
        run_id: str,
        items: Sequence[tuple[str, str | None]],
        *,
        now: datetime,
        ttl_s: float,
    ) -> list[tuple[str, str | None]]:
        """Lease ``(asset, partition)`` items to a run until ``now + ttl_s``; one transaction.

        Returns the items acquired (free ones, ones this run holds, and ones
        held by a run that is dead or whose lease expired); the others are
        held by another live run.
        """
        ...

    def renew_leases(self, run_id: str, *, now: datetime, ttl_s: float) -> int:
        """Extend every lease of a run to ``now + ttl_s``; returns how many it holds."""
        ...

    def release_leases(
        self, run_id: str, items: Sequence[tuple[str, str | None]] | None = None
    ) -> int:
        """Release some (or all) leases of a run; returns how many were released."""
        ...

    def lease_holders(
        self, items: Sequence[tuple[str, str | None]], *, now: datetime
    ) -> dict[tuple[str, str | None], str]:
        """Which live run holds each of ``items`` (items nobody holds are left out)."""
        ...
