"""Inputs handed over in memory skip the read-back, and never serve stale data.

The observable: after an upstream partition is published, its file is spoiled
in place (same inode, size and modification time; the bytes zeroed), so any
read of it fails. A reader in the same worker still gets the upstream's data,
which can only come from memory; a reader elsewhere, or of a value that was
not kept, fails. Runs are real: ``partita.materialize`` with the in-process and
thread executors, and a real pool of worker processes for the choice of worker.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import partita
from partita import DailyPartitions, Definitions, asset
from partita.graph import AssetGraph
from partita.io import ParquetStore
from partita.runner.messages import Outcome, ReadRequest, WorkItem, WorkResult
from partita.runner.output_cache import OutputCache
from partita.runner.process_executor import ProcessExecutor, ProjectRef
from partita.runner.worker import WorkerRuntime

from .runtime_support import published

KEYS = ["2025-01-01", "2025-01-02", "2025-01-03"]
DAYS = DailyPartitions(start=KEYS[0], end="2025-01-04")
RECEIVED: dict[str, pd.DataFrame] = {}
SETTINGS: dict[str, Any] = {"home": None, "stream": False}


def raw_frame(key: str) -> pd.DataFrame:
    """``raw``'s data for a day."""
    day = int(key[-2:])
    return pd.DataFrame({"day": [day] * 3, "amount": [1.5 * day, -2.0, 4.25]})


def spoil(path: Path) -> None:
    """Zero a file's bytes in place, keeping its inode, size and modification time."""
    before = path.stat()
    path.write_bytes(b"\0" * before.st_size)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _raw_file(home: Path, key: str) -> Path:
    found = list(home.rglob(f"raw/date={key}/data.parquet"))
    assert len(found) == 1, found
    return found[0]


def _batches(frame: pd.DataFrame) -> Iterator[pa.RecordBatch]:
    yield from pa.Table.from_pandas(frame).to_batches()


@asset(partitions=DAYS)
def raw(context: partita.AssetContext) -> Any:
    """A day's rows, returned as a frame (kept) or as a generator of batches (streamed)."""
    frame = raw_frame(context.partition_key or "")
    return _batches(frame) if SETTINGS["stream"] else frame


@asset(partitions=DAYS, deps=["raw"])
def spoiler(context: partita.AssetContext) -> None:
    """Runs after ``raw``: spoils its published file."""
    spoil(_raw_file(SETTINGS["home"], context.partition_key or ""))


@asset(partitions=DAYS, deps=["spoiler"])
def clean(context: partita.AssetContext, raw: pd.DataFrame) -> pd.DataFrame:
    """Reads ``raw`` after its file was spoiled."""
    RECEIVED[context.partition_key or ""] = raw
    return raw[raw["amount"] > 0]


DEFS = Definitions(assets=[raw, spoiler, clean])


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    SETTINGS.update(home=tmp_path, stream=False)
    RECEIVED.clear()
    yield tmp_path
    SETTINGS.update(home=None, stream=False)


@pytest.mark.parametrize("executor", ["inprocess", "thread"])
def test_a_reader_in_the_same_worker_does_not_read_the_file_back(executor: str, home: Path) -> None:
    result = partita.materialize(
        DEFS, home=home, executor=executor, max_workers=2, handle_signals=False
    )
    assert result.status == "succeeded", "\n".join(result.summary_lines())
    assert set(RECEIVED) == set(KEYS)
    for key, frame in RECEIVED.items():
        pd.testing.assert_frame_equal(frame, raw_frame(key), check_exact=True)
        with pytest.raises(Exception, match=r"(?i)parquet|magic|invalid|corrupt"):
            ParquetStore(_raw_file(home, key).parents[2]).read("raw", [(("date", key),)])


def test_a_streamed_output_is_read_back_so_the_spoiled_file_fails_the_reader(home: Path) -> None:
    SETTINGS["stream"] = True  # a generator is not kept: the reader reads the file
    result = partita.materialize(DEFS, home=home, executor="inprocess", handle_signals=False)
    assert result.status != "succeeded"
    assert not RECEIVED
    assert {o.asset for o in result.outcomes if o.status == "failed"} == {"clean"}


# -- never stale ----------------------------------------------------------------------------


def _up_graph() -> AssetGraph:
    return AssetGraph(Definitions(assets=[raw, asset(key="copy", partitions=DAYS)(_copy)]))


def _copy(raw: pd.DataFrame) -> None:
    RECEIVED["copy"] = raw


def _read_item(key: str, version: str) -> WorkItem:
    read = ReadRequest("raw", "raw", (key,), versions=(version,))
    return WorkItem(run_id="r", asset="copy", keys=(key,), attempt=1, reads=(read,))


