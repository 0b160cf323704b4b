"""ParquetStore on object storage, against a real S3 API (moto's server on loopback).

The store protocol itself is in ``test_store_conformance.py`` (store ``parquet-s3``);
here: a writer killed between its upload and its publish, two writer processes
racing on one partition while a reader reads, the errors of an unreachable
endpoint and a missing bucket (no secret echoed), and ``partita materialize`` of
a project whose store is on ``s3://``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from partita.errors import StorageError
from partita.io import ParquetStore
from partita.io.object_parquet import POINTER, ObjectParquetStore
from partita.io.object_store import ObjectAccessError
from tests.conftest import run_cli, write_project
from tests.s3_support import FAKE_SECRET, S3Server, client_env, new_bucket, shared_server

DAY = (("date", "2025-01-01"),)
ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
import pyarrow as pa
from partita.io import ParquetStore

url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = ParquetStore(url)
for i in range(count):
    table = pa.table({"writer": [name] * 2000, "i": [i] * 2000})
    store.write("t", (("date", "2025-01-01"),), table)
    print(name, i, flush=True)
"""


def _env(**extra: str) -> dict[str, str]:
    server = shared_server()
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return {**os.environ, **client_env(server.endpoint), "PYTHONPATH": path, **extra}


def _objects(store: ObjectParquetStore, folder: str) -> list[str]:
    return sorted(meta["path"].rsplit("/", 1)[-1] for meta in store.location.list_folder(folder))


def test_a_writer_killed_between_upload_and_publish_loses_nothing(tmp_path: Path) -> None:
    url = f"s3://{new_bucket()}/wh"
    store = ParquetStore(url)
    assert isinstance(store, ObjectParquetStore)
    store.write("t", DAY, pa.table({"x": [1, 2, 3]}))
    marker = tmp_path / "paused"
    code = textwrap.dedent(
        """
        import sys
        import pyarrow as pa
        from partita.io import ParquetStore
        store = ParquetStore(sys.argv[1])
        staged = store.stage("t", (("date", "2025-01-01"),), pa.table({"x": [9] * 100}))
        store.publish(staged)  # pauses before the pointer's put (test hook)
        """
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, url],
        env=_env(PARTITA_TEST_PAUSE_IN_PUBLISH=str(marker)),
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and writer.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the writer did not reach its publish"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    # the published version is intact; the killed writer's upload is an orphan
    assert store.read("t", [DAY], pa.Table).column("x").to_pylist() == [1, 2, 3]
    folder = "t/date=2025-01-01"
    assert len([n for n in _objects(store, folder) if n.startswith("part-")]) == 2
    # the next publish removes it once it is older than the grace (zero here)
    eager = ObjectParquetStore(url, orphan_grace=timedelta(0))
    eager.write("t", DAY, pa.table({"x": [4]}))
    names = _objects(store, folder)
    assert len(names) == 2 and POINTER in names  # one part object and the pointer
    assert store.read("t", [DAY], pa.Table).column("x").to_pylist() == [4]


def test_two_writers_racing_on_one_partition_while_a_reader_reads() -> None:
    url = f"s3://{new_bucket()}/wh"
    store = ParquetStore(url)
    store.write("t", DAY, pa.table({"writer": ["none"] * 2000, "i": [-1] * 2000}))
    count = 12
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, name, str(count)],
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    seen: set[tuple[str, int]] = set()
    while any(w.poll() is None for w in writers):
        table = store.read("t", [DAY], pa.Table)
        writer, i = table.column("writer").to_pylist(), table.column("i").to_pylist()
        rows = set(zip(writer, i, strict=True))
        assert len(rows) == 1 and table.num_rows == 2000  # one write, whole: never a mix
        seen |= rows
    for writer in writers:
        out, _ = writer.communicate()
        assert writer.returncode == 0
        assert out.split("\n")[-2] == f"{writer.args[4]} {count - 1}"
    final = store.read("t", [DAY], pa.Table)
    last = set(zip(final.column("writer").to_pylist(), final.column("i").to_pylist(), strict=True))
    assert last in ({("a", count - 1)}, {("b", count - 1)})
    assert len(seen) >= 2  # the reader saw the partition change while it was written
    # every superseded object was deleted: one part object and the pointer remain
    assert len(_objects(store, "t/date=2025-01-01")) == 2


