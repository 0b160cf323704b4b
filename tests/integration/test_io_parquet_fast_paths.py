"""The Parquet store's per-step fast paths keep the semantics of the slow ones.

Covered: the per-process schema cache (invalidated when another process
replaces or removes the file it remembers), the fsyncs of a publish (each
folder that gains an entry exactly once, nothing twice), the direct read of one
partition (equal to the ``pyarrow.dataset`` scan), and data-version hashing
inline or in the shared pool, also in a forked child.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from partita.errors import StorageError
from partita.io import ParquetStore, load_as
from partita.io.arrow import THREADED_ROWS
from partita.io.paths import PartitionPath
from partita.io.staging import INLINE_HASH_BYTES
from partita.versions import data_version

DAY1: PartitionPath = (("date", "2025-01-01"),)
DAY2: PartitionPath = (("date", "2025-01-02"),)
DAY3: PartitionPath = (("date", "2025-01-03"),)


def other_process(root: Path, code: str) -> None:
    """Run ``code`` in a fresh interpreter with ``store = ParquetStore(root)``."""
    prelude = (
        "import pyarrow as pa\n"
        "from partita.io import ParquetStore\n"
        f"store = ParquetStore({str(root)!r})\n"
    )
    subprocess.run([sys.executable, "-c", prelude + code], check=True, timeout=60)


def test_schema_cache_sees_another_process_replace_the_remembered_file(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": pa.array([1], pa.int64())}))
    store.write("t", DAY2, pa.table({"x": pa.array([2], pa.int64())}))  # fills the cache
    other_process(
        tmp_path,
        "store.delete('t')\n"  # the same path comes back as another file
        "store.write('t', (('date', '2025-01-01'),), pa.table({'x': ['now text']}))\n",
    )
    with pytest.raises(StorageError, match=r"'x' changes type from string to int64"):
        store.write("t", DAY3, pa.table({"x": pa.array([3], pa.int64())}))
    store.write("t", DAY3, pa.table({"x": ["text too"]}))
    assert store.read("t", [DAY1, DAY3], pa.Table).column("x").to_pylist() == [
        "now text",
        "text too",
    ]


def test_schema_cache_sees_another_process_remove_the_asset(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": pa.array([1], pa.int64())}))
    store.write("t", DAY2, pa.table({"x": pa.array([2], pa.int64())}))
    other_process(
        tmp_path,
        "store.delete('t')\nstore.write('t', (('date', '2025-01-05'),), pa.table({'x': [0.5]}))\n",
    )
    with pytest.raises(StorageError, match=r"'x' changes type from double to string"):
        store.write("t", DAY3, pa.table({"x": ["a"]}))
    store.write("t", DAY3, pa.table({"x": pa.array([3], pa.int32())}))  # widens into double
    other_process(tmp_path, "store.delete('t')\n")
    store.write("t", DAY1, pa.table({"x": ["anything goes on an empty asset"]}))
    assert store.list_partitions("t") == [DAY1]


def test_schema_cache_after_the_same_store_deletes_and_changes_partitioning(
    tmp_path: Path,
) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": [1]}))
    with pytest.raises(StorageError, match="partition dimensions"):
        store.write("t", (("region", "eu"),), pa.table({"x": [1]}))
    store.delete("t")
    store.write("t", (("region", "eu"),), pa.table({"x": ["b"]}))
    with pytest.raises(StorageError, match="partition dimensions"):
        store.write("t", DAY1, pa.table({"x": ["b"]}))


def test_a_pickled_store_starts_with_an_empty_cache_and_still_checks(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": [1]}))
    copy = pickle.loads(pickle.dumps(store))
    assert copy == store
    with pytest.raises(StorageError, match="changes type"):
        copy.write("t", DAY2, pa.table({"x": ["a"]}))


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Paths passed to ``os.fsync`` (the real fsync still runs), in order."""
    calls: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        calls.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    yield calls


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_a_new_partition_folder_is_durable_and_nothing_is_fsynced_twice(
    tmp_path: Path, fsynced: list[str]
) -> None:
    root = tmp_path / "store"
    root.mkdir()
    store = ParquetStore(root)
    first = store.write("t", DAY1, pa.table({"x": [1]}))
    folder = Path(first.location).parent
    # the asset's first schema record (its temp file, recorded when staging), the
    # staged file, then each folder that gained an entry (the store root gained ``t``,
    # ``t`` gained the record and ``date=...``), then the folder the file was renamed into
    assert len(fsynced) == 5
    assert Path(fsynced[0]).parent == root / "t"
    assert Path(fsynced[0]).name.startswith("..partita-schema.json.")  # temp_name adds a dot
    assert Path(fsynced[1]).parent == folder and Path(fsynced[1]).name.endswith(".tmp")
    assert fsynced[2:] == [str(root), str(root / "t"), str(folder)]

    fsynced.clear()
    second = store.write("t", DAY2, pa.table({"x": [2]}))  # the same schema: no record
    assert fsynced[1:] == [str(root / "t"), str(Path(second.location).parent)]

    fsynced.clear()
    store.write("t", DAY2, pa.table({"x": [3]}))  # an overwrite creates no folder
    assert len(fsynced) == 2
    assert fsynced[1:] == [str(Path(second.location).parent)]
    assert len(set(fsynced)) == len(fsynced)

    fsynced.clear()
    ParquetStore(root, durable=False).write("t", DAY3, pa.table({"x": [4]}))
    assert fsynced == []


