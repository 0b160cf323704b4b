"""The result of a run: per-task outcomes, counts, the summary people read.

:class:`RunResult` is what :func:`partita.api.materialize` returns and what
``partita materialize --json`` prints; :meth:`RunResult.summary_lines` is the
text summary at the end of a run (built, skipped and why, failed with the
error's first line and the ``partita logs`` command that shows the rest).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from partita.runner.state import TaskRun, TaskState
from partita.runner.tasks import Task

__all__ = ["RunOutcome", "RunResult", "TaskOutcome", "logs_command"]


def logs_command(run_id: str, asset: str, partition: str | None) -> str:
    """The command that prints one task's log."""
    command = f"partita logs {run_id} --asset {asset}"
    if partition is not None:
        command += f" --partition {partition}"
    return command


class RunOutcome(StrEnum):
    """How a run ended, as :class:`RunResult` reports it."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOTHING_TO_DO = "nothing_to_do"
    """Nothing was stale: no run was started or recorded."""


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How one task ended.

    Attributes:
        asset: the asset key.
        partition: ``None`` when unpartitioned; a key, or ``first..last`` for a batch.
        status: a finished :class:`~partita.runner.state.TaskState` (``succeeded``,
            ``failed``, ``timed_out``, ``skipped`` or ``cancelled``).
        attempts: attempts made.
        reason: why it was skipped or cancelled.
        error: the first line of the last error.
        duration_s: seconds of the last attempt.
        partitions: the partitions the task built (more than one for a batch).
        warnings: ``check: message`` of each ``warn`` check that failed (the
            data was published).
    """

    asset: str
    partition: str | None
    status: TaskState
    attempts: int = 0
    reason: str = ""
    error: str | None = None
    duration_s: float = 0.0
    partitions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, task: Task, run: TaskRun, warnings: tuple[str, ...] = ()) -> TaskOutcome:
        """How ``task`` ended, from its live state ``run``."""
        return cls(
            asset=str(task.asset),
            partition=task.label,
            status=run.state,
            attempts=run.attempts,
            reason=run.reason,
            error=run.error,
            duration_s=run.duration_s,
            partitions=task.keys if task.partitioned else (),
            warnings=warnings,
        )

    @property
    def label(self) -> str:
        """``asset`` or ``asset[partition]``."""
        return self.asset if self.partition is None else f"{self.asset}[{self.partition}]"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset": self.asset,
            "partition": self.partition,
            "status": self.status,
            "attempts": self.attempts,
            "reason": self.reason,
            "error": self.error,
            "duration_s": round(self.duration_s, 6),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class RunResult:
    """A finished run (or the news that nothing was stale).

    Attributes:
        run_id: the run's id (``None`` when nothing ran).
        status: a :class:`RunOutcome` (``succeeded``, ``failed``, ``cancelled``, or
            ``nothing_to_do``).
        outcomes: one per task, in plan order.
        started_at / finished_at: when.
        blocked: lines about partitions that could not be planned (missing upstream).
        event_warnings: one line per event subscriber that raised or missed
            events (:class:`~partita.events.DeliveryReport`); the run is not affected.
    """

    run_id: str | None
    status: RunOutcome
    outcomes: tuple[TaskOutcome, ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None
    blocked: tuple[str, ...] = ()
    event_warnings: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Tasks by status."""
        return dict(Counter(o.status for o in self.outcomes))

    @property
    def success(self) -> bool:
        """True when nothing failed and the run was not cancelled (or nothing was stale)."""
        return self.status in ("succeeded", "nothing_to_do")

    @property
    def exit_code(self) -> int:
        """0 on success, 1 otherwise (a failure, a timeout, a cancellation)."""
        return 0 if self.success else 1

    @property
    def built(self) -> list[TaskOutcome]:
        """The tasks that succeeded."""
        return [o for o in self.outcomes if o.status == "succeeded"]

    @property
    def failed(self) -> list[TaskOutcome]:
        """The tasks that failed or timed out."""
        return [o for o in self.outcomes if o.status in ("failed", "timed_out")]

    @property
    def skipped(self) -> list[TaskOutcome]:
        """The tasks skipped (with their reasons)."""
        return [o for o in self.outcomes if o.status == "skipped"]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: run id, status, counts, per-task outcomes."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "counts": self.counts,
            "partitions_built": sum(max(1, len(o.partitions)) for o in self.built),
            "started_at": None if self.started_at is None else self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "blocked": list(self.blocked),
            "event_warnings": list(self.event_warnings),
            "tasks": [o.to_json() for o in self.outcomes],
        }

    def summary_lines(self, *, max_lines: int = 20) -> list[str]:
        """The end-of-run summary, one line per item (long lists are shortened)."""
        if self.status == "nothing_to_do":
            lines = [
                "nothing to do: every selected partition is up to date"
                if not self.blocked
                else "nothing to do: the stale partitions are blocked by missing upstream data"
            ]
            lines += [f"blocked: {b}" for b in self.blocked]
            return lines
        lines = [f"run {self.run_id} {self.status}"]
        built = self.built
        partitions = sum(max(1, len(o.partitions)) for o in built)
        lines.append(f"built {_count(partitions, 'partition')} in {_count(len(built), 'task')}")
        reasons = Counter(o.reason or "skipped" for o in self.skipped)
        for reason, count in sorted(reasons.items()):
            lines.append(f"skipped {count}: {reason}")
        cancelled = [o for o in self.outcomes if o.status == "cancelled"]
        if cancelled:
            running = sum(1 for o in cancelled if o.attempts)
            waiting = len(cancelled) - running
            # `partita runs` counts the attempts the catalog holds: those that started
            parts = [f"{running} while running"] if running else []
            parts += [f"{waiting} not started"] if waiting else []
            lines.append(f"cancelled {len(cancelled)}: {', '.join(parts)}")
        failed = self.failed
        if failed:
            lines.append(f"failed {len(failed)}:")
            for outcome in failed[:max_lines]:
                text = (outcome.error or outcome.status).splitlines()
                lines.append(f"  {outcome.label}: {text[0]}")
                hint = next((t.strip() for t in text[1:] if t.strip().startswith("hint: ")), "")
                if hint:  # what to do about it (a Partita error's hint)
                    lines.append(f"    {hint}")
                if self.run_id is not None:
                    lines.append(
                        "    see: " + logs_command(self.run_id, outcome.asset, outcome.partition)
                    )
            if len(failed) > max_lines:
                lines.append(f"  ... and {len(failed) - max_lines} more")
        warned = [o for o in self.outcomes if o.warnings]
        if warned:
            lines.append(f"check warnings on {len(warned)} tasks (published):")
            for outcome in warned[:max_lines]:
                lines.extend(f"  {outcome.label}: {text}" for text in outcome.warnings)
            if len(warned) > max_lines:
                lines.append(f"  ... and {len(warned) - max_lines} more")
        lines += [f"blocked: {b}" for b in self.blocked]
        lines += [f"warning: {w}" for w in self.event_warnings]
        return lines


def _count(number: int, noun: str) -> str:
    """``1 partition``, ``2 partitions``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
