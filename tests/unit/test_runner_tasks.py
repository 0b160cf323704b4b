"""Expanding plans into tasks, and the per-task state machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partita.assets import In, asset
from partita.definitions import Definitions
from partita.errors import PartitaError
from partita.graph import AssetGraph
from partita.mappings import TimeWindow
from partita.partitions import DailyPartitions
from partita.planner.plan import Plan, PlanRequest, PlanStep, Reason, StepReason
from partita.runner import TaskBoard, TaskState, expand_plan

NOW = datetime(2025, 2, 1, tzinfo=UTC)
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-06")


def _plan(
    graph: AssetGraph, keys: dict[str, list[str]], stale_only: frozenset[str] = frozenset()
) -> Plan:
    steps = []
    for name, chosen in keys.items():
        spec = graph.spec(name)
        subset = (spec.partitions or DAYS).subset(chosen)
        reason = Reason.UPSTREAM_STALE if name in stale_only else Reason.MISSING
        steps.append(PlanStep(spec.key, subset, (StepReason(reason, subset),)))
    return Plan(now=NOW, request=PlanRequest(), steps=tuple(steps))


def test_diamond_tasks_depend_on_the_partitions_they_read(diamond: AssetGraph) -> None:
    days = ["2025-01-01", "2025-01-02"]
    tasks = expand_plan(_plan(diamond, dict.fromkeys("abcd", days), frozenset({"d"})), diamond)
    assert len(tasks) == 8
    by = {(str(t.asset), t.keys[0]): t for t in tasks.tasks}
    d2 = by[("d", "2025-01-02")]
    assert {tasks.tasks[i].describe() for i in d2.upstream_tasks} == {
        "b[2025-01-02]",
        "c[2025-01-02]",
    }
    assert d2.recheck and not by[("b", "2025-01-02")].recheck


def test_window_mapping_and_batches() -> None:
    @asset(partitions=DAYS, batch=True)
    def raw() -> None: ...

    @asset(partitions=DAYS, ins={"raw": In(mapping=TimeWindow(-1, 0))})
    def rolling(raw: object) -> None: ...

    graph = AssetGraph(Definitions(assets=[raw, rolling]))
    plan = _plan(
        graph,
        {
            "raw": ["2025-01-01", "2025-01-02", "2025-01-04", "2025-01-05"],
            "rolling": ["2025-01-03"],
        },
    )
    tasks = expand_plan(plan, graph)
    batches = [t.keys for t in tasks.tasks if str(t.asset) == "raw"]
    assert batches == [("2025-01-01", "2025-01-02"), ("2025-01-04", "2025-01-05")]
    rolling_task = next(t for t in tasks.tasks if str(t.asset) == "rolling")
    assert rolling_task.reads[0][0].keys == ("2025-01-02", "2025-01-03")
    assert [tasks.tasks[i].label for i in rolling_task.upstream_tasks] == ["2025-01-01..2025-01-02"]


def test_failure_skips_only_dependents(diamond: AssetGraph) -> None:
    days = ["2025-01-01", "2025-01-02"]
    graph = expand_plan(_plan(diamond, dict.fromkeys("abcd", days)), diamond)
    board = TaskBoard(graph)
    index = {(str(t.asset), t.keys[0]): t.index for t in graph.tasks}
    assert sorted(board.take_ready()) == [index[("a", d)] for d in days]
    for day in days:
        board.start(index[("a", day)])
        board.succeed(index[("a", day)], 0.1)
    ready = board.take_ready()
    assert {graph.tasks[i].describe() for i in ready} == {
        "b[2025-01-01]",
        "b[2025-01-02]",
        "c[2025-01-01]",
        "c[2025-01-02]",
    }
    board.start(index[("b", "2025-01-02")])
    skipped = board.fail(index[("b", "2025-01-02")], "boom")
    assert [graph.tasks[i].describe() for i in skipped] == ["d[2025-01-02]"]
    assert board.runs[index[("d", "2025-01-02")]].reason == "upstream failed: b[2025-01-02]"
    assert board.runs[index[("c", "2025-01-02")]].state is TaskState.READY
    with pytest.raises(PartitaError, match="cannot go"):
        board.succeed(index[("d", "2025-01-02")], 0.0)
    cancelled = board.cancel_unfinished("stop")
    assert len(cancelled) == 4 and board.done


def test_retry_goes_back_to_ready_and_a_current_skip_releases_dependents(
    diamond: AssetGraph,
) -> None:
    graph = expand_plan(_plan(diamond, {"a": ["2025-01-01"], "b": ["2025-01-01"]}), diamond)
    board = TaskBoard(graph)
    board.start(0)
    board.retry(0, not_before=5.0, error="flaky")
    assert board.runs[0].state is TaskState.READY and board.runs[0].not_before == 5.0
    assert board.skip(0, "inputs unchanged", outputs_current=True) == []
    assert board.take_ready() == [0, 1]
    assert board.runs[1].state is TaskState.READY
