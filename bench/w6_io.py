"""W6: IO throughput and memory of the stores.

* Parquet: P partitions x R rows x 5 columns written through
  ``ParquetStore.write`` (data versions and fsyncs included) against a bare
  ``pyarrow.parquet.write_table`` to a temp file + ``os.replace`` loop in the
  same run, interleaved; ``ratio = median(store) / median(bare)`` (target <= 1.15).
* DuckDB: overwrite one 100,000-row partition of a 10,000,000-row table through
  ``DuckDBStore.write`` (target < 1 s); the row count is checked after each of
  5 overwrites.
* DuckDB through the runner: two daily assets in one DuckDB file (``sales``,
  1,000 rows a day, and ``totals`` reading it), 120 days (10 with ``--quick``)
  materialized in process, against a bare loop doing the same work on one
  connection (delete + insert of each day, the day read back), interleaved, 3
  of each: ``duckdb_run_ratio``, ``duckdb_run_per_partition_ms``.
* Streaming: a 2 GB RecordBatchReader into the Parquet store in a subprocess;
  its peak RSS increase (``ru_maxrss``) is reported (target < 500 MB).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from partita.io import DuckDBStore, ParquetStore
from partita.versions import data_version

NAME = "W6"
DESCRIPTION = "IO: Parquet store vs bare write loop, DuckDB partition overwrite, 2 GB streaming"

_STREAM_CODE = r"""
import resource, sys, numpy as np, pyarrow as pa
from partita.io import ParquetStore
root, total_bytes = sys.argv[1], int(sys.argv[2])
rows = 1 << 20  # 16 MiB per batch (two 8-byte columns)
batches = max(1, total_bytes // (rows * 16))
def gen():
    for i in range(batches):
        start = i * rows
        values = np.arange(start, start + rows)
        yield pa.record_batch({"i": values, "f": values * 0.5})
import os
with open("/proc/self/statm") as statm:  # current RSS, not the import-time peak
    base = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
result = ParquetStore(root).write("stream", (), gen())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(result.rows, batches * rows, (peak - base) * 1024, base * 1024, batches * rows * 16)
"""


def _tables(rows: int, count: int) -> list[pa.Table]:
    rng = np.random.default_rng(6)
    labels = pa.array([f"customer-{i:05d}" for i in range(1000)])
    tables = []
    for _ in range(count):
        tables.append(
            pa.table(
                {
                    "id": np.arange(rows, dtype=np.int64),
                    "amount": rng.random(rows),
                    "quantity": rng.integers(0, 1000, rows),
                    "customer": labels.take(pa.array(rng.integers(0, 1000, rows))),
                    "price": rng.random(rows) * 100,
                }
            )
        )
    return tables


def _parquet(quick: bool, workdir: Path, repeat: int) -> dict[str, object]:
    partitions, rows = (20, 20_000) if quick else (200, 200_000)
    tables = _tables(rows, 4)
    days = [f"d{i:04d}" for i in range(partitions)]
    store = ParquetStore(workdir / "store")
    bare_root = workdir / "bare" / "w6" / "orders"
    store_s: list[float] = []
    bare_s: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        for i, value in enumerate(days):
            folder = bare_root / f"date={value}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(tables[i % 4], folder / ".data.parquet.tmp")
            (folder / ".data.parquet.tmp").replace(folder / "data.parquet")
        bare_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        results = [
            store.write("w6/orders", (("date", value),), tables[i % 4])
            for i, value in enumerate(days)
        ]
        store_s.append(time.perf_counter() - start)
        assert [r.rows for r in results] == [rows] * partitions
    expected = [data_version(t) for t in tables]
    assert [r.data_version for r in results] == [expected[i % 4] for i in range(partitions)]
    assert len(store.list_partitions("w6/orders")) == partitions
    window = store.read("w6/orders", [(("date", d),) for d in days[:7]], pa.Table)
    assert window.num_rows == 7 * rows
    assert window.column("date").unique().to_pylist() == days[:7]
    return {
        "parquet_store_s": store_s,
        "parquet_bare_s": bare_s,
        "ratio": round(statistics.median(store_s) / statistics.median(bare_s), 3),
        "parquet_partitions": partitions,
        "parquet_rows_per_partition": rows,
    }


def _duckdb(quick: bool, workdir: Path) -> dict[str, object]:
    partitions, rows = (10, 10_000) if quick else (100, 100_000)
    store = DuckDBStore(workdir / "bench.duckdb")
    table = _tables(rows, 1)[0]
    store.write("w6/events", (("date", "p0000"),), table)
    with duckdb.connect(str(store.path)) as con:  # seed the other partitions in bulk
        con.execute(
            'INSERT INTO "w6"."events" BY NAME SELECT i % ? AS id, random() AS amount, '
            "i % 1000 AS quantity, 'c' || (i % 1000) AS customer, random() * 100 AS price, "
            "'p' || lpad(CAST(1 + i // ? AS VARCHAR), 4, '0') AS date FROM range(?) t(i)",
            [rows, rows, rows * (partitions - 1)],
        )
    total = partitions * rows
    samples: list[float] = []
    version = data_version(table)
    for _ in range(5):
        start = time.perf_counter()
        result = store.write("w6/events", (("date", "p0000"),), table)
        samples.append(time.perf_counter() - start)
        assert result.data_version == version
        with duckdb.connect(str(store.path), read_only=True) as con:
            assert con.sql('SELECT count(*) FROM "w6"."events"').fetchall() == [(total,)]
            count = con.sql('SELECT count(*) FROM "w6"."events" WHERE date = \'p0000\'')
            assert count.fetchall() == [(rows,)]
    return {
        "duckdb_overwrite_s": samples,
        "duckdb_table_rows": total,
        "duckdb_partition_rows": rows,
    }


_DUCKDB_PROJECT = """
import pandas as pd
from partita import DailyPartitions, Definitions, asset
from partita.io import DuckDBStore

DAYS = DailyPartitions(start="2025-01-01", end="{end}")


@asset(partitions=DAYS, store="warehouse")
def sales(context) -> pd.DataFrame:
    return pd.DataFrame({{"amount": range(1000), "day": context.partition_key}})


@asset(partitions=DAYS, store="warehouse")
def totals(sales: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({{"total": [sales["amount"].sum()]}})


defs = Definitions(
    assets=[sales, totals], resources={{"warehouse": DuckDBStore("{db}")}}
)
"""


def _duckdb_bare(db: Path, days: list[str]) -> None:
    """The same two tables a day, by hand on one connection."""
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE sales (amount BIGINT, day VARCHAR, date VARCHAR)")
        con.execute("CREATE TABLE totals (total BIGINT, date VARCHAR)")
        for day in days:
            con.register("frame", pd.DataFrame({"amount": range(1000), "day": day}))
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM sales WHERE date = ?", [day])
            con.execute("INSERT INTO sales SELECT *, ? FROM frame", [day])
            con.execute("COMMIT")
            read = con.execute("SELECT amount, day FROM sales WHERE date = ?", [day]).df()
            con.register("total", pd.DataFrame({"total": [read["amount"].sum()]}))
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM totals WHERE date = ?", [day])
            con.execute("INSERT INTO totals SELECT *, ? FROM total", [day])
            con.execute("COMMIT")


def _duckdb_run(quick: bool, workdir: Path) -> dict[str, object]:
    from partita import api  # noqa: PLC0415 - the runner only for this part

    count = 10 if quick else 120
    first = date(2025, 1, 1)
    days = [(first + timedelta(days=i)).isoformat() for i in range(count)]
    now = datetime(2026, 1, 2, tzinfo=UTC)
    ours: list[float] = []
    bare: list[float] = []
    for rep in range(3):
        folder = workdir / f"duckdb_run{rep}"
        folder.mkdir(parents=True)
        db = folder / "warehouse.duckdb"
        end = (first + timedelta(days=count)).isoformat()
        (folder / "defs.py").write_text(_DUCKDB_PROJECT.format(end=end, db=db))
        project = api.load_project(file=folder / "defs.py")
        start = time.perf_counter()
        result = api.materialize(project, executor="inprocess", now=now, handle_signals=False)
        ours.append(time.perf_counter() - start)
        assert result.status == "succeeded", result.summary_lines()
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.sql('SELECT count(*) FROM "sales"').fetchall() == [(1000 * count,)]
            assert con.sql('SELECT sum(total) FROM "totals"').fetchall() == [(499_500 * count,)]
        start = time.perf_counter()
        _duckdb_bare(workdir / f"duckdb_bare{rep}.duckdb", days)
        bare.append(time.perf_counter() - start)
    median = statistics.median(ours)
    return {
        "duckdb_run_s": ours,
        "duckdb_bare_s": bare,
        "duckdb_run_partitions": 2 * count,
        "duckdb_run_per_partition_ms": round(median / (2 * count) * 1000, 2),
        "duckdb_run_ratio": round(median / statistics.median(bare), 2),
    }


def _stream(quick: bool, workdir: Path) -> dict[str, object]:
    total = (200 << 20) if quick else (2 << 30)
    process = subprocess.run(
        [sys.executable, "-c", _STREAM_CODE, str(workdir / "stream"), str(total)],
        capture_output=True,
        text=True,
        check=True,
    )
    written, expected, delta, base, logical = (int(x) for x in process.stdout.split())
    assert written == expected
    return {
        "stream_bytes": logical,
        "stream_peak_rss_delta_mb": round(delta / 2**20, 1),
        "stream_base_rss_mb": round(base / 2**20, 1),
    }


def run(quick: bool, workdir: Path) -> dict[str, object]:
    """Run W6 in ``workdir``; ``quick`` shrinks every size to run in seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {}
    figures.update(_parquet(quick, workdir, repeat=3))
    figures.update(_duckdb(quick, workdir))
    figures.update(_duckdb_run(quick, workdir))
    figures.update(_stream(quick, workdir))
    return figures


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv, Path(sys.argv[-1])), indent=2))