def _built(runtime: WorkerRuntime, key: str) -> str:
    item = WorkItem(run_id="r", asset="raw", keys=(key,), attempt=1)
    result = published(runtime.default_store, runtime.run(item))
    assert result.outcome is Outcome.SUCCEEDED, result.logs
    write = result.writes[0][1]
    assert write is not None
    return write.data_version


def test_a_partition_rebuilt_by_another_worker_is_read_from_the_store(tmp_path: Path) -> None:
    graph = _up_graph()
    here, elsewhere = (WorkerRuntime(graph, ParquetStore(tmp_path)) for _ in range(2))
    old = _built(here, "2025-01-01")
    SETTINGS["stream"] = True  # same rows, same data version, another file
    try:
        assert _built(elsewhere, "2025-01-01") == old
    finally:
        SETTINGS["stream"] = False
    assert here.run(_read_item("2025-01-01", old)).outcome is Outcome.SUCCEEDED
    assert here.outputs.hits == 0  # the file is not the one it staged
    pd.testing.assert_frame_equal(RECEIVED["copy"], raw_frame("2025-01-01"))


def test_a_stale_version_is_never_served(tmp_path: Path) -> None:
    runtime = WorkerRuntime(_up_graph(), ParquetStore(tmp_path))
    version = _built(runtime, "2025-01-02")
    assert runtime.run(_read_item("2025-01-02", "another version")).outcome is Outcome.SUCCEEDED
    assert runtime.outputs.hits == 0
    assert runtime.run(_read_item("2025-01-02", version)).outcome is Outcome.SUCCEEDED
    assert runtime.outputs.hits == 1


def test_a_deleted_partition_fails_as_a_store_read_does(tmp_path: Path) -> None:
    runtime = WorkerRuntime(_up_graph(), ParquetStore(tmp_path))
    version = _built(runtime, "2025-01-03")
    ParquetStore(tmp_path).delete("raw", (("date", "2025-01-03"),))
    result = runtime.run(_read_item("2025-01-03", version))
    assert result.outcome is Outcome.FAILED
    assert "missing from the store" in (result.error or "")
    assert runtime.outputs.hits == 0


def test_the_cache_is_bounded_in_bytes(tmp_path: Path) -> None:
    one = WorkerRuntime(_up_graph(), ParquetStore(tmp_path / "one"))
    _built(one, KEYS[0])
    size = one.outputs.bytes  # one day's 3-row frame
    assert size > 0
    small = OutputCache(max_bytes=size * 5 // 2)
    runtime = WorkerRuntime(_up_graph(), ParquetStore(tmp_path / "two"), outputs=small)
    versions = [_built(runtime, key) for key in KEYS]
    assert small.bytes <= size * 5 // 2
    assert len(small) == 2  # the least recently used went out
    assert runtime.run(_read_item(KEYS[0], versions[0])).outcome is Outcome.SUCCEEDED
    assert small.hits == 0
    assert runtime.run(_read_item(KEYS[2], versions[2])).outcome is Outcome.SUCCEEDED
    assert small.hits == 1


# -- worker processes: a task goes to the worker that built its inputs -------------------


def _wait(executor: ProcessExecutor, handles: set[int]) -> dict[int, WorkResult]:
    results: dict[int, WorkResult] = {}
    deadline = time.monotonic() + 120
    while set(results) != handles and time.monotonic() < deadline:
        for done in executor.poll(0.5):
            results[done.handle] = done.result
    assert set(results) == handles
    return results


def test_the_process_executor_sends_a_task_to_the_worker_holding_its_inputs(
    tmp_path: Path,
) -> None:
    ref = ProjectRef.in_memory(
        Definitions(assets=[raw, asset(key="copy", partitions=DAYS)(_copy)]),
        str(tmp_path),
        tuple(sys.path),
    )
    executor = ProcessExecutor(ref, 2, staged_checks=None)
    try:
        keys = ["2025-01-01", "2025-01-02"]
        for handle, key in enumerate(keys):  # both at once: one worker each
            executor.submit(handle, WorkItem("r", "raw", (key,), 1), None)
        built = _wait(executor, {0, 1})
        versions = {}
        for handle, key in enumerate(keys):
            write = published(ParquetStore(tmp_path), built[handle]).writes[0][1]
            assert write is not None
            versions[key] = write.data_version
            spoil(tmp_path / "raw" / f"date={key}" / "data.parquet")
        # the second day first: the first idle worker is the one that built the first day
        for handle, key in ((2, keys[1]), (3, keys[0])):
            executor.submit(handle, _read_item(key, versions[key]), None)
        read = _wait(executor, {2, 3})
        assert all(r.outcome is Outcome.SUCCEEDED for r in read.values()), [
            r.logs for r in read.values()
        ]
    finally:
        executor.close()
