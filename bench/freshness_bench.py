"""freshness: ``partita freshness`` and ``partita status`` over the W4 project.

The W4 graph (200 assets in 10 layers of 20, daily partitions 2023-01-01 ..
2025-12-31: 219,200 asset-partitions), every partition materialized through
the catalog's bulk API, every asset with ``Freshness(max_lag="26h")``. Times
the two commands as a user runs them (a subprocess: process start, imports,
loading the project, the catalog state, the plan, rendering) and their api
calls in-process. Target: under 1 s each. Asserts every asset fresh and every
partition fresh, then one changed layer-0 partition: its downstream cone is
stale in both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.plan_support import fill
from bench.w4_wide import NOW
from partita.api import freshness_report, load_project, status_report
from partita.catalog.sqlite import SQLiteCatalog
from partita.records import Materialization, Run

NAME = "freshness"
DESCRIPTION = "partita freshness / status over W4 (200 assets x 1,096 days): commands and api"

AT = "2026-01-01T12:00:00"
BUILT_AT = datetime(2026, 1, 1, 6, tzinfo=UTC)
"""When the partitions are recorded: before ``AT``, since ``--at`` counts only what the
catalog had recorded by then."""
CHANGED_DAY = "2025-12-31"

DEFS = """
from partita import DailyPartitions, Definitions, Freshness, asset

daily = DailyPartitions(start="2023-01-01", end="2026-01-01")
policy = Freshness(max_lag="26h")
LAYERS, WIDTH = {layers}, {width}

def _body() -> None:
    return None

specs = []
for layer in range(LAYERS):
    for pos in range(WIDTH):
        before = f"l{{layer - 1}}_"
        deps = [] if layer == 0 else [f"{{before}}{{pos}}", f"{{before}}{{(pos + 1) % WIDTH}}"]
        specs.append(
            asset(key=f"l{{layer}}_{{pos}}", partitions=daily, deps=deps, code_version="1",
                  freshness=policy)(_body)
        )
defs = Definitions(assets=specs)
"""


def _command(workdir: Path, args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    exe = Path(sys.executable).with_name("partita")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    started = time.perf_counter()
    result = subprocess.run(
        [str(exe), *args], cwd=workdir, capture_output=True, text=True, env=env, check=False
    )
    return time.perf_counter() - started, result


def _timed(workdir: Path, args: list[str], repeat: int, code: int) -> tuple[list[float], str]:
    samples: list[float] = []
    out = ""
    for _ in range(repeat):
        elapsed, result = _command(workdir, args)
        assert result.returncode == code, (args, result.returncode, result.stderr[-2000:])
        samples.append(elapsed)
        out = result.stdout
    return samples, out


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Fill the W4 catalog, time both commands and their api calls, assert the answers."""
    layers, width = (4, 10) if quick else (10, 20)
    (workdir / "defs.py").write_text(
        textwrap.dedent(DEFS.format(layers=layers, width=width)), encoding="utf-8"
    )
    (workdir / "pyproject.toml").write_text(
        '[project]\nname = "w4"\nversion = "0"\n\n[tool.partita]\ndefinitions = "defs.py"\n',
        encoding="utf-8",
    )
    project = load_project(cwd=workdir)
    graph = project.graph
    days = list(graph.spec(graph.keys[0]).partitions.keys(NOW))  # type: ignore[union-attr]
    total = len(graph) * len(days)
    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.start_run(Run(run_id="fill", started_at=BUILT_AT))
        upstreams = {str(k): [str(e.upstream) for e in graph.upstream_edges(k)] for k in graph.keys}
        recorded = catalog.record_materializations_bulk(
            ((replace(m, created_at=BUILT_AT), ins) for m, ins in fill(graph, days, "fill", NOW)),
            upstream_assets=upstreams,
        )
        assert recorded == total, (recorded, total)
        catalog.planner_state([str(k) for k in graph.keys])  # writes the state snapshot
    at = datetime.fromisoformat(AT).replace(tzinfo=UTC)
    repeat = 3 if quick else 5

    fresh_cmd, out = _timed(workdir, ["freshness", "--at", AT, "--json"], repeat, 0)
    data = json.loads(out)
    assert data["totals"]["fresh"] == len(graph), data["totals"]
    status_cmd, out = _timed(workdir, ["status", "--at", AT, "--json"], repeat, 0)
    totals = json.loads(out)["totals"]
    assert totals["partitions"] == total and totals["fresh"] == total, totals
    table_cmd, out = _timed(workdir, ["status", "--at", AT], repeat, 0)
    assert f"{total} partitions: {total} fresh" in out, out[-500:]

    fresh_api: list[float] = []
    status_api: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = freshness_report(project, at=at)
        fresh_api.append(time.perf_counter() - started)
        assert not report.violated
        started = time.perf_counter()
        state = status_report(project, at=at)
        status_api.append(time.perf_counter() - started)
        assert state.totals()["fresh"] == total

    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.record_materializations_bulk(
            [
                (
                    Materialization(
                        "l0_0", CHANGED_DAY, "fill", "changed", BUILT_AT, code_version="1"
                    ),
                    [],
                )
            ],
            upstream_assets={"l0_0": []},
        )
    cone = graph.descendants(graph.resolve("l0_0"))
    changed_cmd, out = _timed(workdir, ["freshness", "--at", AT, "--json"], repeat, 1)
    stale = {a["asset"] for a in json.loads(out)["assets"] if a["status"] == "stale"}
    assert stale == {str(k) for k in cone}, (len(stale), len(cone))
    _, out = _timed(workdir, ["status", "--at", AT, "--json"], 1, 0)
    assert json.loads(out)["totals"]["stale"] == len(cone)
    return {
        "assets": len(graph),
        "asset_partitions": total,
        "freshness_command_s": fresh_cmd,
        "status_command_s": status_cmd,
        "status_table_command_s": table_cmd,
        "freshness_api_s": fresh_api,
        "status_api_s": status_api,
        "freshness_command_one_changed_s": changed_cmd,
        "stale_assets_after_one_change": len(stale),
    }
