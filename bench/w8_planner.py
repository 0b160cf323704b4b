"""W8: the planner at scale (BENCHMARKS.md).

1,000 assets in layers of 50, each reading 2 assets of the layer before,
daily partitions over 10 years (3,650 days): 3,650,000 asset-partitions. The
project is a real ``defs.py``; the catalog is filled through its bulk-write
API (as W4 does). Three scenarios, each timed as the in-process planning call
(``planner.plan`` on a loaded state) and as a whole ``partita plan --json``
process: (a) nothing materialized, (b) everything up to date, (c) one layer-0
partition changed. Asserted: all missing, an empty plan, exactly the
downstream cone of the changed partition. Peak memory is reported after each
scenario (as W4 does). Quick mode: 100 assets in layers of 10, one year.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.plan_support import change_one, fill, rss_mb
from partita import api
from partita.catalog.sqlite import SQLiteCatalog
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.planner import Plan, PlanRequest, assets_needed, plan
from partita.records import PlannerState, Run

NAME = "W8"
DESCRIPTION = "plan 1,000 assets x 3,650 daily partitions: missing, up to date, one changed"

NOW = datetime(2026, 1, 2, tzinfo=UTC)
FULL = (20, 50, "2016-01-04")  # layers, width, first day: 1,000 assets x 3,650 days
QUICK = (10, 10, "2025-01-01")  # 100 assets x 365 days

_TEMPLATE = '''\
"""W8 benchmark project: {layers} layers of {width} daily assets (generated)."""

from __future__ import annotations

from partita.assets import AssetSpec, asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAILY = DailyPartitions(start="{start}", end="2026-01-01")


def _body() -> None:
    return None


def _specs() -> list[AssetSpec]:
    specs: list[AssetSpec] = []
    for layer in range({layers}):
        for pos in range({width}):
            deps = (
                []
                if layer == 0
                else [f"l{{layer - 1}}_{{pos}}", f"l{{layer - 1}}_{{(pos + 1) % {width}}}"]
            )
            key = f"l{{layer}}_{{pos}}"
            specs.append(asset(key=key, partitions=DAILY, deps=deps, code_version="1")(_body))
    return specs


defs = Definitions(assets=_specs())
'''


def write_project(folder: Path, layers: int, width: int, start: str) -> Path:
    """Write W8's project to ``folder/defs.py``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "defs.py"
    path.write_text(_TEMPLATE.format(layers=layers, width=width, start=start), encoding="utf-8")
    return path


def _partita() -> list[str]:
    script = Path(sys.executable).with_name("partita")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from partita.cli import main; main()"]


def _timed(
    catalog: SQLiteCatalog,
    graph: AssetGraph,
    defs: Path,
    check: Callable[[Plan], None],
    count: Callable[[dict[str, object]], None],
    repeat: int,
    commands: int,
) -> tuple[list[float], list[float], list[float]]:
    """(state load s, planning call s, whole ``partita plan --json`` process s)."""
    names = [str(k) for k in assets_needed(graph, None)]
    state_s: list[float] = []
    plan_s: list[float] = []
    command_s: list[float] = []
    state: PlannerState | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        state = catalog.planner_state(names)
        loaded = time.perf_counter()
        result = plan(graph, state, PlanRequest(), NOW)
        plan_s.append(time.perf_counter() - loaded)
        state_s.append(loaded - started)
        check(result)
        del result
    del state
    for _ in range(commands):
        started = time.perf_counter()
        done = subprocess.run(
            [*_partita(), "plan", "-f", str(defs), "--json"],
            cwd=defs.parent,
            check=True,
            capture_output=True,
            text=True,
        )
        command_s.append(time.perf_counter() - started)
        count(json.loads(done.stdout))
    return state_s, plan_s, command_s


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time the three scenarios in-process and as whole processes; assert each plan."""
    layers, width, start = QUICK if quick else FULL
    repeat, commands = 3, 1 if quick else 3
    defs = write_project(workdir / "project", layers, width, start)
    project = api.load_project(file=defs)
    graph = project.graph
    daily = graph.spec(graph.keys[0]).partitions
    assert daily is not None
    days = list(daily.keys(NOW))
    total = len(graph) * len(days)
    catalog = SQLiteCatalog(project.catalog_path)
    figures: dict[str, object] = {
        "assets": len(graph),
        "days": len(days),
        "asset_partitions": total,
    }

    def all_missing(result: Plan) -> None:
        assert result.partition_count == total, (result.partition_count, total)

    def count_missing(data: dict[str, object]) -> None:
        assert data["total_steps"] == len(graph), data["total_steps"]

    state_s, plan_s, command_s = _timed(
        catalog, graph, defs, all_missing, count_missing, repeat, commands
    )
    figures |= {
        "state_missing_s": state_s,
        "plan_missing_s": plan_s,
        "command_missing_s": command_s,
        "rss_after_missing_mb": round(rss_mb(), 1),
    }

    catalog.start_run(Run(run_id="fill", started_at=NOW))
    upstreams = {str(k): [str(e.upstream) for e in graph.upstream_edges(k)] for k in graph.keys}
    started = time.perf_counter()
    recorded = catalog.record_materializations_bulk(
        fill(graph, days, "fill", NOW), upstream_assets=upstreams
    )
    figures["bulk_fill_s"] = round(time.perf_counter() - started, 3)
    assert recorded == total, (recorded, total)

    def up_to_date(result: Plan) -> None:
        assert result.is_empty, f"{result.partition_count} partitions planned, expected 0"

    def count_none(data: dict[str, object]) -> None:
        assert data["total_steps"] == 0, data["total_steps"]

    state_s, plan_s, command_s = _timed(
        catalog, graph, defs, up_to_date, count_none, repeat, commands
    )
    figures |= {
        "state_up_to_date_s": state_s,
        "plan_up_to_date_s": plan_s,
        "command_up_to_date_s": command_s,
        "rss_after_up_to_date_mb": round(rss_mb(), 1),
    }

    cone, exact_cone = change_one(catalog, graph, AssetKey("l0_0"), days[len(days) // 2], NOW)

    def count_cone(data: dict[str, object]) -> None:
        assert data["total_steps"] == len(cone), (data["total_steps"], len(cone))

    state_s, plan_s, command_s = _timed(
        catalog, graph, defs, exact_cone, count_cone, repeat, commands
    )
    catalog.close()
    return figures | {
        "cone_assets": len(cone),
        "state_one_changed_s": state_s,
        "plan_one_changed_s": plan_s,
        "command_one_changed_s": command_s,
        "rss_after_one_changed_mb": round(rss_mb(), 1),
    }
