"""Crash safety and concurrency with real processes (SIGKILL, parallel writers)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from partita.io import DuckDBStore, ParquetStore
from partita.versions import data_version

WORKER = Path(__file__).with_name("io_worker.py")
PART = (("date", "2025-01-01"),)
OLD = pa.table({"x": list(range(1000)), "v": [1.0] * 1000})


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdout is not None
    for got in process.stdout:
        if got.strip() == line:
            return
    raise AssertionError(
        f"worker ended before {line!r}: {process.stderr.read() if process.stderr else ''}"
    )


def test_parquet_sigkill_mid_write_keeps_the_previous_file_byte_identical(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    result = store.write("big", PART, OLD)
    before = Path(result.location).read_bytes()
    process = start("crash", "parquet", str(tmp_path / "store"), "2000000")
    wait_for(process, "STAGING")
    process.send_signal(signal.SIGKILL)
    process.wait()
    folder = Path(result.location).parent
    temps = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and temps[0].stat().st_size > 0  # the crashed writer's leftover
    assert Path(result.location).read_bytes() == before
    assert store.read("big", [PART], pa.Table).equals(
        OLD.append_column("date", pa.array(["2025-01-01"] * 1000))
    )
    assert store.list_partitions("big") == [PART]
    store.write("big", PART, OLD)  # the next write cleans the leftover
    assert [p.name for p in folder.iterdir()] == ["data.parquet"]


def test_duckdb_sigkill_during_publish_keeps_the_previous_rows(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    store.write("big", PART, OLD)
    store.write("big", (("date", "2025-01-02"),), OLD)
    process = start("crash", "duckdb", str(store.path), "4000000")
    wait_for(process, "PUBLISHING")
    time.sleep(0.05)  # inside the delete + insert transaction, unless the machine is very fast
    process.send_signal(signal.SIGKILL)
    rest, _ = process.communicate()
    table = store.read("big", [PART], pa.Table).drop_columns(["date"])
    if "DONE" in rest:  # the transaction committed before the kill: all new rows
        assert table.num_rows == 4_000_000 and table.column("v").unique().to_pylist() == [7.0]
    else:  # killed before or inside the transaction: exactly the previous rows
        assert data_version(table) == data_version(OLD)
        assert len(list(store.staging_dir.iterdir())) == 1  # the staged file is left over
    assert store.read("big", [(("date", "2025-01-02"),)], pa.Table).num_rows == 1000
    store.write("big", PART, OLD)  # works after the crash and cleans the leftover
    assert list(store.staging_dir.iterdir()) == []
    assert store.read("big", [PART], pa.Table).num_rows == 1000


@pytest.mark.parametrize("kind", ["duckdb", "parquet"])
def test_concurrent_writer_processes_and_a_reader(kind: str, tmp_path: Path) -> None:
    location = str(tmp_path / ("db.duckdb" if kind == "duckdb" else "store"))
    writers = [start("write", kind, location, f"w{n}", "6") for n in range(3)]
    reader = start("read", kind, location, "2")
    for process in [*writers, reader]:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err + out
    assert reader.returncode == 0
    store = DuckDBStore(location) if kind == "duckdb" else ParquetStore(location)
    partitions = store.list_partitions("conc")
    assert len(partitions) == 3 * 6 + 1
    table = store.read("conc", partitions, pa.Table)
    assert table.num_rows == (3 * 6 + 1) * 1000
    assert store.read("conc", [(("p", "shared"),)], pa.Table).num_rows == 1000
