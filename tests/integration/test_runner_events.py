"""Run events from real runs: real projects in tmp_path, real executors, a SQLite catalog."""

from __future__ import annotations

import io
import logging
import re
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.api import Project, load_project, materialize, plan_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.cli.progress import LineProgress
from partita.events import (
    CheckEvaluated,
    Event,
    PartitionPublished,
    RunFinished,
    RunStarted,
    StepEvent,
    StepFailed,
    StepRetried,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from partita.records import RunStatus, StepRecord, StepStatus
from partita.runner import RunOptions, run_plan
from tests.conftest import write_project

NOW = datetime(2025, 2, 1, tzinfo=UTC)

MIXED = """
import pandas as pd
from pathlib import Path
from partita import RetryPolicy, asset, in_range
from partita.definitions import Definitions

COUNT = Path(__file__).with_name("count")

@asset(checks=[in_range("amount", min=0, severity="warn")])
def orders() -> pd.DataFrame:
    return pd.DataFrame({"amount": [10.0, -5.0]})

@asset(retry=RetryPolicy(max_attempts=2, delay=0.05))
def flaky(orders: pd.DataFrame) -> pd.DataFrame:
    seen = int(COUNT.read_text()) if COUNT.exists() else 0
    COUNT.write_text(str(seen + 1))
    if seen == 0:
        raise ConnectionError("flaky failure 1")
    return orders

@asset
def broken(orders: pd.DataFrame) -> pd.DataFrame:
    raise ValueError("broken on purpose")

@asset
def after_broken(broken: pd.DataFrame) -> pd.DataFrame:
    return broken

defs = Definitions(assets=[orders, flaky, broken, after_broken])
"""

CHAIN = """
import pandas as pd
from partita import DailyPartitions, asset
from partita.definitions import Definitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-{end:02d}")

@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({{"day": [context.partition_key]}})

@asset(partitions=DAYS)
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    return raw

defs = Definitions(assets=[raw, clean])
"""


def _project(folder: Path, source: str) -> Project:
    write_project(folder, source)
    return load_project(cwd=folder)


def _step_events(events: list[Event], asset: str) -> list[tuple[str, int]]:
    return [
        (type(e).__name__, e.attempt)
        for e in events
        if isinstance(e, StepEvent) and e.asset == asset
    ]


def test_a_run_publishes_its_events_in_order_to_every_subscriber(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", MIXED)
    first: list[Event] = []
    second: list[Event] = []
    result = materialize(
        project,
        executor="process",
        max_workers=2,
        now=NOW,
        subscribers=[first.append, second.append],
    )
    assert result.status == "failed" and result.event_warnings == ()
    assert first == second

    run_id = result.run_id
    assert all(e.run_id == run_id for e in first)
    assert isinstance(first[0], RunStarted) and first[0].tasks == 4
    assert isinstance(first[-1], RunFinished) and first[-1].status == "failed"
    assert [e.at for e in first] == sorted(e.at for e in first)

    assert _step_events(first, "orders") == [
        ("StepStarted", 1),
        ("CheckEvaluated", 1),
        ("PartitionPublished", 1),
        ("StepSucceeded", 1),
    ]
    assert _step_events(first, "flaky") == [
        ("StepStarted", 1),
        ("StepRetried", 1),
        ("StepStarted", 2),
        ("PartitionPublished", 2),
        ("StepSucceeded", 2),
    ]
    assert _step_events(first, "broken") == [("StepStarted", 1), ("StepFailed", 1)]
    assert _step_events(first, "after_broken") == [("StepSkipped", 1)]

    check = next(e for e in first if isinstance(e, CheckEvaluated))
    assert (check.check_name, check.passed, check.severity, check.source) == (
        "in_range_amount",
        False,
        "warn",
        False,
    )
    succeeded = next(e for e in first if isinstance(e, StepSucceeded) and e.asset == "orders")
    assert succeeded.warnings and succeeded.warnings[0].startswith("in_range_amount: ")
    retried = next(e for e in first if isinstance(e, StepRetried))
    assert "flaky failure 1" in retried.error and retried.max_attempts == 2
    assert 0 < retried.delay_s < 1
    failed = next(e for e in first if isinstance(e, StepFailed))
    assert failed.status == "failed" and "ValueError: broken on purpose" in failed.error
    skipped = next(e for e in first if isinstance(e, StepSkipped))
    assert skipped.reason == "upstream failed: broken"
    started = [e for e in first if isinstance(e, StepStarted)]
    assert len(started) == 4

    # each published partition is already in the catalog, as the event says
    with SQLiteCatalog(project.catalog_path) as catalog:
        for event in first:
            if isinstance(event, PartitionPublished):
                latest = catalog.latest_materialization(event.asset, event.partition_key)
                assert latest is not None
                assert latest.materialization_id == event.materialization_id
                assert latest.data_version == event.data_version
                assert latest.rows == event.rows == 2

    # the plain display: one line per task, a success after a retry says on which attempt
    out = io.StringIO()
    display = LineProgress(out)
    for event in first:
        display(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"run {run_id}: 4 tasks"
    assert re.fullmatch(
        r"retrying flaky in \d\.\ds \(attempt 2 of 2\): ConnectionError: flaky failure 1",
        next(line for line in lines if line.startswith("retrying")),
    )
    finished = sorted(re.sub(r"^\[\d/4\] ", "", line) for line in lines if line.startswith("["))
    assert [re.sub(r" \d+\.\d\ds\b", "", line) for line in finished] == [
        "failed broken: ValueError: broken on purpose",
        "skipped after_broken: upstream failed: broken",
        "succeeded flaky (on attempt 2)",  # the first attempt's error is not repeated
        "succeeded orders",
    ]
    assert [line[:5] for line in lines if line.startswith("[")] == [
        "[1/4]",
        "[2/4]",
        "[3/4]",
        "[4/4]",
    ]


def test_a_slow_subscriber_does_not_slow_the_run(tmp_path: Path) -> None:
    days = 10  # 20 tasks, 62 events: a minute if the run waited for the subscriber
    source = CHAIN.format(end=days + 1)  # the end is exclusive
    baseline_project = _project(tmp_path / "base", source)
    started = time.monotonic()
    baseline = materialize(baseline_project, executor="thread", max_workers=2, now=NOW)
    baseline_s = time.monotonic() - started
    assert baseline.counts == {"succeeded": 2 * days}

    taken: list[Event] = []

    def slow(event: Event) -> None:
        time.sleep(1)
        taken.append(event)

    project = _project(tmp_path / "slow", source)
    started = time.monotonic()
    result = materialize(project, executor="thread", max_workers=2, now=NOW, subscribers=[slow])
    slow_s = time.monotonic() - started
    assert result.counts == {"succeeded": 2 * days}
    # the run's own time plus the bounded end-of-run flush (5 s), with a generous margin
    assert slow_s < baseline_s + 5 + 5, (slow_s, baseline_s)
    assert len(taken) < 20
    (warning,) = result.event_warnings
    assert "slow" in warning and "undelivered at run end (flush timed out)" in warning
    with SQLiteCatalog(project.catalog_path) as catalog:
        run = catalog.get_run(result.run_id or "", now=datetime.now(UTC))
        assert run is not None and run.status is RunStatus.SUCCEEDED


def test_a_failing_subscriber_does_not_fail_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(event: Event) -> None:
        raise RuntimeError(f"subscriber bug on {type(event).__name__}")

    project = _project(tmp_path / "p", CHAIN.format(end=4))
    with caplog.at_level(logging.WARNING, logger="partita.events"):
        result = materialize(
            project, executor="process", max_workers=2, now=NOW, subscribers=[explode]
        )
    assert result.status == "succeeded" and result.counts == {"succeeded": 6}
    with SQLiteCatalog(project.catalog_path) as catalog:
        run = catalog.get_run(result.run_id or "", now=datetime.now(UTC))
        assert run is not None and run.status is RunStatus.SUCCEEDED
        for asset in ("raw", "clean"):
            for day in ("2025-01-01", "2025-01-02", "2025-01-03"):
                latest = catalog.latest_materialization(asset, day)
                assert latest is not None and latest.run_id == result.run_id
    (warning,) = result.event_warnings
    assert "explode: raised on 20 events (first: RuntimeError: subscriber bug on RunStarted)" in (
        warning
    )
    assert f"warning: {warning}" in result.summary_lines()
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1  # the first failure, with its traceback; the rest are counted
    assert "raised on RunStarted" in logged[0].getMessage()


class _BrokenDisk(SQLiteCatalog):
    """A real catalog whose batches holding one asset's outcomes fail, as a full disk would."""

    def record_batch(
        self,
        run_id: str,
        steps: Sequence[StepRecord],
        *,
        release: Sequence[tuple[str, str | None]] = (),
    ) -> list[tuple[int, ...]]:
        if any(s.attempt.asset == "clean" and not s.start for s in steps):
            raise sqlite3.OperationalError("database or disk is full")
        return super().record_batch(run_id, steps, release=release)


def test_a_failed_catalog_write_fails_the_run_and_is_never_announced(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", CHAIN.format(end=2))
    seen: list[Event] = []
    with _BrokenDisk(project.catalog_path) as catalog:
        planned = plan_project(project, now=NOW, catalog=catalog)
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            run_plan(
                planned.plan,
                project.graph,
                catalog,
                data_path=project.data_path,
                options=RunOptions(executor="inprocess", handle_signals=False),
                subscribers=[seen.append],
            )
    assert _step_events(seen, "raw") == [
        ("StepStarted", 1),
        ("PartitionPublished", 1),
        ("StepSucceeded", 1),
    ]
    # its outcome was never recorded, so never announced; nor is its start unless a
    # batch recorded it before (its row waits for the batch of its outcome)
    last = seen[-1]
    assert isinstance(last, RunFinished) and last.status == "failed"
    assert "OperationalError: database or disk is full" in (last.error or "")
    with SQLiteCatalog(project.catalog_path) as catalog:
        run = catalog.get_run(last.run_id, now=datetime.now(UTC))
        assert run is not None and run.status is RunStatus.FAILED
        recorded = catalog.attempts(last.run_id, asset="clean")
    announced = _step_events(seen, "clean")
    assert announced == ([("StepStarted", 1)] if recorded else [])
    assert [a.status for a in recorded] in ([], [StepStatus.ABANDONED])
