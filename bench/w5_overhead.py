"""W5: step overhead (BENCHMARKS.md).

500 independent no-op unpartitioned assets, then a linear chain of 100, each
built by one ``api.materialize`` (plan + run + recording, what
``partita materialize`` does after loading the project), with the
``inprocess``, ``thread`` and ``process`` executors. A no-op does no work, so
the wall time divided by the steps is the per-step overhead (targets: < 2 ms
in-process, < 10 ms with the process pool; Dagster ~24 ms, SQLMesh ~13.5 ms).

Each repetition builds a fresh project (a no-op once built is up to date);
asserted: every asset succeeded and the catalog holds one materialization per
asset.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.projects import catalog_rows, write_noop_project
from partita import api

NAME = "W5"
DESCRIPTION = "per-step overhead: 500 independent no-ops and a chain of 100, three executors"

NOW = datetime(2026, 1, 2, tzinfo=UTC)
EXECUTORS = ("inprocess", "thread", "process")


def _build(folder: Path, count: int, chain: bool, executor: str) -> float:
    defs = write_noop_project(folder, count, chain=chain)
    project = api.load_project(file=defs)
    started = time.perf_counter()
    result = api.materialize(project, executor=executor, now=NOW, handle_signals=False)
    elapsed = time.perf_counter() - started
    assert result.counts == {"succeeded": count}, result.counts
    _, materializations, _ = catalog_rows(project.catalog_path)
    assert materializations == count, f"{materializations} materializations, expected {count}"
    if chain:
        order = [o.asset for o in result.outcomes]
        assert order == [f"a{i}" for i in range(count)], order[:5]
    return elapsed


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Three repetitions per shape and executor, interleaved, each in a fresh project."""
    shapes = {"independent": 50 if quick else 500, "chain": 20 if quick else 100}
    repeat = 3
    samples: dict[tuple[str, str], list[float]] = {
        (shape, executor): [] for shape in shapes for executor in EXECUTORS
    }
    for rep in range(repeat):
        for shape, count in shapes.items():
            for executor in EXECUTORS:
                folder = workdir / f"{shape}_{executor}_{rep}"
                elapsed = _build(folder, count, shape == "chain", executor)
                samples[(shape, executor)].append(elapsed)
    figures: dict[str, object] = {f"{shape}_assets": count for shape, count in shapes.items()}
    for (shape, executor), values in samples.items():
        count = shapes[shape]
        figures[f"{shape}_{executor}_s"] = values
        figures[f"{shape}_{executor}_per_step_ms"] = round(
            statistics.median(values) / count * 1000, 3
        )
    return figures
