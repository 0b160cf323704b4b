"""UI: server time of ``partita ui``'s asset page and graph page (issue 19).

a) The asset page of an asset with 10 years of daily partitions (3,650), the
   last of a chain of three such assets, after a late correction of one day of
   the first: the page shows 7 stale days (a 7-day window) in its health strip.
   Target: under 300 ms server time.
b) The graph page of the W4 shape at 600 assets (30 layers of 20, each reading 2
   of the layer before, daily partitions 2023-01-01 .. 2025-12-31: 657,600
   asset-partitions, all recorded through the catalog's bulk API), every asset
   coloured by its partition health. Target: under 1 s server time.

Both pages are served by a real uvicorn on 127.0.0.1 (a free port) and fetched
over HTTP; the server time is the page's ``Server-Timing`` header (building
the data and rendering the HTML; its wall time, and the CPU time of the thread
that built it, which a machine shared with other work does not inflate), the
wall time is the whole request.
"""

from __future__ import annotations

import re
import socket
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from bench.plan_support import fill
from partita.api import Project, load_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.records import Input, Materialization, Run
from partita.web import UiSettings, create_app

NAME = "ui"
DESCRIPTION = "partita ui: asset page of 3,650 daily partitions, graph page of 600 assets"

BUILT_AT = datetime(2026, 1, 1, 6, tzinfo=UTC)
CORRECTED_DAY = "2021-06-15"

LONG = """
from partita import DailyPartitions, Definitions, In, TimeWindow, asset

days = DailyPartitions(start="2016-01-01", end="2025-12-29")  # 3,650 days

@asset(partitions=days, code_version="1")
def orders() -> None:
    return None

@asset(partitions=days, code_version="1", deps=["orders"])
def daily() -> None:
    return None

@asset(partitions=days, code_version="1",
       ins={"daily": In(mapping=TimeWindow(start_offset=-6))})
def weekly(daily: object) -> None:
    return None

defs = Definitions(assets=[orders, daily, weekly])
"""

WIDE = """
from partita import DailyPartitions, Definitions, asset

daily = DailyPartitions(start="2023-01-01", end="2026-01-01")
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
                  group=f"band{{layer // 10}}")(_body)
        )
defs = Definitions(assets=specs)
"""


def _project(folder: Path, source: str) -> Project:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "defs.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "ui"\nversion = "0"\n\n[tool.partita]\ndefinitions = "defs.py"\n',
        encoding="utf-8",
    )
    return load_project(cwd=folder)


def _fill(project: Project) -> int:
    """Record every partition of every asset as built (bulk API), from the same days."""
    graph = project.graph
    first = graph.spec(graph.keys[0]).partitions
    assert first is not None
    days = list(first.keys(BUILT_AT))
    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.start_run(Run(run_id="fill", started_at=BUILT_AT))
        upstreams = {str(k): [str(e.upstream) for e in graph.upstream_edges(k)] for k in graph.keys}
        recorded = catalog.record_materializations_bulk(
            (
                (replace(m, created_at=BUILT_AT), ins)
                for m, ins in fill(graph, days, "fill", BUILT_AT)
            ),
            upstream_assets=upstreams,
        )
        catalog.planner_state([str(k) for k in graph.keys])
    return recorded


def _windows_fill(project: Project) -> int:
    """The long chain: ``weekly`` reads 7 days of ``daily``, recorded as such."""
    graph = project.graph
    spec = graph.spec(graph.resolve("orders")).partitions
    assert spec is not None
    days = list(spec.keys(BUILT_AT))

    def rows() -> Iterator[tuple[Materialization, list[Input]]]:
        for day in days:
            yield (
                Materialization("orders", day, "fill", f"orders@{day}", BUILT_AT, code_version="1"),
                [],
            )
        for day in days:
            yield (
                Materialization("daily", day, "fill", f"daily@{day}", BUILT_AT, code_version="1"),
                [Input("orders", day, f"orders@{day}")],
            )
        for index, day in enumerate(days):
            window = days[max(0, index - 6) : index + 1]
            yield (
                Materialization("weekly", day, "fill", f"weekly@{day}", BUILT_AT, code_version="1"),
                [Input("daily", d, f"daily@{d}") for d in window],
            )

    with SQLiteCatalog(project.catalog_path) as catalog:
        catalog.start_run(Run(run_id="fill", started_at=BUILT_AT))
        recorded = catalog.record_materializations_bulk(
            rows(), upstream_assets={"orders": [], "daily": ["orders"], "weekly": ["daily"]}
        )
        catalog.start_run(Run(run_id="late", started_at=BUILT_AT))
        catalog.record_materializations_bulk(
            [
                (
                    Materialization(
                        "orders", CORRECTED_DAY, "late", "corrected", BUILT_AT, code_version="1"
                    ),
                    [],
                )
            ],
            upstream_assets={"orders": []},
        )
    return recorded


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _served(project: Project) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(project, UiSettings(port=port)), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _fetch(url: str) -> tuple[float, float, float, str]:
    """(server seconds and server CPU seconds from Server-Timing, wall seconds, body)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as answer:
        body = answer.read().decode()
        timing = answer.headers["Server-Timing"] or ""
    wall = time.perf_counter() - started
    found = re.fullmatch(r"app;dur=([0-9.]+), cpu;dur=([0-9.]+)", timing)
    assert found is not None, timing
    return float(found.group(1)) / 1000, float(found.group(2)) / 1000, wall, body


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Fill both catalogs, time both pages over HTTP, assert what they show."""
    repeat = 2 if quick else 5
    long_project = _project(workdir / "long", LONG)
    recorded = _windows_fill(long_project)
    assert recorded == 3 * 3650, recorded
    asset_server: list[float] = []
    asset_cpu: list[float] = []
    asset_wall: list[float] = []
    with _served(long_project) as url:
        _fetch(url + "/asset?key=weekly")  # first request: imports, templates compiled
        for _ in range(repeat):
            server_s, cpu_s, wall_s, body = _fetch(url + "/asset?key=weekly")
            asset_server.append(server_s)
            asset_cpu.append(cpu_s)
            asset_wall.append(wall_s)
        assert "3650 partitions:" in body, body[:2000]
        assert "7 stale" in body and 'data-first="2021-06-15"' in body, body[:3000]
        assert 'data-last="2021-06-21"' in body

    layers, width = (3, 10) if quick else (30, 20)
    wide = _project(workdir / "wide", WIDE.format(layers=layers, width=width))
    total = _fill(wide)
    graph_server: list[float] = []
    graph_cpu: list[float] = []
    graph_wall: list[float] = []
    with _served(wide) as url:
        _fetch(url + "/")
        for _ in range(repeat):
            server_s, cpu_s, wall_s, body = _fetch(url + "/")
            graph_server.append(server_s)
            graph_cpu.append(cpu_s)
            graph_wall.append(wall_s)
        assert f"{layers * width} assets, {total} partitions:" in body, body[:3000]
        assert f'<span class="s-fresh">{total} fresh</span>' in body
    return {
        "long_asset_partitions": 3650,
        "asset_page_server_s": asset_server,
        "asset_page_server_cpu_s": asset_cpu,
        "asset_page_wall_s": asset_wall,
        "graph_assets": layers * width,
        "graph_asset_partitions": total,
        "graph_page_server_s": graph_server,
        "graph_page_server_cpu_s": graph_cpu,
        "graph_page_wall_s": graph_wall,
        "graph_page_bytes": len(body.encode()),
    }
