"""Showing a run's progress: a bar on a terminal, plain lines otherwise.

The display is an event subscriber (:mod:`partita.events`): the runner publishes
run and step events and :class:`RunDisplay` turns them into what people read.
:func:`progress_for` picks :class:`RichProgress` (tasks done / total and
failures, on a terminal) or :class:`LineProgress` (one line per finished task,
for logs and CI). It runs on the event bus's thread, never slowing the run.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from partita.events import (
    CheckEvaluated,
    Event,
    RunCancelling,
    RunFinished,
    RunStarted,
    StepCancelled,
    StepFailed,
    StepRetried,
    StepSkipped,
    StepSucceeded,
    StepWaiting,
)

__all__ = ["LineProgress", "RichProgress", "RunDisplay", "progress_for"]


class RunDisplay:
    """An event subscriber that shows a run: subclasses say how.

    A task is finished by :class:`StepSucceeded`, :class:`StepFailed`,
    :class:`StepSkipped` or :class:`StepCancelled`; retries, lease waits,
    failed checks of sources and cancellation are notes.
    """

    def __call__(self, event: Event, /) -> None:
        """Show ``event``."""
        match event:
            case RunStarted():
                self.started(event.run_id, event.tasks)
            case StepSucceeded():
                self.finished("succeeded", event.label, event.duration_s, None, event.attempt)
            case StepFailed():
                self.finished(event.status, event.label, event.duration_s, event.error)
            case StepSkipped() | StepCancelled():
                status = "skipped" if isinstance(event, StepSkipped) else "cancelled"
                self.finished(status, event.label, 0.0, event.reason)
            case StepRetried():
                first = event.error.splitlines()[0] if event.error else ""
                self.note(
                    f"retrying {event.label} in {event.delay_s:.1f}s "
                    f"(attempt {event.attempt + 1} of {event.max_attempts}): {first}"
                )
            case StepWaiting(pool=str(pool)):
                self.note(f"waiting: {event.label} for a slot of pool {pool} ({event.holder})")
            case StepWaiting():
                self.note(f"waiting: {event.label} is being built by run {event.holder}")
            case CheckEvaluated() if event.source and not event.passed:
                label = "check failed" if event.blocking else "check warning"
                self.note(f"{label} on source {event.label}: {event.check_name}: {event.message}")
            case RunCancelling():
                self.note(f"cancelling run {event.run_id}: {event.reason}")
            case RunFinished():
                self.close()
            case _:
                pass

    def started(self, run_id: str, total: int) -> None:
        """The run started with ``total`` tasks."""

    def finished(
        self, status: str, label: str, duration_s: float, detail: str | None, attempt: int = 1
    ) -> None:
        """One task ended: ``status``, its label, seconds, the error or the reason, and
        the attempt that ended it (a success after retries says so; an earlier
        attempt's error is not repeated)."""

    def note(self, text: str) -> None:
        """Something worth a line (a retry, a lease wait, cancelling)."""

    def close(self) -> None:
        """The run ended."""


class LineProgress(RunDisplay):
    """One plain line per finished task (or only per failure with ``failures_only``)."""

    def __init__(self, stream: TextIO | None = None, *, failures_only: bool = False) -> None:
        self.stream = stream
        self.failures_only = failures_only
        self.total = 0
        self.done = 0

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()

    def started(self, run_id: str, total: int) -> None:
        """Say which run starts."""
        self.total = total
        self._write(f"run {run_id}: {total} tasks")

    def finished(
        self, status: str, label: str, duration_s: float, detail: str | None, attempt: int = 1
    ) -> None:
        """``[3/10] succeeded clean_orders[2025-03-01] 0.12s``, ``... 0.12s (on attempt 2)``."""
        self.done += 1
        if self.failures_only and status not in ("failed", "timed_out"):
            return
        text = f"[{self.done}/{self.total}] {status} {label}"
        if status == "succeeded":
            text += f" {duration_s:.2f}s"
            if attempt > 1:
                text += f" (on attempt {attempt})"
        if detail:
            text += f": {detail.splitlines()[0]}"
        self._write(text)

    def note(self, text: str) -> None:
        """A plain line."""
        self._write(text)


class RichProgress(RunDisplay):
    """A progress bar: tasks done / total, failures; a line per failure above it."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failures]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._failures = 0

    def started(self, run_id: str, total: int) -> None:
        """Start the bar."""
        self._progress.start()
        self._task = self._progress.add_task(f"run {run_id}", total=total, failures="")

    def finished(
        self, status: str, label: str, duration_s: float, detail: str | None, attempt: int = 1
    ) -> None:
        """Advance the bar; print failures, and successes after retries (a retry was shown)."""
        if self._task is None:
            return
        if status in ("failed", "timed_out"):
            self._failures += 1
            first = (detail or status).splitlines()[0]
            self._progress.console.print(Text.assemble((status, "red"), f" {label}: {first}"))
        elif status == "succeeded" and attempt > 1:
            line = Text.assemble((status, "green"), f" {label} on attempt {attempt}")
            self._progress.console.print(line)
        failures = f"[red]{self._failures} failed[/red]" if self._failures else ""
        self._progress.update(self._task, advance=1, failures=failures)

    def note(self, text: str) -> None:
        """Print a line above the bar."""
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        """Stop the bar."""
        self._progress.stop()


def progress_for(stream: TextIO | None = None) -> RunDisplay:
    """A bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    target = stream or sys.stderr
    if target.isatty():
        return RichProgress(Console(file=target))
    return LineProgress(target)
