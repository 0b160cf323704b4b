"""W7: the catalog at scale.

Fills a catalog with materializations of a chain of daily-partitioned assets
(each partition reads 3 partitions of the asset before it: a 3-day window),
then measures: recording 100,000 materializations with 3 inputs each through
the bulk API, the per-step cost of ``record_step_outcome`` (one transaction
per step, as the runner records), loading the planner state of every
materialization (target < 1 s at 1,000,000: ``latest`` and one edge per
materialization) cold (a new process opening the catalog file: the state
blocks inside it, written by the bulk record), rebuilt (the blocks deleted:
straight from the rows, which writes them again), warm (a second load in the
same process) and after 1,000 new materializations (blocks + delta; 500 in
quick mode), a 10-deep lineage query of one partition (target < 50 ms), the
file size per million materializations and the peak memory of the cold
process.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.catalog.common.catalog import SqlCatalog
from partita.catalog.sqlite import SQLiteCatalog
from partita.records import (
    CatalogReader,
    CatalogWriter,
    Input,
    Materialization,
    Run,
    StepAttempt,
    StepStatus,
)

NAME = "W7"
DESCRIPTION = "catalog scale: 1,000,000 materializations x 3 inputs; state load, lineage, size"

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _items(
    assets: Sequence[int], days: int, run_id: str
) -> Iterator[tuple[Materialization, list[Input]]]:
    """Materializations of assets ``a<k>`` for ``days`` partitions, level by level."""
    for level in assets:
        for day in range(days):
            partition = f"d{day:05d}"
            upstream = f"a{level - 1}" if level > 0 else "source"
            if level == 0:
                inputs = [Input("source", f"d{day:05d}-{back}", "x") for back in range(3)]
            else:
                # a 3-day window; the first days of the range read fewer partitions
                inputs = [
                    Input(upstream, f"d{back_day:05d}", f"v{level - 1}.{back_day}")
                    for back_day in sorted({max(day - back, 0) for back in range(3)})
                ]
            yield (
                Materialization(
                    f"a{level}",
                    partition,
                    run_id,
                    f"v{level}.{day}",
                    T0 + timedelta(seconds=level * days + day),
                    code_version="c1",
                    config_hash="h0",
                ),
                inputs,
            )


def _fill(catalog: SQLiteCatalog, assets: Sequence[int], days: int, run_id: str) -> int:
    catalog.start_run(Run(run_id=run_id, started_at=T0))
    upstream = {f"a{level}": [f"a{level - 1}" if level else "source"] for level in assets}
    return catalog.record_materializations_bulk(
        _items(assets, days, run_id), upstream_assets=upstream
    )


def time_steps(catalog: CatalogWriter) -> list[float]:
    """Three samples of the seconds per ``record_step_outcome`` (200 steps each, one
    transaction per step, as the runner records), under a new run ``steps``."""
    catalog.start_run(Run(run_id="steps", started_at=T0))
    per_step: list[float] = []
    for rep in range(3):
        steps = 200
        started = time.perf_counter()
        for i in range(steps):
            partition = f"s{rep}-{i}"
            attempt = StepAttempt("steps", "stepped", partition, 1, StepStatus.SUCCEEDED, T0, T0)
            mat = Materialization("stepped", partition, "steps", "v", T0)
            inputs = [Input("a0", f"d{j:05d}", f"v0.{j}") for j in range(3)]
            catalog.record_step_outcome(attempt, [mat], [inputs])
        per_step.append((time.perf_counter() - started) / steps)
    return per_step


def time_after_new(catalog: SqlCatalog, levels: int, days: int, run_id: str) -> list[float]:
    """Three times: record up to 1,000 new materializations of the last asset (bulk),
    then load the planner state of every asset (its seconds)."""
    names = [f"a{level}" for level in range(levels)]
    delta_s: list[float] = []
    for rep in range(3):
        catalog.record_materializations_bulk(
            (
                (replace(mat, data_version=f"{mat.data_version}.r{rep}"), ins)
                for mat, ins in _items([levels - 1], min(days, 1_000), run_id)
            ),
            upstream_assets={f"a{levels - 1}": [f"a{levels - 2}"]},
        )
        delta_s.append(_check(catalog, names, levels * days))
    return delta_s


def time_lineage(catalog: CatalogReader, levels: int, days: int) -> tuple[list[float], int]:
    """Five 10-deep lineage queries up from the last partition of the last asset: their
    seconds, and the number of nodes found."""
    lineage_s: list[float] = []
    nodes = 0
    for _ in range(5):
        started = time.perf_counter()
        root = catalog.latest_materialization(f"a{levels - 1}", f"d{days - 1:05d}")
        assert root is not None and root.materialization_id is not None
        graph = catalog.lineage(root.materialization_id, direction="up", depth=10)
        lineage_s.append(time.perf_counter() - started)
        assert graph.max_depth == 10, graph.max_depth
        assert all(e.status == "current" for e in graph.edges)
        nodes = len(graph.nodes)
    return lineage_s, nodes


def _check(catalog: CatalogReader, names: list[str], total: int) -> float:
    """Load the state of ``names``, check its row counts, return the seconds it took."""
    started = time.perf_counter()
    state = catalog.planner_state(names)
    elapsed = time.perf_counter() - started
    assert state.latest.num_rows == total, state.latest.num_rows
    assert state.edges.num_rows == total, state.edges.num_rows  # one upstream asset each
    return elapsed


_COLD = """
import json, resource, sys, time
import pandas  # imported by pyarrow's first table anyway: start-up, not the load
from partita.catalog.common.catalog import SqlCatalog
from partita.catalog.sqlite import SQLiteCatalog
started = time.perf_counter()
state = SQLiteCatalog(sys.argv[1]).planner_state(sys.argv[2].split(","))
elapsed = time.perf_counter() - started
assert state.latest.num_rows == int(sys.argv[3]) == state.edges.num_rows
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"s": elapsed, "peak_bytes": peak}))
"""


def _cold(path: Path, names: list[str], total: int) -> dict[str, float]:
    """Open the catalog and load the state in a new process (the module imports excluded)."""
    out = subprocess.run(
        [sys.executable, "-c", _COLD, str(path), ",".join(names), str(total)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(out)
    return figures


def _drop_blocks(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DELETE FROM state_blocks")
    conn.execute("DELETE FROM catalog_meta WHERE key LIKE 'state_%'")
    conn.close()


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Run W7 (``quick``: 10,000 materializations instead of 1,000,000)."""
    levels, days = (20, 500) if quick else (100, 10_000)
    first_levels = 2 if quick else 10  # 100,000 materializations at full size
    total = levels * days
    record_s: list[float] = []
    for rep in range(3):
        catalog = SQLiteCatalog(workdir / f"record{rep}.db")
        started = time.perf_counter()
        count = _fill(catalog, range(first_levels), days, "fill-1")
        record_s.append(time.perf_counter() - started)
        assert count == first_levels * days
        catalog.close()

    # per-step recording, one transaction each, as the runner does
    catalog = SQLiteCatalog(workdir / "record0.db")
    step_ms = time_steps(catalog)
    catalog.close()

    big = SQLiteCatalog(workdir / "big.db")
    started = time.perf_counter()
    _fill(big, range(first_levels), days, "fill-1")
    _fill(big, range(first_levels, levels), days, "fill-2")
    fill_s = time.perf_counter() - started
    names = [f"a{level}" for level in range(levels)]

    big.close()
    cold = [_cold(workdir / "big.db", names, total) for _ in range(3)]
    _drop_blocks(workdir / "big.db")
    big = SQLiteCatalog(workdir / "big.db")
    rebuild_s = _check(big, names, total)  # from the rows; writes the blocks again
    state_s = [_check(big, names, total) for _ in range(3)]
    delta_s = time_after_new(big, levels, days, "fill-2")

    lineage_s, lineage_nodes = time_lineage(big, levels, days)
    big.close()  # the last connection checkpoints the WAL into the file
    size = (workdir / "big.db").stat().st_size
    wal = workdir / "big.db-wal"
    return {
        "materializations": total,
        "inputs_per_materialization": 3,
        "record_bulk_s": record_s,
        "recorded_per_sample": first_levels * days,
        "record_step_outcome_s": step_ms,
        "fill_total_s": fill_s,
        "planner_state_cold_s": [c["s"] for c in cold],
        "planner_state_cold_median_s": statistics.median(c["s"] for c in cold),
        "planner_state_cold_peak_bytes": max(int(c["peak_bytes"]) for c in cold),
        "planner_state_rebuild_s": rebuild_s,
        "planner_state_load_s": state_s,
        "planner_state_after_1000_new_s": delta_s,
        "planner_state_rows": total,
        "planner_state_edges": total,
        "lineage_10_deep_s": lineage_s,
        "lineage_nodes": lineage_nodes,
        "catalog_bytes": size + (wal.stat().st_size if wal.exists() else 0),
        "catalog_bytes_per_million": int(size * 1_000_000 / total),
    }
