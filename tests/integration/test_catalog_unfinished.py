"""A step that did not finish (cancelled, or abandoned by a run that died) makes its
partition `failed` for the planner: its worker may have published before the
coordinator could record, so it is rebuilt until data and catalog agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.catalog import SQLiteCatalog
from partita.records import Materialization, Run, StepAttempt, StepStatus

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "failed"),
    [
        (StepStatus.ABANDONED, True),
        (StepStatus.CANCELLED, True),
        (StepStatus.FAILED, True),
        (StepStatus.SKIPPED, False),
    ],
)
def test_unfinished_attempts_after_a_success(
    tmp_path: Path, status: StepStatus, failed: bool
) -> None:
    with SQLiteCatalog(tmp_path / "c.db") as catalog:
        catalog.start_run(Run(run_id="r1", started_at=T0))
        built = StepAttempt("r1", "a", "2025-01-01", 1, StepStatus.SUCCEEDED, T0, T0)
        catalog.record_step_outcome(
            built, [Materialization("a", "2025-01-01", "r1", "v1", T0)], [[]]
        )
        later = T0 + timedelta(hours=1)
        catalog.start_run(Run(run_id="r2", started_at=later))
        catalog.record_attempt_start(StepAttempt("r2", "a", "2025-01-01", 1, status, later, later))
        rows = catalog.planner_state(["a"]).failed.to_pylist()
    assert bool(rows) is failed
    if failed:
        assert rows[0]["partition"] == "2025-01-01" and rows[0]["status"] == status.value
