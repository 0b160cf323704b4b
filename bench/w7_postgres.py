"""W7-PG: W7's catalog at scale, with the catalog in PostgreSQL.

The same 1,000,000 materializations as :mod:`bench.w7_catalog` (a chain of
daily-partitioned assets, each partition reading 3 of the asset before it),
recorded in SQLite and moved to PostgreSQL with ``partita catalog copy``
(timed: ``copy_s``), then measured there: ``record_step_outcome`` (one
transaction per step, as the runner records; target < 5 ms), the planner
state of every materialization (target < 2 s) cold (a new process opening
the catalog) and warm, the state after 1,000 new materializations, a
10-deep lineage query, and the database size. The server is a private one
started here (initdb/pg_ctl of the system, fsync on, on 127.0.0.1), or the
database named by ``PARTITA_BENCH_POSTGRES_URL`` (it is emptied).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from tests.postgres_support import PostgresServer, start_postgres

from bench.w7_catalog import _check, _fill, time_after_new, time_lineage, time_steps
from partita.catalog import copy_catalog
from partita.catalog.postgres import PostgresCatalog
from partita.catalog.sqlite import SQLiteCatalog

NAME = "W7-PG"
DESCRIPTION = "catalog scale on PostgreSQL: 1,000,000 materializations; state load, step record"

_COLD = """
import json, sys, time
import pandas  # imported by pyarrow's first table anyway: start-up, not the load
from partita.catalog.postgres import PostgresCatalog
started = time.perf_counter()
catalog = PostgresCatalog(sys.argv[1])
state = catalog.planner_state(sys.argv[2].split(","))
elapsed = time.perf_counter() - started
assert state.latest.num_rows == int(sys.argv[3]) == state.edges.num_rows
print(json.dumps({"s": elapsed}))
"""


def _cold(url: str, names: list[str], total: int) -> float:
    """Open the catalog and load the state in a new process (the imports excluded)."""
    out = subprocess.run(
        [sys.executable, "-c", _COLD, url, ",".join(names), str(total)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["s"])


def _database() -> tuple[str, PostgresServer | None]:
    given = os.environ.get("PARTITA_BENCH_POSTGRES_URL")
    if given:
        return given, None
    server = start_postgres(fsync=True)
    return server.new_database(), server


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Run W7-PG (``quick``: 10,000 materializations instead of 1,000,000)."""
    levels, days = (20, 500) if quick else (100, 10_000)
    total = levels * days
    url, server = _database()
    try:
        source = SQLiteCatalog(workdir / "source.db")
        _fill(source, range(levels), days, "fill-1")
        source.close()
        started = time.perf_counter()
        copied = copy_catalog(workdir / "source.db", url, replace=True)
        copy_s = time.perf_counter() - started
        assert copied.rows["materializations"] == total
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

        catalog = PostgresCatalog(url)
        step_s = time_steps(catalog)

        names = [f"a{level}" for level in range(levels)]
        cold = [_cold(url, names, total) for _ in range(3)]
        warm = [_check(catalog, names, total) for _ in range(3)]
        delta_s = time_after_new(catalog, levels, days, "fill-1")

        lineage_s, _ = time_lineage(catalog, levels, days)
        catalog.close()
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        size = int(row[0]) if row is not None else 0
    finally:
        if server is not None:
            server.stop()
    return {
        "materializations": total,
        "inputs_per_materialization": 3,
        "copy_s": copy_s,
        "copied_rows": sum(copied.rows.values()),
        "record_step_outcome_s": step_s,
        "planner_state_cold_s": cold,
        "planner_state_load_s": warm,
        "planner_state_after_1000_new_s": delta_s,
        "planner_state_rows": total,
        "lineage_10_deep_s": lineage_s,
        "database_bytes": size,
    }
