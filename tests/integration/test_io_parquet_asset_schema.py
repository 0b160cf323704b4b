"""The Parquet store checks a write against the whole asset's schema (issue 13 item 5).

The schema of all published files is recorded in the asset folder
(``.partita-schema.json``) before a publish renames its file into place, under
the asset's lock; the footers of the published files decide when the record
refuses a write or is missing. Real files, real processes (a publisher killed
between recording the schema and renaming its data).
"""

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

from partita.errors import SchemaChangeError
from partita.io import ParquetStore
from partita.io.asset_schema import SCHEMA_FILE, AssetSchema
from partita.io.paths import PartitionPath

DAY1: PartitionPath = (("date", "2025-01-01"),)
DAY2: PartitionPath = (("date", "2025-01-02"),)
DAY3: PartitionPath = (("date", "2025-01-03"),)
ID_AS_INT = pa.table({"x": [2], "id": [7]})
ID_AS_TEXT = pa.table({"x": [3], "id": ["seven"]})


def record(root: Path, asset: str = "t") -> AssetSchema | None:
    return AssetSchema.from_json((root / asset / SCHEMA_FILE).read_bytes())


def test_each_write_by_a_new_store_object_is_checked_against_every_partition(
    tmp_path: Path,
) -> None:
    ParquetStore(tmp_path).write("t", DAY1, pa.table({"x": [1]}))
    ParquetStore(tmp_path).write("t", DAY2, ID_AS_INT)
    with pytest.raises(SchemaChangeError, match=r"column 'id' changes type from int64 to string"):
        ParquetStore(tmp_path).write("t", DAY3, ID_AS_TEXT)
    assert record(tmp_path) == AssetSchema(("date",), {"x": "int64", "id": "int64"})


def test_a_store_written_before_the_record_existed_is_checked_from_its_files(
    tmp_path: Path,
) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": [1]}))
    store.write("t", DAY2, ID_AS_INT)
    (tmp_path / "t" / SCHEMA_FILE).unlink()  # as an earlier version left it
    with pytest.raises(SchemaChangeError, match=r"column 'id' changes type from int64 to string"):
        ParquetStore(tmp_path).write("t", DAY3, ID_AS_TEXT)
    ParquetStore(tmp_path).write("t", DAY3, pa.table({"x": [3.5]}))  # widens x
    assert record(tmp_path) == AssetSchema(("date",), {"x": "double", "id": "int64"})


def test_an_unreadable_record_is_rebuilt_from_the_files(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, ID_AS_INT)
    (tmp_path / "t" / SCHEMA_FILE).write_text("{not json")
    with pytest.raises(SchemaChangeError, match=r"'id' changes type from int64 to string"):
        ParquetStore(tmp_path).write("t", DAY2, ID_AS_TEXT)
    ParquetStore(tmp_path).write("t", DAY2, ID_AS_INT)
    assert record(tmp_path) == AssetSchema(("date",), {"x": "int64", "id": "int64"})


def test_partitions_that_already_disagree_are_named_until_one_is_deleted(tmp_path: Path) -> None:
    # what an earlier version let through: two partitions that cannot be read together
    for day, table in ((DAY2, ID_AS_INT), (DAY3, ID_AS_TEXT)):
        folder = tmp_path / "t" / f"date={day[0][1]}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "data.parquet")
    store = ParquetStore(tmp_path)
    with pytest.raises(SchemaChangeError) as caught:
        store.write("t", DAY1, pa.table({"x": [1]}))
    message = str(caught.value)
    assert "column 'id'" in message
    assert "int64 in [date=2025-01-02]" in message and "string in [date=2025-01-03]" in message
    store.delete("t", DAY3)
    store.write("t", DAY1, pa.table({"x": [1]}))
    assert len(store.read("t", [DAY1, DAY2], pa.Table)) == 2