def test_an_unreachable_endpoint_is_one_clear_error_without_the_secret() -> None:
    shared_server()
    store = ParquetStore("s3://some-bucket/wh", options={"endpoint": "http://127.0.0.1:9"})
    with pytest.raises(StorageError) as caught:
        store.list_partitions("t")
    message = str(caught.value)
    assert message.startswith("s3://some-bucket/wh: cannot list the store's objects")
    assert "127.0.0.1:9" in message
    assert "hint: check that the endpoint is reachable" in message
    assert FAKE_SECRET not in message


def test_a_missing_bucket_is_named_and_not_retried() -> None:
    shared_server()
    store = ParquetStore("s3://no-such-bucket-here/wh")
    with pytest.raises(ObjectAccessError) as caught:
        store.write("t", DAY, pa.table({"x": [1]}))
    assert (
        "s3://no-such-bucket-here/wh: cannot list the store's objects: the bucket does not "
        "exist" in str(caught.value)
    )
    assert caught.value.retryable is False
    assert FAKE_SECRET not in str(caught.value)


def test_refused_credentials_are_named_without_echoing_the_secret() -> None:
    shared_server()  # the fake credentials in the environment
    checking = S3Server.start(env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})  # moto checks keys
    try:
        store = ParquetStore("s3://some-bucket/wh", options={"endpoint": checking.endpoint})
        with pytest.raises(ObjectAccessError) as caught:
            store.list_partitions("t")
    finally:
        checking.stop()
    message = str(caught.value)
    assert "s3://some-bucket/wh: cannot list the store's objects: access is refused" in message
    assert "hint: check the credentials" in message
    assert FAKE_SECRET not in message
    assert caught.value.retryable is False


def test_materialize_a_project_whose_store_is_on_s3(tmp_path: Path) -> None:
    bucket = new_bucket()
    folder = write_project(
        tmp_path / "project",
        f"""
        import pandas as pd
        from partita import Definitions, DailyPartitions, ParquetStore, asset

        days = DailyPartitions(start="2025-01-01", end="2025-01-03")

        @asset(partitions=days)
        def orders(context) -> pd.DataFrame:
            return pd.DataFrame({{"amount": [1.0, 2.0], "day": [context.partition_key] * 2}})

        @asset(partitions=days)
        def totals(orders: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({{"total": [orders["amount"].sum()]}})

        defs = Definitions(assets=[orders, totals], store=ParquetStore("s3://{bucket}/wh"))
        """,
    )
    result = run_cli(["materialize"], folder, check=True)  # the process executor
    assert "built 4 partitions in 4 tasks" in result.stdout
    store = ParquetStore(f"s3://{bucket}/wh")
    days = [(("date", d),) for d in ("2025-01-01", "2025-01-02")]
    assert store.list_partitions("totals") == days
    assert store.read("totals", days, pa.Table).column("total").to_pylist() == [3.0, 3.0]
    assert store.list_partitions("orders") == days


def test_materialize_with_a_missing_bucket_exits_2_naming_it(tmp_path: Path) -> None:
    shared_server()
    folder = write_project(
        tmp_path / "project",
        """
        import pandas as pd
        from partita import Definitions, ParquetStore, asset

        @asset
        def orders() -> pd.DataFrame:
            return pd.DataFrame({"amount": [1.0]})

        defs = Definitions(assets=[orders], store=ParquetStore("s3://no-such-bucket-x/wh"))
        """,
    )
    result = run_cli(["materialize"], folder)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "s3://no-such-bucket-x/wh" in output
    assert "the bucket does not exist" in output
    assert "Traceback" not in output
    assert FAKE_SECRET not in output


def test_dataset_of_an_object_store_holds_the_published_rows() -> None:
    store = ParquetStore(f"s3://{new_bucket()}/wh")
    store.write("t", DAY, pa.table({"x": [1, 2]}))
    dataset = store.dataset("t", [DAY])
    assert dataset.to_table().column("x").to_pylist() == [1, 2]
    assert dataset.to_table().column("date").to_pylist() == ["2025-01-01"] * 2
    assert store.lineage_dataset("sales/orders")[1] == "wh/sales/orders"


def test_a_part_deleted_behind_the_store_is_named_as_gone() -> None:
    store = ParquetStore(f"s3://{new_bucket()}/wh")
    assert isinstance(store, ObjectParquetStore)
    store.write("t", DAY, pa.table({"x": [1, 2]}))
    folder = "t/date=2025-01-01"
    (part,) = [n for n in _objects(store, folder) if n != POINTER]
    store.location.delete([f"{folder}/{part}"])
    with pytest.raises(StorageError) as gone:
        store.read("t", [DAY], pa.Table)
    assert f"the published part {part} is gone" in str(gone.value)
    assert "kept changing" not in str(gone.value)