READ_CASES: dict[str, tuple[PartitionPath, object]] = {
    "pandas_frame": (DAY1, pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", None]})),
    "named_index": (DAY1, pd.DataFrame({"x": [1.0]}, index=pd.Index([5], name="idx"))),
    "empty_two_dims": (
        (("date", "2025-01-01"), ("region", "e/u")),
        pa.table({"x": pa.array([], pa.int64())}),
    ),
    "has_the_date_column": (DAY1, pa.table({"date": ["2025-01-01"], "v": [1]})),
    "unpartitioned": ((), pa.table({"v": [1, 2]})),
    "timestamps_and_categories": (
        DAY1,
        pd.DataFrame({"ts": pd.to_datetime(["2025-01-01"]), "c": pd.Categorical(["q"])}),
    ),
}


@pytest.mark.parametrize("case", READ_CASES)
def test_reading_one_partition_equals_the_dataset_scan(case: str, tmp_path: Path) -> None:
    partition, data = READ_CASES[case]
    store = ParquetStore(tmp_path)
    store.write("t", partition, data)
    direct = store.read("t", [partition], pa.Table)
    scanned = load_as(store.dataset("t", [partition]), pa.Table)
    assert direct.equals(scanned, check_metadata=True)
    pd.testing.assert_frame_equal(
        store.read("t", [partition]), load_as(store.dataset("t", [partition]))
    )


def test_reading_one_missing_partition_names_it(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("t", DAY1, pa.table({"x": [1]}))
    with pytest.raises(StorageError, match="partition date=2025-01-02 is not stored"):
        store.read("t", [DAY2])


def big_table(rows: int) -> pa.Table:
    return pa.table({"x": pa.array(range(rows), pa.int64()), "s": [f"v{i}" for i in range(rows)]})


def test_data_version_is_the_same_hashed_inline_or_in_the_pool(tmp_path: Path) -> None:
    table = big_table(200_000)
    assert table.nbytes > 2 * INLINE_HASH_BYTES
    store = ParquetStore(tmp_path, durable=False)
    one_batch = store.write("t", DAY1, table)  # hashed in a pool thread
    small = store.write("t", DAY2, table.to_reader(max_chunksize=1_000))  # inline
    mixed = pa.concat_tables([table.slice(0, 1_000), table.slice(1_000)])
    assert data_version(table) == one_batch.data_version == small.data_version
    assert store.write("t", DAY3, mixed).data_version == one_batch.data_version


def _write_in_child(root: Path) -> None:
    result = ParquetStore(root, durable=False).write("t", DAY2, big_table(200_000))
    assert result.data_version == data_version(big_table(200_000))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_hashing_pool_works_in_a_forked_child(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path, durable=False)
    store.write("t", DAY1, big_table(200_000))  # the parent's pool exists now
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(tmp_path,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert store.read("t", [DAY2], pa.Table).num_rows == 200_000


@pytest.mark.parametrize("rows", [1_000, THREADED_ROWS])
def test_pandas_round_trip_below_and_above_the_threading_threshold(
    rows: int, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"x": range(rows), "s": [f"v{i % 7}" for i in range(rows)]})
    store = ParquetStore(tmp_path, durable=False)
    result = store.write("t", DAY1, frame)
    assert result.data_version == data_version(pa.Table.from_pandas(frame))
    back = store.read("t", [DAY1]).drop(columns=["date"])
    pd.testing.assert_frame_equal(back, frame)
