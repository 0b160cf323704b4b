"""Recording a plan's failed source observations in the run that follows it.

Planning observes the source partitions a request reads; an observe function
that raised (after the source's retries) leaves a
:class:`~partita.planner.FailedObservation` in the plan, and the planner has
blocked what reads it. The run records each one as a ``failed`` attempt of the
source partition (its error, and the traceback as its log), so ``partita
runs``, ``logs``, ``status`` and ``freshness`` show it, and the run fails. A
later successful observation of the partition ends the failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from partita.events import EventBus, StepFailed
from partita.planner.plan import FailedObservation
from partita.records import CatalogWriter, StepAttempt, StepStatus, partition_value
from partita.runner.state import TaskState
from partita.runner.summary import TaskOutcome

__all__ = ["record_failed_observations"]


def record_failed_observations(
    catalog: CatalogWriter,
    run_id: str,
    failures: Sequence[FailedObservation],
    at: datetime,
    bus: EventBus,
) -> tuple[TaskOutcome, ...]:
    """Record each failure as a failed attempt of its source partition in ``run_id``
    (observed ``at``, the planning time); publish it as a :class:`~partita.events.StepFailed`
    event; return their outcomes."""
    outcomes: list[TaskOutcome] = []
    for failure in failures:
        partition = partition_value(failure.partition)
        catalog.record_step_outcome(
            StepAttempt(
                run_id=run_id,
                asset=str(failure.asset),
                partition=partition,
                attempt=failure.attempts,
                status=StepStatus.FAILED,
                started_at=at,
                finished_at=at,
                error=f"observation failed: {failure.error}",
                logs=failure.log,
            )
        )
        outcome = TaskOutcome(
            asset=str(failure.asset),
            partition=partition,
            status=TaskState.FAILED,
            attempts=failure.attempts,
            reason="observation failed",
            error=f"observation failed: {failure.error}",
        )
        bus.publish(
            StepFailed(
                run_id=run_id,
                at=at,
                asset=outcome.asset,
                partition=partition,
                attempt=failure.attempts,
                status=str(StepStatus.FAILED),
                error=outcome.error or "",
                started_at=at,
                duration_s=0.0,
            )
        )
        outcomes.append(outcome)
    return tuple(outcomes)
