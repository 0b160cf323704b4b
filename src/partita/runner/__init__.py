"""The runner: executing a :class:`~partita.planner.plan.Plan`.

A plan is expanded into tasks (one per asset partition, one per range for
batched assets) with their dependencies; a live state machine per task lives
only here (the plan stays immutable). Work runs on an executor (a process pool
by default, threads, or in-process); workers compute and write data through
the stores and return results; only the coordinator writes the catalog, and
it publishes each thing it records as an event (:mod:`partita.events`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from partita.lazy import lazy_module

if TYPE_CHECKING:
    from partita.runner.checking import (
        CheckRequest,
        StagedChecks,
        check_record,
        partition_path,
        run_asset_checks,
    )
    from partita.runner.coordinator import CancelToken, RunCatalog, RunOptions, run_plan
    from partita.runner.executor_protocol import Executor
    from partita.runner.executors import ExecutorKind, InProcessExecutor, ThreadExecutor
    from partita.runner.messages import Outcome, ReadRequest, WorkItem, WorkResult
    from partita.runner.process_executor import ProcessExecutor, ProjectRef
    from partita.runner.state import TaskBoard, TaskRun, TaskState
    from partita.runner.summary import RunOutcome, RunResult, TaskOutcome, logs_command
    from partita.runner.tasks import EdgeRead, Task, TaskGraph, expand_plan
    from partita.runner.worker import WorkerRuntime, resolve_store

# Imported on first use, so that a worker process (which imports
# partita.runner.worker) does not load the coordinator and the planner.
_LAZY: dict[str, str] = {
    "CancelToken": "partita.runner.coordinator",
    "CheckRequest": "partita.runner.checking",
    "EdgeRead": "partita.runner.tasks",
    "Executor": "partita.runner.executor_protocol",
    "ExecutorKind": "partita.runner.executors",
    "InProcessExecutor": "partita.runner.executors",
    "Outcome": "partita.runner.messages",
    "ProcessExecutor": "partita.runner.process_executor",
    "ProjectRef": "partita.runner.process_executor",
    "ReadRequest": "partita.runner.messages",
    "RunCatalog": "partita.runner.coordinator",
    "RunOptions": "partita.runner.coordinator",
    "RunOutcome": "partita.runner.summary",
    "RunResult": "partita.runner.summary",
    "StagedChecks": "partita.runner.checking",
    "Task": "partita.runner.tasks",
    "TaskBoard": "partita.runner.state",
    "TaskGraph": "partita.runner.tasks",
    "TaskOutcome": "partita.runner.summary",
    "TaskRun": "partita.runner.state",
    "TaskState": "partita.runner.state",
    "ThreadExecutor": "partita.runner.executors",
    "WorkItem": "partita.runner.messages",
    "WorkResult": "partita.runner.messages",
    "WorkerRuntime": "partita.runner.worker",
    "check_record": "partita.runner.checking",
    "expand_plan": "partita.runner.tasks",
    "logs_command": "partita.runner.summary",
    "partition_path": "partita.runner.checking",
    "resolve_store": "partita.runner.worker",
    "run_asset_checks": "partita.runner.checking",
    "run_plan": "partita.runner.coordinator",
}

__getattr__, __dir__ = lazy_module("partita.runner", _LAZY, globals())

__all__ = [
    "CancelToken",
    "CheckRequest",
    "EdgeRead",
    "Executor",
    "ExecutorKind",
    "InProcessExecutor",
    "Outcome",
    "ProcessExecutor",
    "ProjectRef",
    "ReadRequest",
    "RunCatalog",
    "RunOptions",
    "RunOutcome",
    "RunResult",
    "StagedChecks",
    "Task",
    "TaskBoard",
    "TaskGraph",
    "TaskOutcome",
    "TaskRun",
    "TaskState",
    "ThreadExecutor",
    "WorkItem",
    "WorkResult",
    "WorkerRuntime",
    "check_record",
    "expand_plan",
    "logs_command",
    "partition_path",
    "resolve_store",
    "run_asset_checks",
    "run_plan",
]
