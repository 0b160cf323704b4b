"""W7: the catalog at scale.

Fills a catalog with materializations of a chain of daily-partitioned assets
(each partition reads 3 partitions of the asset before it: a 3-day window),
then measures: recording 100,000 materializations with 3 inputs each through
the bulk API, the per-step cost of ``record_step_outcome`` (one transaction
per step, as the runner records), loading the planner state of every
materialization (target < 1 s at 1,000,000), a 10-deep lineage query of one
partition (target < 50 ms) and the file size per million materializations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.catalog import SQLiteCatalog
from partita.records import Input, Materialization, Run, StepAttempt, StepStatus

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
    return catalog.record_materializations_bulk(_items(assets, days, run_id))


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
    catalog.start_run(Run(run_id="steps", started_at=T0))
    step_ms: list[float] = []
    for rep in range(3):
        steps = 200
        started = time.perf_counter()
        for i in range(steps):
            partition = f"s{rep}-{i}"
            attempt = StepAttempt("steps", "stepped", partition, 1, StepStatus.SUCCEEDED, T0, T0)
            mat = Materialization("stepped", partition, "steps", "v", T0)
            inputs = [Input("a0", f"d{j:05d}", f"v0.{j}") for j in range(3)]
            catalog.record_step_outcome(attempt, [mat], [inputs])
        step_ms.append((time.perf_counter() - started) / steps)
    catalog.close()

    big = SQLiteCatalog(workdir / "big.db")
    started = time.perf_counter()
    _fill(big, range(first_levels), days, "fill-1")
    _fill(big, range(first_levels, levels), days, "fill-2")
    fill_s = time.perf_counter() - started
    names = [f"a{level}" for level in range(levels)]

    state_s: list[float] = []
    latest_only_rows = 0
    for _ in range(3):
        started = time.perf_counter()
        state = big.planner_state(names)
        state_s.append(time.perf_counter() - started)
        assert state.latest.num_rows == total, state.latest.num_rows
        latest_only_rows = state.latest.num_rows
        expected_inputs = 3 * days + (levels - 1) * (3 * days - 3)
        assert state.inputs.num_rows == expected_inputs, state.inputs.num_rows

    lineage_s: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        graph = big.lineage(f"a{levels - 1}", f"d{days - 1:05d}", direction="up", depth=10)
        lineage_s.append(time.perf_counter() - started)
        assert graph.max_depth == 10, graph.max_depth
        assert all(e.status == "current" for e in graph.edges)
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
        "planner_state_load_s": state_s,
        "planner_state_rows": latest_only_rows,
        "lineage_10_deep_s": lineage_s,
        "lineage_nodes": len(graph.nodes),
        "catalog_bytes": size + (wal.stat().st_size if wal.exists() else 0),
        "catalog_bytes_per_million": int(size * 1_000_000 / total),
    }
