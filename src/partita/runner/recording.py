"""How the coordinator records what happens in a run, then tells subscribers.

:class:`RunRecorder` turns each thing that happens to a run or a task into
catalog rows (:class:`~partita.records.StepAttempt`,
:class:`~partita.records.Materialization`, check results), and publishes the
matching :mod:`partita.events` event on the run's
:class:`~partita.events.EventBus` only once the rows are committed. The
catalog is the system of record: a failed write raises (and fails the run);
an event always describes something already recorded. The coordinator is
the only writer; it passes the times in, so it alone reads the clock.

The run's start and end are written at once. The rows of its steps (starts,
skips, failures, retries, cancellations, lease releases) wait in
:class:`PendingRows` with their events, and the committer
(:mod:`partita.runner.commit`) writes them in its next batch transaction,
with the batch's successes: at the latest :data:`FLUSH_S` after the first
one waits, so ``partita runs`` sees a running attempt quickly.
:class:`Attempt` is one attempt in flight on the executor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from partita.events import (
    CheckEvaluated,
    Event,
    EventBus,
    PartitionPublished,
    RunCancelling,
    RunFinished,
    RunStarted,
    StepCancelled,
    StepFailed,
    StepRetried,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    StepWaiting,
)
from partita.records import (
    CatalogWriter,
    LeaseItem,
    Materialization,
    Run,
    RunStatus,
    StepAttempt,
    StepRecord,
    StepStatus,
    partition_hash,
    partition_value,
)
from partita.runner.messages import WorkResult
from partita.runner.tasks import Task

__all__ = ["FLUSH_S", "Attempt", "PendingRows", "Retry", "RunRecorder", "kept_output_hash"]

FLUSH_S = 0.15
"""Seconds a step row waits for its batch transaction at most (while the run goes on)."""


@dataclass
class Attempt:
    """One attempt of a task sent to the executor.

    Attributes:
        task: the task's index in the run's task graph.
        attempt: the attempt number (1 for the first).
        started_at: when it was started (as recorded).
        inputs: per partition of the task, the input rows to record on success.
        previous: per partition built before, its ``(data version, output hash)``
            when the attempt started (what its new materialization may keep).
    """

    task: int
    attempt: int
    started_at: datetime
    inputs: list[list[Any]]
    previous: dict[str, tuple[str, int]] = field(default_factory=dict)


def kept_output_hash(
    task: Task, key: str, data_version: str, previous: tuple[str, int] | None
) -> int | None:
    """The output hash a new materialization of ``key`` keeps from the previous one:
    when the task rebuilds it only for a non-breaking SQL change
    (:attr:`Task.keeps_output <partita.runner.tasks.Task.keeps_output>`), or when it
    wrote the same data version (the same output: what reads it stays up to date).
    ``None``: its own."""
    if previous is None or (key not in task.keeps_output and previous[0] != data_version):
        return None
    partition = partition_value(key) if task.partitioned else None
    own = partition_hash(str(task.asset), partition, data_version)
    return None if previous[1] == own else previous[1]


@dataclass(frozen=True, slots=True)
class Retry:
    """A failed attempt will be tried again after ``delay_s`` (of ``max_attempts``)."""

    delay_s: float
    max_attempts: int


@dataclass
class PendingRows:
    """Step rows, their events and lease releases waiting for the next batch transaction.

    ``cond`` guards the lists and wakes the committer when rows arrive.
    """

    steps: list[StepRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    release: list[LeaseItem] = field(default_factory=list)
    since: float | None = None
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(
        self, steps: list[StepRecord], events: list[Event], release: Sequence[LeaseItem] = ()
    ) -> None:
        """Queue rows, the events that describe them and leases to release."""
        with self.cond:
            self.steps.extend(steps)
            self.events.extend(events)
            self.release.extend(release)
            if self.since is None:
                self.since = time.monotonic()
            self.cond.notify_all()

    def take(self) -> tuple[list[StepRecord], list[Event], list[LeaseItem]]:
        """Everything queued (the caller holds ``cond``); the queue is then empty."""
        taken = (self.steps, self.events, self.release)
        self.steps, self.events, self.release, self.since = [], [], [], None
        return taken

    def due(self, now_m: float) -> float | None:
        """Seconds until the queued rows must be written (``0`` when due), ``None``
        when nothing waits (the caller holds ``cond``)."""
        if self.since is None:
            return None
        return max(0.0, self.since + FLUSH_S - now_m)


class RunRecorder:
    """Records one run's rows, then publishes each as an event on ``bus``.

    The run's start and end are written at once; step rows wait in ``pending``
    for the committer's next batch (:mod:`partita.runner.commit`).
    """

    def __init__(self, catalog: CatalogWriter, run_id: str, bus: EventBus) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self.bus = bus
        self.pending = PendingRows()

    def release(self, items: list[LeaseItem]) -> None:
        """Release the run's leases of ``items`` in the next batch transaction."""
        self.pending.add([], [], items)

    # -- the run ---------------------------------------------------------------

    def run_started(self, run: Run, tasks: int) -> None:
        """Record the run as started; it has ``tasks`` tasks."""
        self.catalog.start_run(run)
        self.bus.publish(
            RunStarted(
                run_id=self.run_id,
                at=run.started_at,
                tasks=tasks,
                selection=run.selection,
                partitions=run.partitions,
            )
        )

    def cancelling(self, reason: str, at: datetime) -> None:
        """Tell that the run is being cancelled (the run's status is recorded at its end)."""
        self.bus.publish(RunCancelling(run_id=self.run_id, at=at, reason=reason))

    def run_finished(
        self, status: RunStatus, started: datetime, at: datetime, error: str | None
    ) -> None:
        """Record the run's end."""
        self.catalog.finish_run(self.run_id, status, now=at, error=error)
        self.bus.publish(
            RunFinished(
                run_id=self.run_id, at=at, status=str(status), started_at=started, error=error
            )
        )

    # -- tasks -----------------------------------------------------------------

    def started(self, task: Task, attempt: int, at: datetime) -> None:
        """Record that attempt ``attempt`` of ``task`` started ``at``."""
        row = StepAttempt(
            run_id=self.run_id,
            asset=str(task.asset),
            partition=task.label,
            attempt=attempt,
            status=StepStatus.RUNNING,
            started_at=at,
        )
        event = StepStarted(
            run_id=self.run_id,
            at=at,
            asset=str(task.asset),
            partition=task.label,
            attempt=attempt,
            partitions=task.keys if task.partitioned else (),
        )
        self.pending.add([StepRecord(row, start=True)], [event])

    def waiting(
        self, task: Task, attempt: int, holder: str, at: datetime, pool: str | None = None
    ) -> None:
        """Tell that ``task`` waits for run ``holder``, which is building its partitions
        (or, with ``pool``, for a slot of that pool, ``holder`` naming who holds them)."""
        self.bus.publish(
            StepWaiting(
                run_id=self.run_id,
                at=at,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                holder=holder,
                pool=pool,
            )
        )

    def skipped(self, task: Task, attempt: int, reason: str, at: datetime) -> None:
        """Record ``task`` as skipped (attempt number ``attempt``) for ``reason``."""
        row = StepAttempt(
            run_id=self.run_id,
            asset=str(task.asset),
            partition=task.label,
            attempt=attempt,
            status=StepStatus.SKIPPED,
            started_at=at,
            finished_at=at,
            logs=f"skipped: {reason}\n",
        )
        event = StepSkipped(
            run_id=self.run_id,
            at=at,
            asset=str(task.asset),
            partition=task.label,
            attempt=attempt,
            reason=reason,
        )
        self.pending.add([StepRecord(row)], [event])

    def success_record(
        self,
        task: Task,
        attempt: Attempt,
        result: WorkResult,
        finished: datetime,
        upstream_assets: tuple[str, ...],
    ) -> StepRecord:
        """The rows of a successful attempt whose writes are published (``result.writes``)."""
        asset = str(task.asset)
        mats = tuple(
            Materialization(
                asset=asset,
                partition=partition_value(key) if task.partitioned else None,
                run_id=self.run_id,
                data_version="" if write is None else write.data_version,
                created_at=finished,
                code_version=task.code_version,
                code_components=task.code_components,
                sql_model=task.sql_model,
                config_hash=task.config_hash,
                rows=None if write is None else write.rows,
                bytes=None if write is None else write.bytes,
                schema=None if write is None else write.schema,
                location=None if write is None else write.location,
                inherited_output_hash=None
                if write is None
                else kept_output_hash(task, key, write.data_version, attempt.previous.get(key)),
            )
            for key, write in result.writes
        )
        return StepRecord(
            self.attempt_row(task, attempt, StepStatus.SUCCEEDED, result, finished),
            materializations=mats,
            inputs=tuple(tuple(i) for i in attempt.inputs),
            checks=result.checks,
            upstream_assets=upstream_assets,
        )

    def succeeded(
        self,
        task: Task,
        attempt: Attempt,
        result: WorkResult,
        record: StepRecord,
        ids: tuple[int, ...],
        warnings: tuple[str, ...],
    ) -> list[tuple[str, int, str, int]]:
        """Publish the events of a success recorded (``record``, given ``ids``).

        Publishes the checks, each partition published, then the success.
        Returns, per partition written, ``(partition key, materialization id, data version,
        output hash)``.
        """
        asset = str(task.asset)
        finished = record.attempt.finished_at or record.attempt.started_at
        self._publish_checks(result, attempt.attempt, finished)
        mats = record.materializations
        inputs = record.inputs or tuple(() for _ in mats)
        for mat, mid, read in zip(mats, ids, inputs, strict=True):
            self.bus.publish(
                PartitionPublished(
                    run_id=self.run_id,
                    at=finished,
                    asset=asset,
                    partition=task.label,
                    attempt=attempt.attempt,
                    partition_key=mat.partition,
                    materialization_id=mid,
                    data_version=mat.data_version,
                    rows=mat.rows,
                    bytes=mat.bytes,
                    location=mat.location,
                    schema=mat.schema,
                    inputs=read,
                )
            )
        self.bus.publish(
            StepSucceeded(
                run_id=self.run_id,
                at=finished,
                asset=asset,
                partition=task.label,
                attempt=attempt.attempt,
                started_at=attempt.started_at,
                duration_s=result.duration_s,
                warnings=warnings,
            )
        )
        return [
            (key, mid, mat.data_version, mat.output_hash)
            for (key, _), mid, mat in zip(result.writes, ids, mats, strict=True)
        ]

    def failed(
        self,
        task: Task,
        attempt: Attempt,
        status: StepStatus,
        result: WorkResult,
        finished: datetime,
        retry: Retry | None,
    ) -> None:
        """Record an attempt that did not succeed, with its checks.

        With ``retry`` the task will be tried again (:class:`StepRetried`);
        without, it failed for good (:class:`StepFailed`) and each partition of
        a failed batch also gets its own attempt row: a batch records its
        attempts under its range label, but the planner tracks failures per
        partition.
        """
        row = self.attempt_row(task, attempt, status, result, finished)
        rows = [StepRecord(row, checks=result.checks)]
        if retry is None and len(task.keys) > 1:
            rows.extend(
                StepRecord(replace(row, partition=partition_value(key), logs=""), start=True)
                for key in task.keys
            )
        events: list[Event] = self._check_events(result, attempt.attempt, finished)
        error = result.error or str(status)
        if retry is not None:
            events.append(
                StepRetried(
                    run_id=self.run_id,
                    at=finished,
                    asset=str(task.asset),
                    partition=task.label,
                    attempt=attempt.attempt,
                    error=error,
                    delay_s=retry.delay_s,
                    max_attempts=retry.max_attempts,
                )
            )
        else:
            events.append(
                StepFailed(
                    run_id=self.run_id,
                    at=finished,
                    asset=str(task.asset),
                    partition=task.label,
                    attempt=attempt.attempt,
                    status=str(status),
                    error=error,
                    started_at=attempt.started_at,
                    duration_s=result.duration_s,
                )
            )
        self.pending.add(rows, events)

    def cancelled(
        self, task: Task, number: int, reason: str, at: datetime, running: Attempt | None
    ) -> None:
        """Record ``task`` cancelled ``at`` for ``reason``.

        ``running``: the attempt that was stopped (it gets its row); ``None``
        for a task that had not started (nothing to record). ``number`` is the
        attempt it concerns.
        """
        rows = []
        if running is not None:
            row = StepAttempt(
                run_id=self.run_id,
                asset=str(task.asset),
                partition=task.label,
                attempt=running.attempt,
                status=StepStatus.CANCELLED,
                started_at=running.started_at,
                finished_at=at,
                error=reason,
                logs=f"cancelled: {reason}\n",
            )
            rows.append(StepRecord(row))
        event = StepCancelled(
            run_id=self.run_id,
            at=at,
            asset=str(task.asset),
            partition=task.label,
            attempt=number,
            reason=reason,
        )
        self.pending.add(rows, [event])

    def attempt_row(
        self,
        task: Task,
        attempt: Attempt,
        status: StepStatus,
        result: WorkResult,
        finished: datetime,
    ) -> StepAttempt:
        """The row of a finished attempt of ``task``."""
        return StepAttempt(
            run_id=self.run_id,
            asset=str(task.asset),
            partition=task.label,
            attempt=attempt.attempt,
            status=status,
            started_at=attempt.started_at,
            finished_at=finished,
            error=result.error,
            logs=result.logs,
        )

    def _check_events(self, result: WorkResult, attempt: int, at: datetime) -> list[Event]:
        return [
            CheckEvaluated.of(record, run_id=self.run_id, at=at, attempt=attempt)
            for record in result.checks
        ]

    def _publish_checks(self, result: WorkResult, attempt: int, at: datetime) -> None:
        for event in self._check_events(result, attempt, at):
            self.bus.publish(event)
