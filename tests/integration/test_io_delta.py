"""DeltaStore beyond the conformance suite: real Delta tables, one commit per publish,
time travel, and ``partita history`` showing the Delta version of each write (on
``s3://`` served by moto, tests/s3_support.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from partita.io import DeltaStore, ReachableStore, VersionedStore
from partita.io.object_store import ObjectAccessError
from tests.conftest import run_cli, write_project
from tests.s3_support import new_bucket

DAY1, DAY2 = (("date", "2025-03-01"),), (("date", "2025-03-02"),)


def test_each_publish_is_one_commit_of_a_partitioned_table_with_time_travel(
    tmp_path: Path,
) -> None:
    store = DeltaStore(tmp_path / "lake")
    assert isinstance(store, VersionedStore)
    first = store.write("sales/orders", DAY1, pa.table({"x": [1, 2]}))
    store.write("sales/orders", DAY2, pa.table({"x": [3]}))
    second = store.write("sales/orders", DAY1, pa.table({"x": [10]}))
    uri = store.table_uri("sales/orders")
    assert uri == str(tmp_path / "lake" / "sales" / "orders")
    table = DeltaTable(uri)
    assert table.version() == 2  # three publishes, three commits
    assert table.metadata().partition_columns == ["date"]
    assert sorted(table.to_pyarrow_table().column("x").to_pylist()) == [3, 10]
    # time travel: version 1 still holds the first write of DAY1
    old = DeltaTable(uri, version=1).to_pyarrow_table(filters=[("date", "=", "2025-03-01")])
    assert old.column("x").to_pylist() == [1, 2]
    versions = store.table_versions("sales/orders")
    assert [(v.version, v.partition, v.data_version) for v in versions] == [
        (2, "date=2025-03-01", second.data_version),
        (1, "date=2025-03-02", versions[1].data_version),
        (0, "date=2025-03-01", first.data_version),
    ]
    store.delete("sales/orders", DAY2)
    assert store.list_partitions("sales/orders") == [DAY1]


def test_materialize_into_delta_on_s3_and_history_shows_table_versions(tmp_path: Path) -> None:
    bucket = new_bucket()
    folder = write_project(
        tmp_path / "project",
        f"""
        import pandas as pd
        from partita import Definitions, DailyPartitions, asset
        from partita.io import DeltaStore

        days = DailyPartitions(start="2025-01-01", end="2025-01-03")

        @asset(partitions=days)
        def orders(context) -> pd.DataFrame:
            return pd.DataFrame({{"amount": [1.0, 2.0]}})

        defs = Definitions(assets=[orders], store=DeltaStore("s3://{bucket}/lake"))
        """,
    )
    run_cli(["materialize"], folder, check=True)
    run_cli(
        ["materialize", "--force", "--partition", "2025-01-01", "--executor", "thread"],
        folder,
        check=True,
    )
    shown = run_cli(["history", "orders", "--json"], folder, check=True)
    mats = json.loads(shown.stdout)["materializations"]
    pairs = [(m["partition"], m["table_version"]) for m in mats]
    assert pairs[0] == ("2025-01-01", 2)  # the forced rebuild: the newest commit
    # the first run wrote both days (in either order): versions 0 and 1
    assert sorted(pairs[1:]) in (
        [("2025-01-01", 0), ("2025-01-02", 1)],
        [("2025-01-01", 1), ("2025-01-02", 0)],
    )
    table = run_cli(["history", "orders"], folder, check=True)
    assert "table version" in table.stdout
    assert "v2" in table.stdout
    lake = DeltaStore(f"s3://{bucket}/lake")
    assert lake.list_partitions("orders") == [
        (("date", "2025-01-01"),),
        (("date", "2025-01-02"),),
    ]


def test_a_delta_store_on_a_missing_bucket_fails_its_access_check() -> None:
    new_bucket()  # the shared server and its client environment
    store = DeltaStore("s3://no-such-bucket-for-delta/lake")
    assert isinstance(store, ReachableStore)
    with pytest.raises(ObjectAccessError, match="the bucket does not exist"):
        store.check_access()


def test_a_writer_killed_before_its_commit_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    store = DeltaStore(tmp_path / "lake")
    store.write("t", DAY1, pa.table({"x": [1, 2, 3]}))
    marker = tmp_path / "paused"
    code = (
        "import sys; import pyarrow as pa; from partita.io import DeltaStore\n"
        "DeltaStore(sys.argv[1]).write('t', (('date', '2025-03-01'),), pa.table({'x': [9]}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)]),
        "PARTITA_TEST_PAUSE_IN_PUBLISH": str(marker),
    }
    writer = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "lake")], env=env)
    deadline = time.monotonic() + 60
    while not marker.exists() and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the writer did not reach its commit"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert DeltaTable(store.table_uri("t")).version() == 0  # no commit was made
    assert store.read("t", [DAY1], pa.Table).column("x").to_pylist() == [1, 2, 3]
    staging = tmp_path / "lake" / ".partita-staging"
    assert len([p for p in staging.iterdir() if p.suffix == ".tmp"]) == 1  # its staged file
    store.write("t", DAY1, pa.table({"x": [4]}))  # works, and removes the leftover
    assert [p for p in staging.iterdir() if p.suffix == ".tmp"] == []
    assert store.read("t", [DAY1], pa.Table).column("x").to_pylist() == [4]
