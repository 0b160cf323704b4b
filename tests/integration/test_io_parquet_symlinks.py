"""The Parquet store never follows a symbolic link out of its root (issue 13 item 6).

Real links on a real filesystem: an asset folder, a key prefix folder, a
partition folder or a data file below the root that links elsewhere makes
every operation on that asset (read, write, list, delete) fail with a
``StorageError`` naming the link and its target, and nothing outside the root
is read, written or removed. Links that stay inside the root are followed; the
root itself may be a link.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita.errors import StorageError
from partita.io import ParquetStore
from partita.io.paths import PartitionPath

DAY1: PartitionPath = (("date", "2025-01-01"),)
DAY2: PartitionPath = (("date", "2025-01-02"),)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (links not followed) with a hash of its bytes."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the store root holding someone else's Parquet files."""
    folder = tmp_path / "elsewhere"
    (folder / "date=2025-01-01").mkdir(parents=True)
    pq.write_table(pa.table({"secret": [1, 2]}), folder / "date=2025-01-01" / "data.parquet")
    pq.write_table(pa.table({"secret": [3]}), folder / "data.parquet")
    (folder / "keep.txt").write_text("not the store's")
    return folder


Operation = Callable[[ParquetStore], object]

OPERATIONS: dict[str, Operation] = {
    "read_one": lambda store: store.read("orders", [DAY1], pa.Table),
    "read_many": lambda store: store.read("orders", [DAY1, DAY2], pa.Table),
    "write": lambda store: store.write("orders", DAY1, pa.table({"x": [1]})),
    "write_new_partition": lambda store: store.write("orders", DAY2, pa.table({"x": [1]})),
    "list": lambda store: store.list_partitions("orders"),
    "delete_partition": lambda store: store.delete("orders", DAY1),
    "delete_asset": lambda store: store.delete("orders"),
}
ON_THE_LINKED_PARTITION = [name for name in OPERATIONS if name != "write_new_partition"]
"""What touches partition date=2025-01-01 (or all partitions) when only that one is linked."""


def assert_refused(operation: Operation, store: ParquetStore, link: Path, target: Path) -> None:
    with pytest.raises(StorageError) as caught:
        operation(store)
    message = str(caught.value)
    assert str(link) in message
    assert str(target) in message
    assert "outside the store root" in message


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_asset_folder_linked_out_of_the_root_is_refused(
    operation: str, tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / "orders").symlink_to(outside)
    before = snapshot(outside)
    assert_refused(OPERATIONS[operation], ParquetStore(root), root / "orders", outside)
    assert snapshot(outside) == before
    assert (outside / "date=2025-01-01" / "data.parquet").is_file()
    assert (outside / "keep.txt").read_text() == "not the store's"


@pytest.mark.parametrize("operation", ["read_one", "write", "list", "delete_asset"])
def test_a_key_prefix_folder_linked_out_of_the_root_is_refused(
    operation: str, tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / "sales").symlink_to(outside)
    (outside / "orders" / "date=2025-01-01").mkdir(parents=True)
    pq.write_table(pa.table({"secret": [4]}), outside / "orders" / "date=2025-01-01" / "x.parquet")
    before = snapshot(outside)
    store = ParquetStore(root)
    calls: dict[str, Operation] = {
        "read_one": lambda s: s.read("sales/orders", [DAY1], pa.Table),
        "write": lambda s: s.write("sales/orders", DAY1, pa.table({"x": [1]})),
        "list": lambda s: s.list_partitions("sales/orders"),
        "delete_asset": lambda s: s.delete("sales/orders"),
    }
    assert_refused(calls[operation], store, root / "sales", outside)
    assert snapshot(outside) == before


