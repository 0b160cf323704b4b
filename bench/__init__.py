"""Partita's benchmark suite: ``python -m bench`` (``make bench``).

Each workload of ``BENCHMARKS.md`` is a module of this package exposing
``NAME: str``, ``DESCRIPTION: str`` and
``run(quick: bool, workdir: pathlib.Path) -> dict[str, object]``. Values that
are lists of floats are repeated timings in seconds (the harness reports their
median, min and max); other values are scalars reported as they are. A workload
asserts its own correctness conditions: an ``AssertionError`` marks it failed.

:data:`WORKLOAD_MODULES` lists the workloads in the order they run; modules
that do not exist yet are skipped. See ``bench/README.md``.
"""

from __future__ import annotations

__all__ = ["WORKLOAD_MODULES"]

WORKLOAD_MODULES: tuple[str, ...] = (
    "foundation",
    "w1_chain",
    "w2_nothing",
    "w3_one_change",
    "w4_wide",
    "w5_overhead",
    "w6_io",
    "w7_catalog",
    "w7_postgres",
    "w8_planner",
    "checks_bench",
    "freshness_bench",
    "automation_bench",
    "w9_startup",
    "sql_bench",
    "pools_bench",
    "openlineage_bench",
    "w1_dask",
    "ui_bench",
)
"""Module names (inside ``bench``) of the standard workloads, in run order."""
