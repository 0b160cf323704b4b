"""How the coordinator records what happens in a run, then tells subscribers.

:class:`RunRecorder` turns each thing that happens to a run or a task into
catalog rows (:class:`~partita.records.StepAttempt`,
:class:`~partita.records.Materialization`, check results) and writes them, and
only then publishes the matching :mod:`partita.events` event on the run's
:class:`~partita.events.EventBus`. The catalog is the system of record: its
writes are synchronous and a failed write raises (and fails the run); an
event always describes something already recorded. The coordinator is the
only writer; it passes the times in, so it alone reads the clock.
:class:`Attempt` is one attempt in flight on the executor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from partita.events import (
    CheckEvaluated,
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
    Materialization,
    Run,
    RunStatus,
    StepAttempt,
    StepStatus,
    partition_value,
)
from partita.runner.messages import WorkResult
from partita.runner.tasks import Task

__all__ = ["Attempt", "Retry", "RunRecorder"]


@dataclass
class Attempt:
    """One attempt of a task sent to the executor.

    Attributes:
        task: the task's index in the run's task graph.
        attempt: the attempt number (1 for the first).
        started_at: when it was started (as recorded).
        inputs: per partition of the task, the input rows to record on success.
    """

    task: int
    attempt: int
    started_at: datetime
    inputs: list[list[Any]]


@dataclass(frozen=True, slots=True)
class Retry:
    """A failed attempt will be tried again after ``delay_s`` (of ``max_attempts``)."""

    delay_s: float
    max_attempts: int


class RunRecorder:
    """Writes one run's rows to the catalog, then publishes each as an event on ``bus``."""

    def __init__(self, catalog: CatalogWriter, run_id: str, bus: EventBus) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self.bus = bus

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
        self.catalog.record_attempt_start(
            StepAttempt(
                run_id=self.run_id,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                status=StepStatus.RUNNING,
                started_at=at,
            )
        )
        self.bus.publish(
            StepStarted(
                run_id=self.run_id,
                at=at,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                partitions=task.keys if task.partitioned else (),
            )
        )

    def waiting(self, task: Task, attempt: int, holder: str, at: datetime) -> None:
        """Tell that ``task`` waits for run ``holder``, which is building its partitions."""
        self.bus.publish(
            StepWaiting(
                run_id=self.run_id,
                at=at,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                holder=holder,
            )
        )

    def skipped(self, task: Task, attempt: int, reason: str, at: datetime) -> None:
        """Record ``task`` as skipped (attempt number ``attempt``) for ``reason``."""
        self.catalog.record_step_outcome(
            StepAttempt(
                run_id=self.run_id,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                status=StepStatus.SKIPPED,
                started_at=at,
                finished_at=at,
                logs=f"skipped: {reason}\n",
            )
        )
        self.bus.publish(
            StepSkipped(
                run_id=self.run_id,
                at=at,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt,
                reason=reason,
            )
        )

    def succeeded(
        self,
        task: Task,
        attempt: Attempt,
        result: WorkResult,
        finished: datetime,
        upstream_assets: list[str],
        warnings: tuple[str, ...],
    ) -> list[tuple[str, int, str]]:
        """Record a successful attempt with its materializations, inputs and checks.

        Publishes the checks, each partition published, then the success.
        Returns, per partition written, ``(partition key, materialization id, data version)``.
        """
        asset = str(task.asset)
        mats = [
            Materialization(
                asset=asset,
                partition=partition_value(key) if task.partitioned else None,
                run_id=self.run_id,
                data_version="" if write is None else write.data_version,
                created_at=finished,
                code_version=task.code_version,
                code_components=task.code_components,
                config_hash=task.config_hash,
                rows=None if write is None else write.rows,
                bytes=None if write is None else write.bytes,
                schema=None if write is None else write.schema,
                location=None if write is None else write.location,
            )
            for key, write in result.writes
        ]
        ids = self.catalog.record_step_outcome(
            self.attempt_row(task, attempt, StepStatus.SUCCEEDED, result, finished),
            mats,
            attempt.inputs,
            result.checks,
            upstream_assets=upstream_assets,
        )
        self._publish_checks(result, attempt.attempt, finished)
        for mat, mid in zip(mats, ids, strict=True):
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
            (key, mid, mat.data_version)
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
        self.catalog.record_step_outcome(row, checks=result.checks)
        if retry is None and len(task.keys) > 1:
            for key in task.keys:
                self.catalog.record_attempt_start(
                    replace(row, partition=partition_value(key), logs="")
                )
        self._publish_checks(result, attempt.attempt, finished)
        error = result.error or str(status)
        if retry is not None:
            self.bus.publish(
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
            return
        self.bus.publish(
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

    def cancelled(
        self, task: Task, number: int, reason: str, at: datetime, running: Attempt | None
    ) -> None:
        """Record ``task`` cancelled ``at`` for ``reason``.

        ``running``: the attempt that was stopped (it gets its row); ``None``
        for a task that had not started (nothing to record). ``number`` is the
        attempt it concerns.
        """
        if running is not None:
            self.catalog.record_step_outcome(
                StepAttempt(
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
            )
        self.bus.publish(
            StepCancelled(
                run_id=self.run_id,
                at=at,
                asset=str(task.asset),
                partition=task.label,
                attempt=number,
                reason=reason,
            )
        )

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

    def _publish_checks(self, result: WorkResult, attempt: int, at: datetime) -> None:
        for record in result.checks:
            self.bus.publish(CheckEvaluated.of(record, run_id=self.run_id, at=at, attempt=attempt))
