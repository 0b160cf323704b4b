"""Helper process for the IO integration tests (crash and concurrency).

Usage: python io_worker.py MODE STORE_KIND LOCATION [ARGS...]
  crash   KIND LOCATION ROWS : overwrite partition date=2025-01-01 with ROWS rows,
                               printing STAGING / PUBLISHING; the test kills it (a
                               Parquet writer sleeps mid-write; a DuckDB one is paused
                               before its COMMIT by PARTITA_TEST_PAUSE_IN_PUBLISH).
  staged  KIND LOCATION ROWS : stage the same overwrite completely, print STAGED and
                               sleep before publishing; the test kills it there.
  write   KIND LOCATION WORKER N : write N partitions worker<W>-<i> of 1,000 rows each,
                               and overwrite the shared partition "shared" each time.
  read    KIND LOCATION SECONDS : read the "shared" partition in a loop; exit 1 on a
                               torn read (rows not all from one writer).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pyarrow as pa

from partita.io import DuckDBStore, ParquetStore


def open_store(kind: str, location: str) -> ParquetStore | DuckDBStore:
    return ParquetStore(location) if kind == "parquet" else DuckDBStore(location)


def crash(kind: str, location: str, rows: int) -> None:
    store = open_store(kind, location)
    batch_rows = 100_000

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, rows, batch_rows):
            if start == batch_rows * 3:
                print("STAGING", flush=True)
                if kind == "parquet":
                    time.sleep(60)  # killed here, mid-write
            yield pa.record_batch(
                {"x": pa.array(range(start, start + batch_rows)), "v": [7.0] * batch_rows}
            )

    staged = store.stage("big", (("date", "2025-01-01"),), batches())
    print("PUBLISHING", flush=True)
    store.publish(staged)
    print("DONE", flush=True)


def staged_then_publish(kind: str, location: str, rows: int) -> None:
    store = open_store(kind, location)
    table = pa.table({"x": pa.array(range(rows)), "v": [7.0] * rows})
    staged = store.stage("big", (("date", "2025-01-01"),), table)
    print(f"STAGED {staged.local_parquet}", flush=True)
    time.sleep(60)  # killed here: staged file complete, not yet published
    store.publish(staged)
    print("DONE", flush=True)


def write(kind: str, location: str, worker: str, count: int) -> None:
    store = open_store(kind, location)
    for i in range(count):
        table = pa.table({"w": [worker] * 1000, "i": list(range(1000))})
        store.write("conc", (("p", f"{worker}-{i}"),), table)
        store.write("conc", (("p", "shared"),), table)


def read(kind: str, location: str, seconds: float) -> None:
    store = open_store(kind, location)
    deadline = time.monotonic() + seconds
    reads = 0
    while time.monotonic() < deadline:
        try:
            table = store.read("conc", [(("p", "shared"),)], pa.Table)
        except Exception as exc:  # the partition may not exist yet
            if "not stored" in str(exc) or "does not exist" in str(exc):
                continue
            raise
        writers = set(table.column("w").to_pylist())
        if table.num_rows != 1000 or len(writers) != 1:
            print(f"TORN {table.num_rows} {writers}", flush=True)
            sys.exit(1)
        reads += 1
    print(f"READS {reads}", flush=True)
    if reads == 0:
        sys.exit(2)


if __name__ == "__main__":
    mode, kind, location, *rest = sys.argv[1:]
    if mode == "crash":
        crash(kind, location, int(rest[0]))
    elif mode == "staged":
        staged_then_publish(kind, location, int(rest[0]))
    elif mode == "write":
        write(kind, location, rest[0], int(rest[1]))
    else:
        read(kind, location, float(rest[0]))
