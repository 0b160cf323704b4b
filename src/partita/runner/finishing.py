"""Finishing attempts: successes go to the group commit, failures are retried or final.

An attempt the executor reports as succeeded has only staged its output: it
is handed to the committer (:mod:`partita.runner.commit`), and becomes a
success when its batch is committed (:meth:`AttemptFinisher.apply`): then
its events are published, the versions it wrote are what its dependents
read, and they become ready. A failed attempt (or one whose publish failed
in the commit) is retried with its asset's
:class:`~partita.policies.RetryPolicy` when the failure is retryable, else
it fails for good and its dependents are skipped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime

from partita.events import EventBus
from partita.records import StepStatus
from partita.runner.cancelling import CancelToken
from partita.runner.commit import Committed, Committer, FinishedStep
from partita.runner.messages import Outcome, WorkResult
from partita.runner.pools import PoolSlots
from partita.runner.recording import Attempt, Retry
from partita.runner.run_context import RunContext

__all__ = ["AttemptFinisher"]


class AttemptFinisher:
    """Takes the attempts that ended and the batches committed.

    Args:
        ctx: the run's shared state.
        committer: publishes and records successes in batches.
        bus: where the batches' events go.
        pools: the run's concurrency pool slots (an ended attempt frees its slot).
        cancel: the run's cancel token (a cancelled run retries nothing).
        retry_later: queues a task again once its retry delay is on the board.
    """

    def __init__(
        self,
        ctx: RunContext,
        committer: Committer,
        bus: EventBus,
        pools: PoolSlots,
        cancel: CancelToken,
        retry_later: Callable[[int], None],
    ) -> None:
        self.ctx = ctx
        self.committer = committer
        self.bus = bus
        self.pools = pools
        self.cancel = cancel
        self.retry_later = retry_later
        self.rng = random.Random()

    def finish(self, handle: int, result: WorkResult) -> None:
        """The attempt of ``handle`` ended with ``result``."""
        ctx = self.ctx
        attempt = ctx.running.pop(handle)
        index = attempt.task
        self.pools.release(index)
        task = ctx.tasks.tasks[index]
        finished = ctx.clock()
        if result.outcome is Outcome.SUCCEEDED:
            upstream = tuple(str(e.upstream) for e in ctx.graph.upstream_edges(task.asset))
            warned = [c for c in result.checks if not c.passed]
            if warned:
                ctx.warnings[index] = tuple(f"{c.check_name}: {c.message}" for c in warned)
            self.committer.submit(FinishedStep(index, task, attempt, result, finished, upstream))
            return
        self.failed(attempt, result, finished)

    def apply(self, batches: list[Committed]) -> None:
        """Publish the events of committed batches; their successes become final."""
        ctx = self.ctx
        for batch in batches:
            for event in batch.events:
                self.bus.publish(event)
            for step, result, record, ids in batch.succeeded:
                asset = str(step.task.asset)
                ctx.leases.released(step.items())
                written = ctx.recorder.succeeded(
                    step.task, step.attempt, result, record, ids, ctx.warnings.get(step.index, ())
                )
                for key, mid, data_version, output_hash in written:
                    ctx.versions.set(asset, key, mid, data_version, output_hash)
                ctx.written.built(
                    ctx.graph.spec(step.task.asset), [m.schema for m in record.materializations]
                )
                ctx.board.succeed(step.index, result.duration_s)
            for step, result in batch.failed:
                self.failed(step.attempt, result, step.finished)

    def failed(self, attempt: Attempt, result: WorkResult, finished: datetime) -> None:
        """An attempt failed (timed out, was cancelled...): retry it, or fail the task."""
        ctx = self.ctx
        index = attempt.task
        task = ctx.tasks.tasks[index]
        timed_out = result.outcome is Outcome.TIMED_OUT
        if result.outcome is Outcome.CANCELLED:
            status = StepStatus.CANCELLED
        else:
            status = StepStatus.TIMED_OUT if timed_out else StepStatus.FAILED
        error = (result.error or str(status)).splitlines()[0]
        policy = ctx.graph.spec(task.asset).retry
        if (
            result.outcome in (Outcome.FAILED, Outcome.TIMED_OUT)
            and result.retryable
            and policy is not None
            and attempt.attempt < policy.max_attempts
            and not self.cancel.cancelled
        ):
            delay = policy.delay_before(attempt.attempt + 1, self.rng)
            retry = Retry(delay_s=delay, max_attempts=policy.max_attempts)
            ctx.recorder.failed(task, attempt, status, result, finished, retry)
            ctx.board.retry(index, time.monotonic() + delay, error)
            self.retry_later(index)
            return
        ctx.recorder.failed(task, attempt, status, result, finished, None)
        ctx.board.runs[index].duration_s = result.duration_s
        skipped = ctx.board.fail(index, error, timed_out=timed_out)
        ctx.leases.release(ctx.items(task))
        for dep in skipped:
            ctx.record_skip(dep, ctx.board.runs[dep].reason)