def test_a_deleted_partition_no_longer_holds_its_column_type(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": [1]}))
    store.write("t", DAY2, ID_AS_INT)
    store.delete("t", DAY2)  # the record keeps id: int64, the files no longer have it
    store.write("t", DAY3, ID_AS_TEXT)  # the files decide: accepted
    assert record(tmp_path) == AssetSchema(("date",), {"x": "int64", "id": "string"})
    with pytest.raises(SchemaChangeError, match="from string to int64"):
        store.write("t", DAY2, ID_AS_INT)


def test_deleting_the_asset_removes_its_record(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, ID_AS_INT)
    store.delete("t")
    assert not (tmp_path / "t" / SCHEMA_FILE).exists()
    store.write("t", (("region", "eu"),), ID_AS_TEXT)
    assert record(tmp_path) == AssetSchema(("region",), {"x": "int64", "id": "string"})


def test_a_write_that_changes_no_column_leaves_the_record_alone(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, ID_AS_INT)
    before = (tmp_path / "t" / SCHEMA_FILE).stat()
    store.write("t", DAY2, pa.table({"id": pa.array([1], pa.int32())}))  # fits int64
    store.write("t", DAY3, pa.table({"x": [9]}))
    after = (tmp_path / "t" / SCHEMA_FILE).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


PUBLISHER = """
import sys
import pyarrow as pa
from partita.io import ParquetStore
store = ParquetStore(sys.argv[1])
value = int(sys.argv[3]) if sys.argv[3].isdigit() else sys.argv[3]
store.write("t", (("date", sys.argv[2]),), pa.table({"x": [0], "id": [value]}))
print("DONE", flush=True)
"""


def publisher(root: Path, day: str, value: str, pause: Path | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if pause is not None:
        env["PARTITA_TEST_PAUSE_IN_PUBLISH"] = str(pause)
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(root), day, value],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for_file(path: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return
        assert process.poll() is None, "the publisher exited before its pause"
        time.sleep(0.05)
    raise AssertionError(f"no {path} after {timeout} s")


def test_a_publisher_killed_after_recording_its_schema_blocks_no_legal_write(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    ParquetStore(root).write("t", DAY1, pa.table({"x": [1]}))
    marker = tmp_path / "paused-before-rename"
    killed = publisher(root, "2025-01-02", "7", pause=marker)
    wait_for_file(marker, killed)
    # the killed write's schema is recorded, its data not renamed into place
    assert record(root) == AssetSchema(("date",), {"x": "int64", "id": "int64"})
    waiting = publisher(root, "2025-01-03", "seven")  # waits for the asset's lock
    time.sleep(1.0)
    assert waiting.poll() is None
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    out, _ = waiting.communicate(timeout=60)
    assert waiting.returncode == 0 and "DONE" in out  # id as text fits the published files
    store = ParquetStore(root)
    assert store.list_partitions("t") == [DAY1, DAY3]
    assert record(root) == AssetSchema(("date",), {"x": "int64", "id": "string"})
    with pytest.raises(SchemaChangeError, match="from string to int64"):
        store.write("t", DAY2, ID_AS_INT)  # now the killed write's type would not fit
    table = store.read("t", [DAY1, DAY3], pa.Table).sort_by("date")
    assert table.column("id").to_pylist() == [None, "seven"]


def test_concurrent_publishers_of_incompatible_types_leave_a_readable_asset(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    ParquetStore(root).write("t", DAY1, pa.table({"x": [1]}))
    days = [f"2025-02-{d:02d}" for d in range(1, 9)]
    processes = [publisher(root, day, "7" if i % 2 else "seven") for i, day in enumerate(days)]
    codes = [process.wait(timeout=120) for process in processes]
    store = ParquetStore(root)
    published = store.list_partitions("t")
    assert sum(code == 0 for code in codes) == len(published) - 1
    assert 1 <= len(published) - 1 < len(days)  # one type won, the other was refused
    table = store.read("t", published, pa.Table)  # all of them can be read together
    assert table.num_rows == len(published)
