"""W4: wide graph planning (BENCHMARKS.md).

200 assets in 10 layers of 20, each depending on 2 assets of the layer before,
daily partitions 2023-01-01 .. 2025-12-31 (1,096 days): 219,200
asset-partitions. Measures loading + validating the definitions, then
planning (a) with nothing materialized, (b) with everything materialized and
up to date (the catalog filled through its bulk-write API), (c) after one
layer-0 partition changed. Asserts the plans: all missing, empty, and exactly
the downstream cone of the changed partition.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.plan_support import change_one, fill, rss_mb
from partita.assets import AssetSpec, asset
from partita.catalog.sqlite import SQLiteCatalog
from partita.definitions import Definitions
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DailyPartitions
from partita.planner import Plan, PlanRequest, assets_needed, plan
from partita.records import PlannerState, Run

NAME = "W4"
DESCRIPTION = "plan 200 assets x 1,096 daily partitions: missing, up to date, one changed"

NOW = datetime(2026, 1, 2, tzinfo=UTC)
LAYERS, WIDTH = 10, 20
CHANGED_DAY = "2024-06-15"


def _specs(layers: int, width: int, daily: DailyPartitions) -> list[AssetSpec]:
    specs: list[AssetSpec] = []
    for layer in range(layers):
        for pos in range(width):
            deps = (
                [] if layer == 0 else [f"l{layer - 1}_{pos}", f"l{layer - 1}_{(pos + 1) % width}"]
            )

            def body() -> None:
                return None

            specs.append(
                asset(key=f"l{layer}_{pos}", partitions=daily, deps=deps, code_version="1")(body)
            )
    return specs


def _timed_plans(
    catalog: SQLiteCatalog, graph: AssetGraph, names: list[str], check: Callable[[Plan], None]
) -> tuple[list[float], list[float], PlannerState]:
    """Load the state and plan 3 times: (state seconds, plan seconds, last state)."""
    state_s: list[float] = []
    plan_s: list[float] = []
    for _ in range(3):
        started = time.perf_counter()
        state = catalog.planner_state(names)
        loaded = time.perf_counter()
        result = plan(graph, state, PlanRequest(), NOW)
        plan_s.append(time.perf_counter() - loaded)
        state_s.append(loaded - started)
        check(result)
    return state_s, plan_s, state


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time the four phases; assert each plan."""
    layers, width = (4, 10) if quick else (LAYERS, WIDTH)
    daily = DailyPartitions(start="2023-01-01", end="2026-01-01")
    days = list(daily.keys(NOW))
    assert len(days) == 1096, len(days)

    load: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        graph = AssetGraph(Definitions(assets=_specs(layers, width, daily)))
        load.append(time.perf_counter() - started)
    rss_load = rss_mb()
    total = len(graph) * len(days)
    names = [str(k) for k in assets_needed(graph, None)]

    catalog = SQLiteCatalog(workdir / "catalog.db")

    def all_missing(result: Plan) -> None:
        assert result.partition_count == total, (result.partition_count, total)

    missing_state, missing_plan, _ = _timed_plans(catalog, graph, names, all_missing)
    rss_missing = rss_mb()

    catalog.start_run(Run(run_id="fill", started_at=NOW))
    upstreams = {str(k): [str(e.upstream) for e in graph.upstream_edges(k)] for k in graph.keys}
    started = time.perf_counter()
    recorded = catalog.record_materializations_bulk(
        fill(graph, days, "fill", NOW), upstream_assets=upstreams
    )
    fill_s = time.perf_counter() - started
    assert recorded == total, (recorded, total)

    def up_to_date(result: Plan) -> None:
        assert result.is_empty, f"{result.partition_count} partitions planned, expected 0"

    fresh_state, fresh_plan, state = _timed_plans(catalog, graph, names, up_to_date)
    assert state.latest.num_rows == total, state.latest.num_rows
    rss_fresh = rss_mb()

    cone, exact_cone = change_one(catalog, graph, AssetKey("l0_0"), CHANGED_DAY, NOW)

    one_state, one_plan, _ = _timed_plans(catalog, graph, names, exact_cone)
    catalog.close()
    return {
        "assets": len(graph),
        "asset_partitions": total,
        "load_validate_s": load,
        "rss_after_load_mb": round(rss_load, 1),
        "state_missing_s": missing_state,
        "plan_missing_s": missing_plan,
        "rss_after_missing_mb": round(rss_missing, 1),
        "bulk_fill_s": round(fill_s, 3),
        "state_up_to_date_s": fresh_state,
        "plan_up_to_date_s": fresh_plan,
        "rss_after_up_to_date_mb": round(rss_fresh, 1),
        "cone_assets": len(cone),
        "state_one_changed_s": one_state,
        "plan_one_changed_s": one_plan,
        "rss_after_one_changed_mb": round(rss_mb(), 1),
    }