@pytest.mark.parametrize("operation", ON_THE_LINKED_PARTITION)
def test_a_partition_folder_linked_out_of_the_root_is_refused(
    operation: str, tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "store"
    store = ParquetStore(root)
    store.write("orders", DAY2, pa.table({"x": [2]}))
    store.delete("orders", DAY2)  # the asset exists, its day-2 folder does not
    link = root / "orders" / "date=2025-01-01"
    link.symlink_to(outside / "date=2025-01-01")
    before = snapshot(outside)
    assert_refused(OPERATIONS[operation], store, link, outside / "date=2025-01-01")
    assert snapshot(outside) == before


@pytest.mark.parametrize("operation", ON_THE_LINKED_PARTITION)
def test_a_data_file_linked_out_of_the_root_is_refused(
    operation: str, tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "store"
    store = ParquetStore(root)
    store.write("orders", DAY1, pa.table({"secret": [0]}))
    store.write("orders", DAY2, pa.table({"secret": [0]}))
    link = root / "orders" / "date=2025-01-01" / "data.parquet"
    link.unlink()
    link.symlink_to(outside / "data.parquet")
    before = snapshot(outside)
    assert_refused(OPERATIONS[operation], store, link, outside / "data.parquet")
    assert snapshot(outside) == before
    assert link.is_symlink()  # not replaced, not removed


def test_the_check_happens_in_a_store_that_already_knows_the_asset(
    tmp_path: Path, outside: Path
) -> None:
    """A partition folder linked out after the store has cached the asset folder."""
    root = tmp_path / "store"
    store = ParquetStore(root)
    store.write("orders", DAY2, pa.table({"x": [2]}))
    assert store.read("orders", [DAY2], pa.Table).num_rows == 1
    link = root / "orders" / "date=2025-01-01"
    link.symlink_to(outside / "date=2025-01-01")
    before = snapshot(outside)
    for name in ON_THE_LINKED_PARTITION:
        with pytest.raises(StorageError, match="outside the store root"):
            OPERATIONS[name](store)
    assert snapshot(outside) == before


def test_other_partitions_of_an_asset_with_a_linked_partition_can_be_written(
    tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "store"
    store = ParquetStore(root)
    store.write("orders", DAY2, pa.table({"x": [2]}))
    (root / "orders" / "date=2025-01-01").symlink_to(outside / "date=2025-01-01")
    before = snapshot(outside)
    store.write("orders", DAY2, pa.table({"x": [3]}))  # nothing of it is behind the link
    assert store.read("orders", [DAY2], pa.Table).column("x").to_pylist() == [3]
    assert snapshot(outside) == before


def test_a_relative_link_that_climbs_out_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / "orders").symlink_to(Path("..") / "elsewhere")
    before = snapshot(outside)
    with pytest.raises(StorageError, match="outside the store root") as caught:
        ParquetStore(root).delete("orders")
    assert str(outside) in str(caught.value)
    assert snapshot(outside) == before


def test_links_that_stay_inside_the_root_are_followed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ParquetStore(root)
    store.write("real_orders", DAY1, pa.table({"x": [1]}))
    (root / "orders").symlink_to(root / "real_orders")
    assert store.list_partitions("orders") == [DAY1]
    assert store.read("orders", [DAY1], pa.Table).column("x").to_pylist() == [1]
    store.write("orders", DAY2, pa.table({"x": [2]}))
    assert store.list_partitions("real_orders") == [DAY1, DAY2]


def test_the_root_itself_may_be_a_link(tmp_path: Path) -> None:
    (tmp_path / "disk").mkdir()
    root = tmp_path / "store"
    root.symlink_to(tmp_path / "disk")
    store = ParquetStore(root)
    store.write("orders", DAY1, pa.table({"x": [1]}))
    assert store.read("orders", [DAY1], pa.Table).column("x").to_pylist() == [1]
    assert (tmp_path / "disk" / "orders" / "date=2025-01-01" / "data.parquet").is_file()
    store.delete("orders")
    assert store.list_partitions("orders") == []


def test_a_dangling_link_out_of_the_root_is_refused_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    root.mkdir()
    target = tmp_path / "not_yet"
    (root / "orders").symlink_to(target)
    with pytest.raises(StorageError, match="outside the store root"):
        ParquetStore(root).write("orders", DAY1, pa.table({"x": [1]}))
    assert not os.path.lexists(target)
