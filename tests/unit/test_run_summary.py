"""The end-of-run summary's counts read as English."""

from __future__ import annotations

from partita.runner.state import TaskState
from partita.runner.summary import RunOutcome, RunResult, TaskOutcome


def _run(*partitions: tuple[str, ...]) -> RunResult:
    outcomes = tuple(
        TaskOutcome("sales", keys[0], TaskState.SUCCEEDED, attempts=1, partitions=keys)
        for keys in partitions
    )
    return RunResult(run_id="r1", status=RunOutcome.SUCCEEDED, outcomes=outcomes)


def test_one_partition_and_one_task_are_singular() -> None:
    assert _run(("2025-01-01",)).summary_lines()[1] == "built 1 partition in 1 task"
    batch = _run(("2025-01-01", "2025-01-02"))
    assert batch.summary_lines()[1] == "built 2 partitions in 1 task"
    assert _run(("a",), ("b",)).summary_lines()[1] == "built 2 partitions in 2 tasks"


def test_a_failed_step_shows_its_error_and_hint_then_where_its_log_is() -> None:
    error = (
        "column 'amount' of sales changes from DOUBLE to VARCHAR, which no safe widening "
        "covers\n  hint: partita wipe sales, then rebuild it\ntraceback line"
    )
    outcome = TaskOutcome("sales", "2025-01-01", TaskState.FAILED, attempts=1, error=error)
    run = RunResult(run_id="r1", status=RunOutcome.FAILED, outcomes=(outcome,))
    assert run.summary_lines()[2:6] == [
        "failed 1:",
        "  sales[2025-01-01]: column 'amount' of sales changes from DOUBLE to VARCHAR, "
        "which no safe widening covers",
        "    hint: partita wipe sales, then rebuild it",
        "    see: partita logs r1 --asset sales --partition 2025-01-01",
    ]


def test_cancelled_tasks_say_how_many_had_started() -> None:
    started = TaskOutcome("sales", "a", TaskState.CANCELLED, attempts=1)
    waiting = [TaskOutcome("sales", k, TaskState.CANCELLED) for k in ("b", "c")]
    run = RunResult(run_id="r1", status=RunOutcome.CANCELLED, outcomes=(started, *waiting))
    assert "cancelled 3: 1 while running, 2 not started" in run.summary_lines()
    only = RunResult(run_id="r1", status=RunOutcome.CANCELLED, outcomes=tuple(waiting))
    assert "cancelled 2: 2 not started" in only.summary_lines()
