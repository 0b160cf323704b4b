"""W1: daily chain backfill (BENCHMARKS.md).

``raw -> clean -> daily_agg`` over the 365 days of 2025, Parquet store: the
wall time of one ``api.materialize`` of the whole range from an empty project
to 1,095 recorded materializations (process executor, the default, and
``inprocess``), against the bare loop (the same pandas work and the same
Parquet writes, temp file + ``os.replace``, in a plain ``for`` loop) in the
same run, interleaved. Reports ``ratio = partita / bare`` (target <= 1.3) and
the per-step overhead ``(partita - bare) / 1,095``.

Asserted each repetition: 1,095 materializations in the catalog with the
lineage of ``clean`` and ``daily_agg`` (one input each), and the row counts of
every partition equal to the bare loop's, both in the catalog and in the
Parquet files.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.projects import (
    ASSETS,
    bare_loop,
    catalog_rows,
    chain_days,
    store_rows,
    write_chain_project,
)
from partita import api

NAME = "W1"
DESCRIPTION = "backfill raw -> clean -> daily_agg over 365 days vs the bare pandas + Parquet loop"

NOW = datetime(2026, 1, 2, tzinfo=UTC)
"""Planning time: after the last day of 2025."""

EXECUTORS = ("process", "inprocess")


def backfill(folder: Path, days: int, executor: str) -> tuple[float, Path]:
    """Write the project to ``folder``, materialize every partition; return (seconds, defs)."""
    defs = write_chain_project(folder, days)
    project = api.load_project(file=defs)
    started = time.perf_counter()
    result = api.materialize(project, executor=executor, now=NOW, handle_signals=False)
    elapsed = time.perf_counter() - started
    assert result.status == "succeeded", "\n".join(result.summary_lines())
    assert result.counts == {"succeeded": 3 * days}, result.counts
    return elapsed, defs


def check_backfill(defs: Path, expected: dict[tuple[str, str], int]) -> None:
    """Assert the catalog and the Parquet files of a finished backfill match ``expected``."""
    home = defs.parent / ".partita"
    latest, materializations, inputs = catalog_rows(home / "catalog.db")
    steps = len(expected)
    assert materializations == steps, f"{materializations} materializations, expected {steps}"
    assert inputs == steps // 3 * 2, f"{inputs} input records, expected {steps // 3 * 2}"
    assert latest == expected, "catalog row counts differ from the bare loop's"
    assert store_rows(home / "data") == expected, "Parquet row counts differ from the bare loop's"


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time the backfill with each executor and the bare loop, interleaved; assert the results."""
    days = 30 if quick else 365
    steps = len(ASSETS) * days
    repeat = 3
    bare_s: list[float] = []
    timings: dict[str, list[float]] = {name: [] for name in EXECUTORS}
    for rep in range(repeat):
        started = time.perf_counter()
        expected = bare_loop(workdir / f"bare{rep}", chain_days(days))
        bare_s.append(time.perf_counter() - started)
        assert len(expected) == steps
        for executor in EXECUTORS:
            elapsed, defs = backfill(workdir / f"{executor}{rep}", days, executor)
            timings[executor].append(elapsed)
            check_backfill(defs, expected)
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
