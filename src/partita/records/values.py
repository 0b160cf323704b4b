"""What the catalog records, as frozen values, and the partition hashes.

Runs, step attempts, materializations with their exact inputs, check
results and observations of source assets. Partitions are ``str | None`` in
records (``None`` for an unpartitioned asset, as in
:class:`~partita.keys.AssetPartition`); in the catalog's tables and in the
column tables of :class:`~partita.records.PlannerState` an unpartitioned
asset's partition is :data:`UNPARTITIONED` (the empty string), so columns
never hold nulls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from hashlib import blake2b

__all__ = [
    "DRIFT_ERROR_PREFIX",
    "FAILED_STEP_STATUSES",
    "FINISHED_STEP_STATUSES",
    "UNPARTITIONED",
    "CheckRecord",
    "Input",
    "Materialization",
    "Observation",
    "Run",
    "RunStatus",
    "RunSummary",
    "StepAttempt",
    "StepRecord",
    "StepStatus",
    "combine_hashes",
    "partition_column",
    "partition_hash",
    "partition_value",
]

UNPARTITIONED = ""
"""The partition value of an unpartitioned asset in columns and in the catalog's tables."""

DRIFT_ERROR_PREFIX = "stored data "
"""How the error of a failed attempt recorded by ``partita verify --repair`` starts
(``stored data missing, found by ...``): the published data of a partition
recorded as built was found missing or changed, so the planner rebuilds it."""


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
    ``materialize`` (building partitions), ``check`` (``partita check``:
    checks of published data, nothing built) or ``verify`` (``partita verify
    --repair``: drifted partitions recorded as failed, nothing built).
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
    """A run as listed by ``runs()``: the run, its duration and what it did.

    Attributes:
        step_counts: step attempts by status (a retried partition counts once
            per attempt).
        partition_counts: the run's partitions by the status of their last
            attempt (a batched step, one call for a range, counts once).
        check_counts: the run's check results as ``passed`` / ``failed`` /
            ``warned`` (a failed ``warn`` check) counts.
    """

    run: Run
    duration_s: float | None
    step_counts: tuple[tuple[StepStatus, int], ...]
    partition_counts: tuple[tuple[StepStatus, int], ...]
    check_counts: tuple[tuple[str, int], ...]

    def count(self, status: StepStatus) -> int:
        """How many step attempts of this run ended (or are) in ``status``."""
        return dict(self.step_counts).get(status, 0)

    def partitions(self, status: StepStatus) -> int:
        """How many partitions of this run ended (or are) in ``status`` (their last attempt)."""
        return dict(self.partition_counts).get(status, 0)

    @property
    def retries(self) -> int:
        """Attempts that were followed by another attempt of the same partition."""
        return sum(n for _, n in self.step_counts) - sum(n for _, n in self.partition_counts)


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
    ``upstream_output_hash`` is the upstream partition's output hash as read
    (:attr:`Materialization.output_hash`); ``None``: :func:`partition_hash` of
    its data version. It makes the edge fingerprint the planner compares.
    """

    upstream_asset: str
    upstream_partition: str | None
    upstream_data_version: str
    upstream_materialization_id: int | None = None
    upstream_output_hash: int | None = None

    @property
    def output_hash(self) -> int:
        """The upstream partition's output hash, as it was read."""
        if self.upstream_output_hash is not None:
            return self.upstream_output_hash
        return partition_hash(
            self.upstream_asset, self.upstream_partition, self.upstream_data_version
        )


@dataclass(frozen=True, slots=True)
class Materialization:
    """One successful build of one partition of one asset.

    ``materialization_id`` is assigned by the catalog when the
    materialization is recorded; ``schema`` is JSON text.
    ``code_components`` is the JSON object of the code version's component
    digests (:meth:`partita.versions.CodeVersion.components_json`), ``""``
    for an explicit version; the catalog keeps it once per code version.
    ``sql_model`` is, for a SQL asset, the JSON of the model it was built with
    (dialect, normalized query, column lineage), ``""`` otherwise.
    ``inherited_output_hash`` is the output hash it keeps from the previous
    build of its partition (``None``: its own, see :attr:`output_hash`): a
    rebuild for a non-breaking SQL change only, or one that wrote the same
    data version, is the same output for what reads it.
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
    sql_model: str = ""
    inherited_output_hash: int | None = None

    @property
    def output_hash(self) -> int:
        """The identity of this output for what reads it (the planner's upstream
        fingerprints and the early cutoff compare it): :func:`partition_hash` of this
        partition at this data version, or the ``inherited_output_hash``."""
        if self.inherited_output_hash is not None:
            return self.inherited_output_hash
        return partition_hash(self.asset, self.partition, self.data_version)

    @property
    def has_data(self) -> bool:
        """False for a side-effect asset's build: its function returned ``None`` and
        nothing was stored (no data version, rows or location)."""
        return self.data_version != ""


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step row of a batch (:meth:`~partita.records.CatalogWriter.record_batch`).

    With ``start=True`` the attempt row is inserted as it is (what
    :meth:`~partita.records.CatalogWriter.record_attempt_start` does); otherwise it
    is a finished attempt with its materializations, inputs and checks (what
    :meth:`~partita.records.CatalogWriter.record_step_outcome` does).
    """

    attempt: StepAttempt
    start: bool = False
    materializations: tuple[Materialization, ...] = ()
    inputs: tuple[tuple[Input, ...], ...] = ()
    checks: tuple[CheckRecord, ...] = ()
    upstream_assets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """The result of one data-quality check on one partition's output.

    ``sample`` (up to 5 failing rows) and ``metadata`` are JSON text, so the
    record stays a plain picklable value; ``attempt`` is the step attempt it
    belongs to (``None`` for checks of published data, ``partita check``).
    ``check_id`` is assigned by the catalog. ``source`` is derived by the
    catalog when it reads a result back (what is written is ignored):
    ``"recheck"`` for a result recorded by a run of kind ``check`` (``partita
    check`` re-checking published data), else ``"build"`` (checked while
    ``partita materialize`` built the data, or a source checked before it was read).
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
    source: str = "build"

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
