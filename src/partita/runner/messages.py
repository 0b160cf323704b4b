"""The small, picklable values that cross between the coordinator and a worker.

A :class:`WorkItem` says what to build (asset, partition keys, attempt, what to
read); a :class:`WorkResult` says what happened (the writes, check outcomes,
captured log text, the error with the user's traceback). Both are plain frozen
values of strings and tuples, so sending one to a worker process is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from partita.io.protocol import StagedWrite, WriteResult
from partita.records import CheckRecord

__all__ = ["Outcome", "ReadRequest", "WorkItem", "WorkResult"]


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One upstream asset a task reads: the parameter (``None``: order-only), the
    upstream partition keys that are materialized now (``""`` when unpartitioned),
    the upstream's dimension columns that its data holds itself (not added by
    the read; see :mod:`partita.runner.partition_columns`), the keys whose
    latest build stored no data (a side-effect asset, which cannot be read), and
    the current data version of each key (as ``keys``; ``""`` when unknown), so
    that a worker hands over a table it staged only while it is still the
    partition's data (:mod:`partita.runner.output_cache`)."""

    param: str | None
    upstream: str
    keys: tuple[str, ...]
    written_columns: tuple[str, ...] = ()
    no_data: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One attempt at one task, as sent to a worker.

    Attributes:
        run_id: the run.
        asset: the asset key as a string.
        keys: the partition keys built by this call (``("",)`` when unpartitioned).
        attempt: 1 for the first attempt.
        reads: what to load for each upstream edge.
        config_json: the asset's validated run-time config as JSON, if it takes one
            (secret fields in clear: never logged, never in a repr).
        code_version: the asset's code version the run was planned with (and records);
            a worker whose imported code has another one refuses the task
            (:class:`~partita.errors.CodeChangedError`). Empty: not checked.
    """

    run_id: str
    asset: str
    keys: tuple[str, ...]
    attempt: int
    reads: tuple[ReadRequest, ...] = ()
    config_json: str | None = field(default=None, repr=False)  # may hold secrets
    code_version: str = ""


class Outcome(StrEnum):
    """How one attempt ended, as the worker (or the executor) saw it."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CHECK_FAILED = "check_failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    LEASE_LOST = "lease_lost"
    """The run no longer held a partition's lease at publish: the output was discarded."""


@dataclass(frozen=True, slots=True)
class WorkResult:
    """What one attempt produced.

    Attributes:
        outcome: how it ended.
        writes: per partition key, the published write (``None`` for a
            side-effect asset that returned no data); filled in by the
            coordinator's committer once it published ``staged``.
        staged: per partition key, what the worker staged and checked (``None``
            for no data); the coordinator publishes it (:mod:`partita.runner.commit`).
        checks: check outcomes of the staged data.
        logs: captured log text (``context.log``, stdout/stderr, the traceback).
        error: the error's message (first line first), when it failed.
        duration_s: seconds spent in the worker.
        retryable: whether another attempt may succeed (``False`` after a
            deterministic Partita error such as an unsafe schema change or a
            wrong declaration; the asset's retry policy is then not applied).
    """

    outcome: Outcome
    writes: tuple[tuple[str, WriteResult | None], ...] = ()
    staged: tuple[tuple[str, StagedWrite | None], ...] = ()
    checks: tuple[CheckRecord, ...] = ()
    logs: str = ""
    error: str | None = None
    duration_s: float = 0.0
    retryable: bool = True
