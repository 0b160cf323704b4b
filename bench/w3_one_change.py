"""W3: one upstream partition changed (BENCHMARKS.md).

After W1's backfill (a salted copy of the project: ``raw`` adds a per-day salt
read from ``salt.json``, 0 by default, so the data is W1's), the benchmark
gives 2025-06-15 a new salt and rebuilds ``raw`` for that day
(``materialize raw --partition 2025-06-15 --force``: new data), then times
planning and running everything stale. Asserted: exactly ``clean`` and
``daily_agg`` of that day run (3 steps counting ``raw``).

* W3b: ``daily_agg`` reads a 7-day window of ``clean``
  (``TimeWindow(start_offset=-6)``): exactly ``clean`` of the day and the 7
  ``daily_agg`` partitions whose window holds it rebuild.
* W3c (early cutoff): ``raw``'s ``code_version`` changes but its output does
  not; materializing that day runs ``raw``, plans ``clean`` and ``daily_agg``
  as ``upstream_stale`` and skips both at run time ("inputs unchanged").

Each repetition uses a fresh project folder. The runs use the ``inprocess``
executor: with a handful of tasks the process pool's start-up would dominate
(W1 and W5 measure that executor).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.projects import CHANGED_DAY, FIRST_DAY, write_chain_project
from partita import api
from partita.api import Project, RunResult
from partita.planner import Reason

NAME = "W3"
DESCRIPTION = "one raw day rewritten: rebuild exactly its cone (identity, 7-day window, cutoff)"

NOW = datetime(2026, 1, 2, tzinfo=UTC)
EXECUTOR = "inprocess"


def _materialize(
    project: Project,
    selection: str | None = None,
    partition: str | None = None,
    *,
    force: bool = False,
) -> RunResult:
    result = api.materialize(
        project,
        selection,
        partition_key=partition,
        force=force,
        executor=EXECUTOR,
        now=NOW,
        handle_signals=False,
    )
    assert result.success, "\n".join(result.summary_lines())
    return result


def _first(days: int) -> date:
    """2025-01-01 for the whole year; quick sizes end on 2025-06-21 (W3b's last reader)."""
    return FIRST_DAY if days >= 365 else date(2025, 6, 22) - timedelta(days=days)


def _built(result: RunResult) -> set[tuple[str, str | None]]:
    return {(o.asset, o.partition) for o in result.built}


def _backfilled(folder: Path, days: int, window: int) -> tuple[Path, Project]:
    defs = write_chain_project(folder, days, first=_first(days), window=window, salted=True)
    project = api.load_project(file=defs)
    result = _materialize(project)
    assert result.counts == {"succeeded": 3 * days}, result.counts
    return defs, project


def _one_change(folder: Path, days: int, window: int) -> tuple[float, float]:
    """Backfill, rewrite raw of CHANGED_DAY with new data, run what is stale; (rewrite, run) s."""
    defs, project = _backfilled(folder, days, window)
    (defs.parent / "salt.json").write_text(f'{{"{CHANGED_DAY}": 1}}')
    started = time.perf_counter()
    rewrite = _materialize(project, "raw", CHANGED_DAY, force=True)
    rewrite_s = time.perf_counter() - started
    assert _built(rewrite) == {("raw", CHANGED_DAY)}, _built(rewrite)

    started = time.perf_counter()
    stale = _materialize(project)
    run_s = time.perf_counter() - started
    last = _first(days) + timedelta(days=days - 1)
    changed = date.fromisoformat(CHANGED_DAY)
    readers = [changed + timedelta(days=i) for i in range(1 - window)]
    expected = {("clean", CHANGED_DAY)} | {
        ("daily_agg", d.isoformat()) for d in readers if d <= last
    }
    assert _built(stale) == expected, f"built {sorted(_built(stale))}, expected {sorted(expected)}"
    assert stale.counts == {"succeeded": len(expected)}, stale.counts
    assert api.materialize(project, executor=EXECUTOR, now=NOW).status == "nothing_to_do"
    return rewrite_s, run_s


def _cutoff(folder: Path, days: int) -> tuple[float, float]:
    """W3c: raw's code version changes, its data does not; (plan, plan + run) seconds."""
    defs, _ = _backfilled(folder, days, 0)
    write_chain_project(folder, days, first=_first(days), salted=True, raw_version="2")
    project = api.load_project(file=defs)
    started = time.perf_counter()
    planned = api.plan_project(project, partition_key=CHANGED_DAY, now=NOW)
    plan_s = time.perf_counter() - started
    steps = {str(s.asset): s for s in planned.plan.steps}
    assert set(steps) == {"raw", "clean", "daily_agg"}, set(steps)
    for name, step in steps.items():
        assert step.keys() == [CHANGED_DAY], (name, step.keys())
    assert {r.reason for r in steps["raw"].reasons} == {Reason.CODE_CHANGED}
    for name in ("clean", "daily_agg"):
        assert steps[name].only_upstream_stale(CHANGED_DAY), steps[name].reasons

    started = time.perf_counter()
    result = _materialize(project, partition=CHANGED_DAY)
    run_s = time.perf_counter() - started
    assert _built(result) == {("raw", CHANGED_DAY)}, _built(result)
    skipped = {(o.asset, o.partition): o.reason for o in result.skipped}
    assert set(skipped) == {("clean", CHANGED_DAY), ("daily_agg", CHANGED_DAY)}, skipped
    assert all("inputs unchanged" in reason for reason in skipped.values()), skipped
    assert api.plan_project(project, partition_key=CHANGED_DAY, now=NOW).plan.is_empty
    return plan_s, run_s


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Three repetitions of W3, W3b and W3c, each in a fresh project folder."""
    days = 14 if quick else 365
    repeat = 3
    figures: dict[str, list[float]] = {
        "w3_rewrite_raw_s": [],
        "w3_plan_run_stale_s": [],
        "w3b_rewrite_raw_s": [],
        "w3b_plan_run_stale_s": [],
        "w3c_plan_s": [],
        "w3c_plan_run_s": [],
    }
    for rep in range(repeat):
        rewrite_s, run_s = _one_change(workdir / f"w3_{rep}", days, 0)
        figures["w3_rewrite_raw_s"].append(rewrite_s)
        figures["w3_plan_run_stale_s"].append(run_s)
        rewrite_s, run_s = _one_change(workdir / f"w3b_{rep}", days, -6)
        figures["w3b_rewrite_raw_s"].append(rewrite_s)
        figures["w3b_plan_run_stale_s"].append(run_s)
        plan_s, run_s = _cutoff(workdir / f"w3c_{rep}", days)
        figures["w3c_plan_s"].append(plan_s)
        figures["w3c_plan_run_s"].append(run_s)
    result: dict[str, object] = {"asset_partitions": 3 * days, "executor": EXECUTOR}
    result.update(figures)
    return result
