"""W1: daily chain backfill (BENCHMARKS.md).

``raw -> clean -> daily_agg`` over the 365 days of 2025, Parquet store: the
wall time of one ``api.materialize`` of the whole range from an empty project
to 1,095 recorded materializations (process executor, the default, and
``inprocess``), against the bare loop (the same pandas work and the same
Parquet writes, temp file + ``os.replace`` and no fsync, in a plain ``for``
loop that reads each step's input back from the file it wrote) in the same
run, interleaved. Partita runs with its default durability and may hand an
input over in memory instead of reading it back. Reports
``ratio = partita / bare`` (target <= 1.10) and the per-step overhead
``(partita - bare) / 1,095``.

Asserted each repetition: 1,095 materializations in the catalog with the
lineage of ``clean`` and ``daily_agg`` (one input each), the row counts of
every partition equal to the bare loop's, both in the catalog and in the
Parquet files, and the first, middle and last day of each asset equal to the
bare loop's table.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.projects import (
    ASSETS,
    bare_loop,
    catalog_rows,
    chain_days,
    same_data,
    store_rows,
    write_chain_project,
)
from partita import api

NAME = "W1"
DESCRIPTION = "backfill raw -> clean -> daily_agg over 365 days vs the bare pandas + Parquet loop"

NOW = datetime(2026, 1, 2, tzinfo=UTC)
"""Planning time: after the last day of 2025."""

EXECUTORS = ("process", "inprocess")


def backfill(folder: Path, days: int, executor: str, **options: Any) -> tuple[float, Path]:
    """Write the project to ``folder``, materialize every partition; return (seconds, defs).

    ``options`` go to :func:`partita.api.materialize` (``openlineage_file``,
    ``max_workers``, ``dask_address``...)."""
    defs = write_chain_project(folder, days)
    project = api.load_project(file=defs)
    started = time.perf_counter()
    result = api.materialize(
        project,
        executor=executor,
        now=NOW,
        handle_signals=False,
        **options,
    )
    elapsed = time.perf_counter() - started
    assert result.status == "succeeded", "\n".join(result.summary_lines())
    assert result.counts == {"succeeded": 3 * days}, result.counts
    return elapsed, defs


def check_backfill(defs: Path, expected: dict[tuple[str, str], int], bare_root: Path) -> None:
    """Assert the catalog and the Parquet files of a finished backfill match the bare loop's.

    Row counts of every partition (catalog and files) equal ``expected``; the
    first, middle and last day of each asset hold exactly the bare loop's table.
    """
    home = defs.parent / ".partita"
    latest, materializations, inputs = catalog_rows(home / "catalog.db")
    steps = len(expected)
    assert materializations == steps, f"{materializations} materializations, expected {steps}"
    assert inputs == steps // 3 * 2, f"{inputs} input records, expected {steps // 3 * 2}"
    assert latest == expected, "catalog row counts differ from the bare loop's"
    assert store_rows(home / "data") == expected, "Parquet row counts differ from the bare loop's"
    days = sorted({day for _, day in expected})
    for asset_name in ASSETS:
        for day in (days[0], days[len(days) // 2], days[-1]):
            assert same_data(home / "data", bare_root, asset_name, day), (asset_name, day)


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time the backfill with each executor and the bare loop, interleaved; assert the results."""
    days = 20 if quick else 365
    steps = len(ASSETS) * days
    repeat = 3
    bare_s: list[float] = []
    timings: dict[str, list[float]] = {name: [] for name in EXECUTORS}
    for rep in range(repeat):
        bare_root = workdir / f"bare{rep}"
        started = time.perf_counter()
        expected = bare_loop(bare_root, chain_days(days))
        bare_s.append(time.perf_counter() - started)
        assert len(expected) == steps
        for executor in EXECUTORS:
            elapsed, defs = backfill(workdir / f"{executor}{rep}", days, executor)
            timings[executor].append(elapsed)
            check_backfill(defs, expected, bare_root)
    bare = statistics.median(bare_s)
    figures: dict[str, object] = {
        "partitions": steps,
        "bare_s": bare_s,
        "bare_per_step_ms": round(bare / steps * 1000, 3),
    }
    for executor, samples in timings.items():
        median = statistics.median(samples)
        figures[f"partita_{executor}_s"] = samples
        figures[f"ratio_{executor}"] = round(median / bare, 3)
        figures[f"overhead_per_step_{executor}_ms"] = round((median - bare) / steps * 1000, 3)
    return figures
