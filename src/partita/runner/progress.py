"""Showing a run's progress: a bar on a terminal, plain lines otherwise.

The coordinator reports to a :class:`ProgressSink`; :func:`progress_for`
picks :class:`RichProgress` (tasks done / total and failures, on a terminal) or
:class:`LineProgress` (one line per finished task, for logs and CI).
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

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

from partita.runner.summary import TaskOutcome

__all__ = ["LineProgress", "NullProgress", "ProgressSink", "RichProgress", "progress_for"]


class ProgressSink(Protocol):
    """What the coordinator tells about a run while it runs."""

    def started(self, run_id: str, total: int) -> None:
        """The run started with ``total`` tasks."""
        ...

    def finished(self, outcome: TaskOutcome) -> None:
        """One task ended (succeeded, failed, skipped or cancelled)."""
        ...

    def note(self, text: str) -> None:
        """Something worth a line (waiting for another run's lease, cancelling)."""
        ...

    def close(self) -> None:
        """The run ended."""
        ...


class NullProgress:
    """Shows nothing."""

    def started(self, run_id: str, total: int) -> None:
        """Nothing."""

    def finished(self, outcome: TaskOutcome) -> None:
        """Nothing."""

    def note(self, text: str) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


class LineProgress:
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

    def finished(self, outcome: TaskOutcome) -> None:
        """``[3/10] succeeded clean_orders[2025-03-01] 0.12s``."""
        self.done += 1
        if self.failures_only and outcome.status not in ("failed", "timed_out"):
            return
        detail = outcome.error or outcome.reason
        text = f"[{self.done}/{self.total}] {outcome.status} {outcome.label}"
        if outcome.status == "succeeded":
            text += f" {outcome.duration_s:.2f}s"
        if detail:
            text += f": {detail.splitlines()[0]}"
        self._write(text)

    def note(self, text: str) -> None:
        """A plain line."""
        self._write(text)

    def close(self) -> None:
        """Nothing to tidy."""


class RichProgress:
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

    def finished(self, outcome: TaskOutcome) -> None:
        """Advance the bar; print failures."""
        if self._task is None:
            return
        if outcome.status in ("failed", "timed_out"):
            self._failures += 1
            first = (outcome.error or outcome.status).splitlines()[0]
            self._progress.console.print(
                Text.assemble((outcome.status, "red"), f" {outcome.label}: {first}")
            )
        failures = f"[red]{self._failures} failed[/red]" if self._failures else ""
        self._progress.update(self._task, advance=1, failures=failures)

    def note(self, text: str) -> None:
        """Print a line above the bar."""
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        """Stop the bar."""
        self._progress.stop()


def progress_for(stream: TextIO | None = None) -> ProgressSink:
    """A bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    target = stream or sys.stderr
    if target.isatty():
        return RichProgress(Console(file=target))
    return LineProgress(target)
