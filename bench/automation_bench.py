"""AUTO: an idle daemon over the W4 project (issue 16).

The W4 graph (200 assets x 1,096 daily partitions = 219,200
asset-partitions, everything materialized and up to date) with one daily
schedule over every asset and one file sensor on an empty landing folder.
Measures:

* ``schedule_tick_planned_s``: a schedule tick that finds nothing to do when
  it must plan (the first tick after start: the whole selection planned);
* ``schedule_tick_quiet_s``: the following ticks, when nothing changed in
  the catalog since a tick that planned nothing (target: under 100 ms);
* ``sensor_tick_s``: a file-sensor evaluation that finds no new file;
* ``idle_cpu_share``: CPU seconds per wall second of the daemon loop on the
  real clock, sleeping between sensor evaluations (target: under 2 % of a core).

Asserts that every tick found nothing to do and no run was started.
"""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.plan_support import fill
from bench.w4_wide import LAYERS, NOW, WIDTH, _specs
from partita.api import as_project
from partita.automation import Daemon, LaunchSettings
from partita.catalog.sqlite import SQLiteCatalog
from partita.definitions import Definitions
from partita.partitions import DailyPartitions
from partita.records import Run, RunStatus, TickKind, TickStatus
from partita.schedules import Schedule
from partita.sensors import FileSensor

NAME = "AUTO"
DESCRIPTION = "idle daemon over W4: no-op schedule and sensor ticks, CPU share of the loop"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Fill the catalog, then time no-op ticks and an idle stretch of the loop."""
    layers, width = (4, 10) if quick else (LAYERS, WIDTH)
    daily = DailyPartitions(start="2023-01-01", end="2026-01-01")
    days = list(daily.keys(NOW))
    (workdir / "landing").mkdir()
    sensor_every = 0.5 if quick else 5.0
    defs = Definitions(
        assets=_specs(layers, width, daily),
        schedules=[Schedule("0 2 * * *", timezone="Europe/Berlin", name="nightly")],
        sensors=[FileSensor("landing", str(workdir / "landing"), every=sensor_every)],
    )
    project = as_project(defs, workdir / "home")
    graph = project.graph
    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.start_run(Run(run_id="fill", started_at=NOW))
        upstreams = {str(k): [str(e.upstream) for e in graph.upstream_edges(k)] for k in graph.keys}
        catalog.record_materializations_bulk(
            fill(graph, days, "fill", NOW), upstream_assets=upstreams
        )
        catalog.finish_run("fill", RunStatus.SUCCEEDED, now=NOW)

    start = datetime.now(UTC) - timedelta(days=6)
    daemon = Daemon(project, settings=LaunchSettings(executor="inprocess"))
    planned: list[float] = []
    quiet: list[float] = []
    sensed: list[float] = []
    with project.open_catalog() as catalog:
        records = catalog.automation
        daemon.evaluate(records, start)  # the schedule's first evaluation: its start
        for day in range(5):
            tick = start + timedelta(days=day + 1)
            began = time.perf_counter()
            written = daemon.evaluate(records, tick)
            (planned if day == 0 else quiet).append(time.perf_counter() - began)
            assert {t.status for t in written} == {TickStatus.NOTHING_TO_DO}, written
        for _ in range(5):
            began = time.perf_counter()
            found = daemon._evaluate_sensor(records, defs.sensors[0], datetime.now(UTC))
            sensed.append(time.perf_counter() - began)
            daemon._due.clear()
            assert [t.status for t in found] == [TickStatus.NOTHING_TO_DO]
        daemon.evaluate(records, datetime.now(UTC))  # the cursor reaches the present
        schedule_ticks = records.ticks(kind=TickKind.SCHEDULE, limit=100)
        assert all(not t.run_ids for t in schedule_ticks)
        assert sum("up to date" in t.detail for t in schedule_ticks) >= 4

    idle_s = 3.0 if quick else 60.0
    idle = Daemon(project, settings=LaunchSettings(executor="inprocess"))
    wall = time.perf_counter()
    cpu = _cpu_s()
    idle.run(until=datetime.now(UTC) + timedelta(seconds=idle_s), handle_signals=False)
    cpu_used = _cpu_s() - cpu
    wall_used = time.perf_counter() - wall
    return {
        "asset_partitions": len(graph) * len(days),
        "schedule_tick_planned_s": planned,
        "schedule_tick_quiet_s": quiet,
        "sensor_tick_s": sensed,
        "idle_wall_s": round(wall_used, 2),
        "idle_cpu_s": round(cpu_used, 3),
        "idle_cpu_share": round(cpu_used / wall_used, 4),
        "sensor_every_s": sensor_every,
    }
