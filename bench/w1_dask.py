"""W1 on Dask: the W1 backfill on a local two-worker Dask cluster vs the process executor.

``raw -> clean -> daily_agg`` over the 365 days of 2025 (1,095 steps, W1's
project, :mod:`bench.projects`), one ``api.materialize`` of the whole range
from an empty project, interleaved in one run:

- ``dask``: ``executor="dask"`` on a ``distributed.LocalCluster`` of two
  worker processes (one thread each, 127.0.0.1) started once by the workload,
  given by address, so its start-up is not in the timing; the first run of
  each repetition loads the project on each worker (a new project folder);
- ``process``: the process executor with two workers;
- ``bare``: W1's bare pandas + Parquet loop.

Reports the medians, ``ratio_dask_vs_process`` and the per-step overheads
``(partita - bare) / steps`` of both executors (target on Dask: under 20 ms),
and once, ``dask_own_cluster_s``: a run that starts its own local cluster
(``executor="dask"`` without an address), start-up and shut-down included
(not in ``--quick`` runs: ``None``).
Every run is checked as W1 checks it (catalog and Parquet row counts equal the
bare loop's, lineage, sample partitions equal).
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

from distributed import LocalCluster

from bench.projects import ASSETS, bare_loop, chain_days
from bench.w1_chain import backfill as chain_backfill
from bench.w1_chain import check_backfill

NAME = "W1-dask"
DESCRIPTION = "W1 backfill on a local 2-worker Dask cluster vs the process executor (2 workers)"

WORKERS = 2


def backfill(folder: Path, days: int, executor: str, address: str | None) -> tuple[float, Path]:
    """Write W1's project to ``folder`` and materialize every partition; (seconds, defs)."""
    return chain_backfill(folder, days, executor, max_workers=WORKERS, dask_address=address)


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Time W1 on Dask, on the process executor and as the bare loop, interleaved."""
    days = 5 if quick else 365
    repeat = 1 if quick else 3
    steps = len(ASSETS) * days
    bare_s: list[float] = []
    timings: dict[str, list[float]] = {"dask": [], "process": []}
    with LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # no dashboard; no port 8787
        silence_logs=logging.ERROR,
    ) as cluster:
        address = str(cluster.scheduler_address)
        for rep in range(repeat):
            bare_root = workdir / f"bare{rep}"
            started = time.perf_counter()
            expected = bare_loop(bare_root, chain_days(days))
            bare_s.append(time.perf_counter() - started)
            assert len(expected) == steps
            for executor, samples in timings.items():
                where = address if executor == "dask" else None
                elapsed, defs = backfill(workdir / f"{executor}{rep}", days, executor, where)
                samples.append(elapsed)
                check_backfill(defs, expected, bare_root)
    own_s: float | None = None  # the quick smoke run skips a second cluster's start-up
    if not quick:
        own_s, defs = backfill(workdir / "own", days, "dask", None)
        check_backfill(defs, expected, workdir / f"bare{repeat - 1}")
    bare = statistics.median(bare_s)
    figures: dict[str, object] = {
        "partitions": steps,
        "workers": WORKERS,
        "bare_s": bare_s,
        "dask_own_cluster_s": own_s,
    }
    for executor, samples in timings.items():
        median = statistics.median(samples)
        figures[f"partita_{executor}_s"] = samples
        figures[f"overhead_per_step_{executor}_ms"] = round((median - bare) / steps * 1000, 3)
    dask, process = (statistics.median(timings[k]) for k in ("dask", "process"))
    figures["ratio_dask_vs_process"] = round(dask / process, 3)
    figures["dask_minus_process_per_step_ms"] = round((dask - process) / steps * 1000, 3)
    return figures
