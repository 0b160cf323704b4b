"""The live state machine of a run: one mutable :class:`TaskRun` per task.

States and their moves::

    pending --(upstream tasks done)--> ready --> running --> succeeded
                                         ^          |------> failed / timed_out
                                         |          |------> cancelled
                                         +-(retry)--+
    pending / ready --> skipped (upstream failed, inputs unchanged, leased elsewhere)
    pending / ready --> cancelled

A failure (``failed`` or ``timed_out``) skips only the tasks that depend on the
failed one, transitively (``upstream failed: <task>``); everything else goes
on. The :class:`~partita.planner.plan.Plan` and the
:class:`~partita.runner.tasks.TaskGraph` are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from partita.errors import PartitaError
from partita.runner.tasks import TaskGraph

__all__ = ["TaskBoard", "TaskRun", "TaskState"]


class TaskState(StrEnum):
    """Where one task is."""

    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the task will not move again."""
        return self in _FINISHED

    @property
    def failed(self) -> bool:
        """``failed`` or its flavour ``timed_out``."""
        return self in (TaskState.FAILED, TaskState.TIMED_OUT)


_FINISHED = frozenset(
    {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.TIMED_OUT,
        TaskState.SKIPPED,
        TaskState.CANCELLED,
    }
)

_MOVES: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset({TaskState.READY, TaskState.SKIPPED, TaskState.CANCELLED}),
    TaskState.READY: frozenset({TaskState.RUNNING, TaskState.SKIPPED, TaskState.CANCELLED}),
    TaskState.RUNNING: frozenset(
        {
            TaskState.SUCCEEDED,
            TaskState.FAILED,
            TaskState.TIMED_OUT,
            TaskState.CANCELLED,
            TaskState.READY,
        }
    ),
}


@dataclass
class TaskRun:
    """The mutable state of one task.

    Attributes:
        state: where it is.
        attempts: attempts started so far.
        waiting_on: upstream tasks not finished yet.
        reason: why it was skipped or cancelled (words for people).
        error: the first line of the last error.
        not_before: monotonic time before which it must not start (retry delay).
        duration_s: seconds of the last attempt.
        skip_ok: a skip that leaves its outputs current (dependents may run).
    """

    state: TaskState
    waiting_on: int
    attempts: int = 0
    reason: str = ""
    error: str | None = None
    not_before: float = 0.0
    duration_s: float = 0.0
    skip_ok: bool = False


class TaskBoard:
    """Every task's state and the moves between states."""

    def __init__(self, graph: TaskGraph) -> None:
        self.graph = graph
        self.runs = [
            TaskRun(
                state=TaskState.READY if not t.upstream_tasks else TaskState.PENDING,
                waiting_on=len(t.upstream_tasks),
            )
            for t in graph.tasks
        ]
        self._ready: list[int] = [i for i, r in enumerate(self.runs) if r.state is TaskState.READY]
        self.unfinished = len(self.runs)

    def _move(self, index: int, to: TaskState) -> TaskRun:
        run = self.runs[index]
        if to not in _MOVES.get(run.state, frozenset()):
            task = self.graph.tasks[index]
            raise PartitaError(
                f"internal error: task {task.describe()} cannot go {run.state} -> {to}"
            )
        run.state = to
        if to.finished:
            self.unfinished -= 1
        return run

    def take_ready(self) -> list[int]:
        """The tasks that became ready since the last call (in plan order)."""
        ready, self._ready = self._ready, []
        return ready

    def start(self, index: int) -> None:
        """A ready task starts an attempt."""
        run = self._move(index, TaskState.RUNNING)
        run.attempts += 1

    def retry(self, index: int, not_before: float, error: str | None) -> None:
        """A running task failed and will be tried again after ``not_before``."""
        run = self._move(index, TaskState.READY)
        run.not_before = not_before
        run.error = error

    def succeed(self, index: int, duration_s: float) -> None:
        """A running task succeeded: dependents whose upstreams are all done become ready."""
        run = self._move(index, TaskState.SUCCEEDED)
        run.duration_s = duration_s
        self._release(index)

    def fail(self, index: int, error: str | None, *, timed_out: bool = False) -> list[int]:
        """A running task failed for good; returns the dependents skipped because of it."""
        run = self._move(index, TaskState.TIMED_OUT if timed_out else TaskState.FAILED)
        run.error = error
        return self._skip_dependents(
            index, f"upstream failed: {self.graph.tasks[index].describe()}"
        )

    def skip(self, index: int, reason: str, *, outputs_current: bool) -> list[int]:
        """Skip a pending or ready task.

        ``outputs_current``: its published data is what dependents should read
        (inputs unchanged, built by another run), so they go on; otherwise they
        are skipped too. Returns the dependents skipped.
        """
        run = self._move(index, TaskState.SKIPPED)
        run.reason = reason
        run.skip_ok = outputs_current
        if outputs_current:
            self._release(index)
            return []
        return self._skip_dependents(
            index, f"upstream skipped: {self.graph.tasks[index].describe()}"
        )

    def cancel_unfinished(self, reason: str) -> list[int]:
        """Cancel every task not finished (running ones included); returns them."""
        cancelled: list[int] = []
        for index, run in enumerate(self.runs):
            if not run.state.finished:
                self._move(index, TaskState.CANCELLED)
                run.reason = reason
                cancelled.append(index)
        self._ready = []
        return cancelled

    def _release(self, index: int) -> None:
        for dep in self.graph.dependents[index]:
            run = self.runs[dep]
            run.waiting_on -= 1
            if run.waiting_on == 0 and run.state is TaskState.PENDING:
                self._move(dep, TaskState.READY)
                self._ready.append(dep)

    def _skip_dependents(self, index: int, reason: str) -> list[int]:
        skipped: list[int] = []
        stack = list(self.graph.dependents[index])
        while stack:
            dep = stack.pop()
            run = self.runs[dep]
            if run.state.finished:
                continue
            self._move(dep, TaskState.SKIPPED)
            run.reason = reason
            skipped.append(dep)
            stack.extend(self.graph.dependents[dep])
        return skipped

    @property
    def done(self) -> bool:
        """Whether every task is finished."""
        return self.unfinished == 0
