"""Who commits a run's finished steps: the coordinator itself when it would otherwise wait.

Real projects in tmp_path, the in-process executor, a real SQLite catalog.
The catalog subclass only notes which thread records each batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.api import Project, load_project, plan_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.planner import Plan
from partita.records import Materialization, StepRecord
from partita.runner import RunOptions, RunResult, run_plan
from partita.runner.partition_columns import WrittenColumns
from tests.conftest import write_project

NOW = datetime(2025, 2, 1, tzinfo=UTC)

CHAIN = """
import pandas as pd
from partita import asset
from partita.definitions import Definitions

@asset
def a0() -> pd.DataFrame:
    return pd.DataFrame({"x": [0]})

@asset
def a1(a0: pd.DataFrame) -> pd.DataFrame:
    return a0 + 1

@asset
def a2(a1: pd.DataFrame) -> pd.DataFrame:
    return a1 + 1

@asset
def a3(a2: pd.DataFrame) -> pd.DataFrame:
    return a2 + 1

defs = Definitions(assets=[a0, a1, a2, a3])
"""

INDEPENDENT = """
from partita import asset
from partita.definitions import Definitions

def _noop() -> None:
    return None

defs = Definitions(assets=[asset(key=f"n{i}", code_version="1")(_noop) for i in range(300)])
"""


class _NotingThreads(SQLiteCatalog):
    """A real catalog that notes the thread recording each batch of step outcomes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.outcome_threads: list[str] = []
        self.outcome_sizes: list[int] = []

    def record_batch(
        self,
        run_id: str,
        steps: Sequence[StepRecord],
        *,
        release: Sequence[tuple[str, str | None]] = (),
    ) -> list[tuple[int, ...]]:
        if any(not s.start for s in steps):
            self.outcome_threads.append(threading.current_thread().name)
            self.outcome_sizes.append(sum(1 for s in steps if not s.start))
        return super().record_batch(run_id, steps, release=release)


def _project(folder: Path, source: str) -> Project:
    write_project(folder, source)
    return load_project(cwd=folder)


def _run_inprocess(project: Project, catalog: SQLiteCatalog, plan: Plan) -> RunResult:
    """Run ``plan`` with the in-process executor (no signal handlers)."""
    return run_plan(
        plan,
        project.graph,
        catalog,
        data_path=project.data_path,
        options=RunOptions(executor="inprocess", handle_signals=False),
    )


def test_a_chain_is_committed_by_the_coordinator_not_handed_to_the_thread(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "p", CHAIN)
    with _NotingThreads(project.catalog_path) as catalog:
        planned = plan_project(project, now=NOW, catalog=catalog)
        result = _run_inprocess(project, catalog, planned.plan)
        assert result.status == "succeeded"
        # each step waits for its upstream's commit: nothing else to do meanwhile,
        # so the coordinator's thread commits each one itself, one batch a step
        here = threading.current_thread().name
        assert catalog.outcome_threads == [here] * 4
        for name in ("a0", "a1", "a2", "a3"):
            assert catalog.latest_materialization(name, None) is not None
    frame = project.data_path / "a3" / "data.parquet"
    assert frame.exists()


def test_a_long_queue_of_independent_steps_all_run_and_are_recorded(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", INDEPENDENT)
    with _NotingThreads(project.catalog_path) as catalog:
        planned = plan_project(project, now=NOW, catalog=catalog)
        result = _run_inprocess(project, catalog, planned.plan)
        assert result.status == "succeeded"
        planned_order = [o.asset for o in result.outcomes]
        assert sorted(planned_order) == sorted(f"n{i}" for i in range(300))
        assert all(o.status == "succeeded" for o in result.outcomes)
        # started one at a time from the front of the queue, in plan order, each recorded
        recorded = catalog.attempts(result.run_id or "")
        assert [a.asset for a in recorded] == planned_order
        assert all(a.status == "succeeded" for a in recorded)
        # recorded in batches, not a transaction a step (GROUP_STEPS, LINGER_S)
        assert sum(catalog.outcome_sizes) == 300
        assert len(catalog.outcome_sizes) <= 300 // 4, catalog.outcome_sizes


SLOW_AFTER_FAST = """
import os, time
from partita import asset
from partita.catalog.sqlite import SQLiteCatalog
from partita.definitions import Definitions

@asset
def a_fast() -> None:
    return None

@asset
def b_slow() -> None:
    # runs in the coordinator's thread right after a_fast: a_fast's batch is
    # committed by the thread meanwhile, within the linger, not after this step
    deadline = time.monotonic() + 20
    with SQLiteCatalog(os.environ["PARTITA_TEST_CATALOG"]) as catalog:
        while catalog.latest_materialization("a_fast", None) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("a_fast was not recorded while b_slow ran")
            time.sleep(0.01)
    return None

defs = Definitions(assets=[a_fast, b_slow])
"""


def test_a_step_is_recorded_within_the_linger_while_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "p", SLOW_AFTER_FAST)
    monkeypatch.setenv("PARTITA_TEST_CATALOG", str(project.catalog_path))
    with _NotingThreads(project.catalog_path) as catalog:
        planned = plan_project(project, now=NOW, catalog=catalog)
        assert [str(s.asset) for s in planned.plan.steps] == ["a_fast", "b_slow"]
        result = _run_inprocess(project, catalog, planned.plan)
        assert result.status == "succeeded", result.summary_lines()
        assert catalog.outcome_threads[0] == "partita-commit"
        assert catalog.outcome_sizes[0] == 1


