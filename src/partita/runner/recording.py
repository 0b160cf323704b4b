"""How the coordinator records a task's attempts, skips and results.

:class:`StepRecorder` turns what happened to a task into
:class:`~partita.records.StepAttempt` and
:class:`~partita.records.Materialization` rows and writes them to the catalog
(the coordinator is the only writer; it passes the times in, so it alone reads
the clock). :class:`Attempt` is one attempt in flight on the executor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from partita.records import (
    CatalogWriter,
    Materialization,
    StepAttempt,
    StepStatus,
    partition_value,
)
from partita.runner.messages import WorkResult
from partita.runner.tasks import Task

__all__ = ["Attempt", "StepRecorder"]


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


class StepRecorder:
    """Writes the step attempts of one run (and what they built) to the catalog."""

    def __init__(self, catalog: CatalogWriter, run_id: str) -> None:
        self.catalog = catalog
        self.run_id = run_id

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

    def succeeded(
        self,
        task: Task,
        attempt: Attempt,
        result: WorkResult,
        finished: datetime,
        upstream_assets: list[str],
    ) -> list[tuple[str, int, str]]:
        """Record a successful attempt with its materializations, inputs and checks.

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
    ) -> StepAttempt:
        """Record an attempt that did not succeed (with its checks); return its row."""
        row = self.attempt_row(task, attempt, status, result, finished)
        self.catalog.record_step_outcome(row, checks=result.checks)
        return row

    def per_partition(self, task: Task, row: StepAttempt) -> None:
        """Give each partition of a failed batch its own attempt row.

        A batch records its attempts under its range label; the planner tracks
        failures per partition, so each partition of a failed batch gets its row.
        """
        for key in task.keys:
            self.catalog.record_attempt_start(replace(row, partition=partition_value(key), logs=""))

    def cancelled(self, task: Task, attempt: Attempt, reason: str, at: datetime) -> None:
        """Record a running attempt stopped ``at`` for ``reason``."""
        self.catalog.record_step_outcome(
            StepAttempt(
                run_id=self.run_id,
                asset=str(task.asset),
                partition=task.label,
                attempt=attempt.attempt,
                status=StepStatus.CANCELLED,
                started_at=attempt.started_at,
                finished_at=at,
                error=reason,
                logs=f"cancelled: {reason}\n",
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
