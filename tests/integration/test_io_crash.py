"""Crash safety and concurrency with real processes (SIGKILL, parallel writers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita.io import DuckDBStore, ParquetStore
from partita.versions import data_version

WORKER = Path(__file__).with_name("io_worker.py")
PART = (("date", "2025-01-01"),)
OTHER = (("date", "2025-01-02"),)
OLD = pa.table({"x": list(range(1000)), "v": [1.0] * 1000})


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )


def wait_for(process: subprocess.Popen[str], line: str) -> str:
    """Read the worker's output up to a line starting with ``line``; the rest of that line."""
    assert process.stdout is not None
    for got in process.stdout:
        if got.strip().startswith(line):
            return got.strip()[len(line) :].strip()
    raise AssertionError(
        f"worker ended before {line!r}: {process.stderr.read() if process.stderr else ''}"
    )


def wait_for_marker(process: subprocess.Popen[str], marker: Path, timeout: float = 120) -> str:
    """Wait until the worker's pause hook wrote ``marker``; return its text (the pid).

    Fails when the worker ends first: the hook did not pause it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.is_file() and (text := marker.read_text()):
            return text
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"worker ended without pausing in the transaction: {out}{err}")
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"no marker {marker} after {timeout} s")


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


def test_parquet_sigkill_between_staging_and_publishing_keeps_the_previous_file(
    tmp_path: Path,
) -> None:
    store = ParquetStore(tmp_path / "store")
    result = store.write("big", PART, OLD)
    before = Path(result.location).read_bytes()
    process = start("staged", "parquet", str(store.root), "300000")
    staged = Path(wait_for(process, "STAGED"))
    process.send_signal(signal.SIGKILL)
    rest, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL and "DONE" not in rest
    # killed with the staged file complete (all its rows readable) but not renamed
    assert pq.read_metadata(staged).num_rows == 300_000
    assert Path(result.location).read_bytes() == before
    assert data_version(store.read("big", [PART], pa.Table).drop_columns(["date"])) == (
        data_version(OLD)
    )
    store.write("big", PART, OLD.slice(0, 10))  # works, and cleans the leftover
    assert not staged.exists()
    assert store.read("big", [PART], pa.Table).num_rows == 10


def test_duckdb_sigkill_during_publish_keeps_the_previous_rows(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    store.write("big", PART, OLD)
    store.write("big", OTHER, OLD)
    marker = tmp_path / "paused-before-commit"
    process = start(
        "crash",
        "duckdb",
        str(store.path),
        "1000000",
        env={"PARTITA_TEST_PAUSE_IN_PUBLISH": str(marker)},
    )
    # the hook wrote the marker after the DELETE and INSERT, before the COMMIT
    assert wait_for_marker(process, marker) == str(process.pid)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert "PUBLISHING" in out and "DONE" not in out
    # exactly the previous rows: none of the 1,000,000 new ones, none deleted
    table = store.read("big", [PART], pa.Table).drop_columns(["date"])
    assert data_version(table) == data_version(OLD)
    assert data_version(store.read("big", [OTHER], pa.Table).drop_columns(["date"])) == (
        data_version(OLD)
    )
    assert store.list_partitions("big") == sorted([PART, OTHER])
    assert len(list(store.staging_dir.iterdir())) == 1  # the staged file is left over
    new = pa.table({"x": [1, 2, 3], "v": [2.0] * 3})
    store.write("big", PART, new)  # works after the crash and cleans the leftover
    assert list(store.staging_dir.iterdir()) == []
    assert data_version(store.read("big", [PART], pa.Table).drop_columns(["date"])) == (
        data_version(new)
    )


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