class _CtrlCInCommit(SQLiteCatalog):
    """A real catalog; Ctrl-C arrives while the batch holding ``a1``'s success is recorded
    (once: the rows of the cancelled run are recorded after it)."""

    interrupted = False

    def record_batch(
        self,
        run_id: str,
        steps: Sequence[StepRecord],
        *,
        release: Sequence[tuple[str, str | None]] = (),
    ) -> list[tuple[int, ...]]:
        if not self.interrupted and any(
            s.attempt.asset == "a1" and s.materializations for s in steps
        ):
            self.interrupted = True
            raise KeyboardInterrupt
        return super().record_batch(run_id, steps, release=release)


def test_ctrl_c_during_a_commit_made_here_cancels_the_run_and_a_rerun_builds_the_rest(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "p", CHAIN)
    with _CtrlCInCommit(project.catalog_path) as catalog:
        planned = plan_project(project, now=NOW, catalog=catalog)
        result = _run_inprocess(project, catalog, planned.plan)
    assert result.status == "cancelled"
    assert catalog.interrupted
    statuses = {o.asset: o.status for o in result.outcomes}
    assert statuses == {
        "a0": "succeeded",
        "a1": "cancelled",
        "a2": "cancelled",
        "a3": "cancelled",
    }
    with SQLiteCatalog(project.catalog_path) as catalog:
        assert catalog.latest_materialization("a1", None) is None
        planned = plan_project(project, now=NOW, catalog=catalog)
        assert sorted(str(s.asset) for s in planned.plan.steps) == ["a1", "a2", "a3"]
        again = _run_inprocess(project, catalog, planned.plan)
        assert again.status == "succeeded"
        assert catalog.latest_materialization("a3", None) is not None


class _NoLookups(SQLiteCatalog):
    """A real catalog that counts the latest-materialization lookups."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lookups = 0

    def latest_materialization(
        self, asset: str, partition: str | None = None
    ) -> Materialization | None:
        self.lookups += 1
        return super().latest_materialization(asset, partition)


DAILY = """
import pandas as pd
from partita import DailyPartitions, asset
from partita.definitions import Definitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")

@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({"date": [context.partition_key], "v": [1]})

@asset(partitions=DAYS)
def plain(context) -> pd.DataFrame:
    return pd.DataFrame({"v": [2]})

defs = Definitions(assets=[raw, plain])
"""


def test_written_columns_are_judged_from_the_build_in_hand(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", DAILY)
    raw, plain = project.graph.spec("raw"), project.graph.spec("plain")
    with _NoLookups(project.catalog_path) as catalog:
        written = WrittenColumns(catalog)
        with_date = '[{"name": "date", "type": "string"}, {"name": "v", "type": "int64"}]'
        written.built(raw, [with_date])
        written.built(plain, ['[{"name": "v", "type": "int64"}]'])
        assert written.of(raw, ["2025-01-02"]) == ("date",)
        assert written.of(plain, ["2025-01-02"]) == ()
        assert catalog.lookups == 0
        written.built(raw, [None])  # a build without data: ask the catalog next time
        assert written.of(raw, ["2025-01-02"]) == ()
        assert catalog.lookups == 1
