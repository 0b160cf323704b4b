"""Issue 13 item 1: a killed coordinator's step must never overwrite the rerun's fix.

Kill -9 the coordinator while a worker is inside a long step, change the code,
rerun to completion, then wait past the old step's end: the store must hold the
new code's output, the catalog must agree, and no process of the killed run may
be left. On the thread and in-process executors the step dies with the
coordinator; on the process executor it must too (or its publish be fenced).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.chaos import pipeline
from tests.chaos.invariants import (
    Violation,
    catalog_integrity,
    catalog_matches_store,
    nothing_planned,
    published_data_is_clean,
)
from tests.chaos.processes import kill_marked
from tests.chaos.project import ChaosProject, Executor, StoreKind
from tests.chaos.trials import rerun_watching_orphans, steps_in_trace

pytestmark = pytest.mark.chaos

LONG_STEP = ("raw", "2025-01-02")
LONG_S = 12.0
PUBLISH_MARGIN_S = 4.0


def _wait_for_long_step(project: ChaosProject, limit: float = 120) -> float:
    """Wait until the long step starts; when it started (``time.time()``)."""
    deadline = time.monotonic() + limit
    asset, day = LONG_STEP
    while time.monotonic() < deadline:
        text = project.trace_path.read_text() if project.trace_path.exists() else ""
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[:3] == ["start", asset, day]:
                return float(parts[4])
        time.sleep(0.05)
    raise AssertionError(f"{asset}[{day}] never started")


@pytest.mark.parametrize("executor", ["process", "thread", "inprocess"])
@pytest.mark.parametrize("store", ["parquet", "duckdb"])
def test_a_step_of_a_killed_coordinator_never_overwrites_the_rerun(
    store: StoreKind, executor: Executor, tmp_path: Path
) -> None:
    project = ChaosProject.create(tmp_path / "project", store, variant=1)
    materialize = ["materialize", "--executor", executor, "--max-workers", "2"]
    killed_run = f"chaos-long-{store}-{executor}-{os.getpid()}"
    process = project.start(
        materialize,
        marker=killed_run,
        step_s=0.02,
        long_step=":".join(LONG_STEP),
        long_s=LONG_S,
    )
    found: list[Violation] = []
    try:
        step_started = _wait_for_long_step(project)
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        killed_at = time.monotonic()
        pids = sorted({line.pid for line in steps_in_trace(project.trace_path)})

        project.write_code(variant=2)
        found += rerun_watching_orphans(
            project, materialize, killed_run=killed_run, ended_at=killed_at
        )

        time.sleep(max(0.0, step_started + LONG_S + PUBLISH_MARGIN_S - time.time()))
        store_ = project.store()
        variants = {1: pipeline.expected_frames(1), 2: pipeline.expected_frames(2)}
        found += published_data_is_clean(store_, variants, current=2)
        found += catalog_matches_store(project, store_)
        found += catalog_integrity(project)
        found += nothing_planned(project, f"{killed_run}-plan")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        kill_marked(killed_run)
    if found:
        listed = "\n".join(f"  - {v}" for v in found)
        pytest.fail(
            f"store={store} executor={executor}: coordinator killed 0.5s into the "
            f"{LONG_S:.0f}s step {LONG_STEP[0]}[{LONG_STEP[1]}] (step pids {pids}), code "
            f"changed, rerun, checked {PUBLISH_MARGIN_S:.0f}s past the old step's end\n"
            f"{len(found)} invariant(s) broken:\n{listed}",
            pytrace=False,
        )
