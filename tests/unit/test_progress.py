"""The run display (partita.cli.progress) fed with run events, as the event bus feeds it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from partita.cli.progress import LineProgress, RichProgress, RunDisplay
from partita.events import Event, RunStarted, StepRetried, StepSucceeded

AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
RUN = "20261125T020000-abcdef"


def _events() -> list[Event]:
    common = {"run_id": RUN, "at": AT, "asset": "clean_sales"}
    return [
        RunStarted(run_id=RUN, at=AT, tasks=2),
        StepSucceeded(**common, partition="2026-11-24", attempt=1, started_at=AT, duration_s=0.1),
        StepRetried(
            **common,
            partition="2026-11-25",
            attempt=1,
            error="ConnectionError: simulated transient failure",
            delay_s=1.0,
            max_attempts=3,
        ),
        StepSucceeded(**common, partition="2026-11-25", attempt=2, started_at=AT, duration_s=0.17),
    ]


def _show(display: RunDisplay) -> None:
    for event in _events():
        display(event)
    display.close()


def test_plain_lines_say_on_which_attempt_a_retried_task_succeeded() -> None:
    out = io.StringIO()
    _show(LineProgress(out))
    assert out.getvalue().splitlines() == [
        f"run {RUN}: 2 tasks",
        "[1/2] succeeded clean_sales[2026-11-24] 0.10s",
        "retrying clean_sales[2026-11-25] in 1.0s (attempt 2 of 3): "
        "ConnectionError: simulated transient failure",
        "[2/2] succeeded clean_sales[2026-11-25] 0.17s (on attempt 2)",
    ]


def test_the_bar_says_on_which_attempt_a_retried_task_succeeded() -> None:
    out = io.StringIO()
    _show(RichProgress(Console(file=out, width=200, color_system=None)))
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert "succeeded clean_sales[2026-11-25] on attempt 2" in lines
    assert not any("2026-11-24" in line for line in lines)  # a first-attempt success is quiet
    assert sum("simulated transient failure" in line for line in lines) == 1  # the retry note
