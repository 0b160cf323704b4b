"""The Store conformance suite: every store must pass every test here.

A store is added to Partita by adding its factory to ``STORES`` and passing
this module. The tests use only the :class:`~partita.io.Store` protocol (and
:func:`~partita.io.write_partition`, which is ``stage`` + ``publish``), with
real files and databases in ``tmp_path``. Store-specific behaviour (files on
disk, DuckDB schemas, streaming) is tested in ``test_io_stores.py``.
"""

from __future__ import annotations

import pickle
import re
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita.errors import SchemaChangeError, StorageError
from partita.io import (
    DeltaStore,
    DuckDBStore,
    GroupCommitStore,
    ParquetStore,
    Store,
    load_as,
    to_arrow_reader,
    write_partition,
)
from partita.versions import data_version
from tests.s3_support import new_bucket

DAYS = [f"2025-03-{d:02d}" for d in range(1, 8)]

STORES: dict[str, Callable[[Path], Store]] = {
    "parquet": lambda folder: ParquetStore(folder / "store"),
    "duckdb": lambda folder: DuckDBStore(folder / "store.duckdb"),
    # a ParquetStore on S3: moto's server on loopback (tests/s3_support.py), a new bucket
    "parquet-s3": lambda folder: ParquetStore(f"s3://{new_bucket()}/warehouse"),
    "delta": lambda folder: DeltaStore(folder / "lake"),
    "delta-s3": lambda folder: DeltaStore(f"s3://{new_bucket()}/lake"),
}
"""Every store Partita ships, by name: a factory given an empty folder."""

GROUP_COMMIT_STORES = ("parquet", "parquet-s3")
"""The stores with the optional group-commit capability (the others publish durably
on their own); checked against the stores themselves below."""


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return STORES[request.param](tmp_path)


def day(value: str) -> tuple[tuple[str, str], ...]:
    return (("date", value),)


def test_read_staged_returns_exactly_the_staged_rows(store: Store) -> None:
    data = pa.table({"x": [3, 1, 2], "s": ["c", "a", None]})
    staged = store.stage("t", day(DAYS[0]), data)
    try:
        for as_type in (pa.Table, pd.DataFrame, pa.RecordBatchReader):
            loaded = load_as(store.read_staged(staged, as_type), pa.Table)
            assert loaded.select(["x", "s"]).to_pylist() == data.to_pylist()
            assert "date" not in loaded.column_names  # no dimension column is added
        assert store.list_partitions("t") == []  # staged is not published
        assert staged.result.data_version == data_version(data)
        assert staged.result.rows == 3
    finally:
        store.discard(staged)


def test_a_declared_local_parquet_file_holds_the_staged_rows(store: Store) -> None:
    data = pa.table({"x": [1, 2, 3]})
    staged = store.stage("t", day(DAYS[0]), data)
    try:
        if staged.local_parquet is not None:  # the capability is optional; when declared, exact
            assert pq.read_table(staged.local_parquet).equals(data)
        assert load_as(store.read_staged(staged, pa.Table), pa.Table).equals(data)
    finally:
        store.discard(staged)


def test_publish_makes_the_staged_rows_visible_and_reports_them(store: Store) -> None:
    staged = store.stage("t", day(DAYS[0]), pa.table({"x": [1, 2]}))
    result = store.publish(staged)
    assert result == staged.result
    assert store.list_partitions("t") == [day(DAYS[0])]
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [1, 2]


def test_staged_writes_pickle(store: Store) -> None:
    staged = store.stage("t", (), pa.table({"x": [1]}))
    copy = pickle.loads(pickle.dumps(staged))
    assert copy == staged
    store.publish(copy)
    assert store.read("t", [()], pa.Table).num_rows == 1


def test_stores_satisfy_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_writing_the_same_partition_twice_leaves_one_copy(store: Store, tmp_path: Path) -> None:
    first = write_partition(store, "sales/orders", day(DAYS[0]), pd.DataFrame({"x": [1, 2, 3]}))
    second = write_partition(store, "sales/orders", day(DAYS[0]), pd.DataFrame({"x": [1, 2, 3]}))
    assert first == second
    assert first.rows == 3
    table = store.read("sales/orders", [day(DAYS[0])], pa.Table)
    assert table.num_rows == 3
    assert store.list_partitions("sales/orders") == [day(DAYS[0])]


def test_write_result_carries_version_rows_bytes_schema(store: Store) -> None:
    table = pa.table({"x": [1, 2], "s": ["a", "b"]})
    result = write_partition(store, "t", (), table)
    assert result.data_version == data_version(table)
    assert result.rows == 2
    assert result.bytes > 0
    assert result.schema_fields() == [
        {"name": "x", "type": "int64"},
        {"name": "s", "type": "string"},
    ]


def test_data_version_does_not_depend_on_chunking(store: Store) -> None:
    table = pa.table({"x": list(range(1000)), "s": [str(i) for i in range(1000)]})
    one = write_partition(store, "t", day("a"), table).data_version
    many = write_partition(store, "t", day("b"), table.to_reader(max_chunksize=7)).data_version
    frame = write_partition(store, "t", day("c"), table.to_pandas()).data_version
    assert one == many == frame
    changed = table.set_column(0, "x", pa.array([*range(999), 5]))
    assert write_partition(store, "t", day("d"), changed).data_version != one


def test_typed_loading_for_each_type(store: Store) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1, 2, 3]}))
    frame = store.read("t", [day(DAYS[0])])
    assert isinstance(frame, pd.DataFrame)
    assert frame["x"].tolist() == [1, 2, 3]
    assert isinstance(store.read("t", [day(DAYS[0])], pd.DataFrame), pd.DataFrame)
    table = store.read("t", [day(DAYS[0])], pa.Table)
    assert isinstance(table, pa.Table)
    relation = store.read("t", [day(DAYS[0])], duckdb.DuckDBPyRelation)
    assert isinstance(relation, duckdb.DuckDBPyRelation)
    assert relation.aggregate("sum(x)").fetchall() == [(6,)]
    assert relation.aggregate("sum(x)").fetchall() == [(6,)]  # a relation can be re-read
    reader = store.read("t", [day(DAYS[0])], "pa.RecordBatchReader")
    assert reader.read_all().num_rows == 3


def test_a_window_of_seven_partitions_is_one_table_with_the_date_column(
    store: Store,
) -> None:
    for i, value in enumerate(DAYS):
        write_partition(store, "sales/orders", day(value), pd.DataFrame({"amount": [i, i * 10]}))
    table = store.read("sales/orders", [day(v) for v in DAYS], pa.Table)
    assert table.num_rows == 14
    rows = sorted(
        zip(table.column("date").to_pylist(), table.column("amount").to_pylist(), strict=True)
    )
    assert rows == sorted(
        [(v, i) for i, v in enumerate(DAYS)] + [(v, i * 10) for i, v in enumerate(DAYS)]
    )
    assert (
        store.read("sales/orders", [day(DAYS[2])], pa.Table).column("date").to_pylist()
        == [DAYS[2]] * 2
    )


def test_a_date_column_in_the_data_is_kept_not_duplicated(
    store: Store,
) -> None:
    data = pa.table({"date": pa.array([pd.Timestamp(DAYS[0]).date()] * 2), "x": [1, 2]})
    write_partition(store, "t", day(DAYS[0]), data)
    table = store.read("t", [day(DAYS[0])], pa.Table)
    assert table.column_names.count("date") == 1
    assert table.column("date").type == pa.date32()


def test_partition_column_disagreeing_with_the_partition_is_refused(
    store: Store,
) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"date": [DAYS[0]], "x": [1]}))
    wrong = pa.table({"date": [DAYS[0], DAYS[1]], "x": [1, 2]})
    with pytest.raises(StorageError, match="holds '2025-03-02'"):
        write_partition(store, "t", day(DAYS[0]), wrong)
    assert store.read("t", [day(DAYS[0])], pa.Table).num_rows == 1


def test_schema_evolution_adds_columns_and_refuses_type_changes(
    store: Store,
) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1], "name": ["a"]}))
    write_partition(store, "t", day(DAYS[1]), pa.table({"x": [2], "name": ["b"], "extra": [0.5]}))
    table = store.read("t", [day(DAYS[0]), day(DAYS[1])], pa.Table).sort_by("x")
    assert table.column("extra").to_pylist() == [None, 0.5]
    with pytest.raises(
        StorageError, match=r"column 'x' changes type from (int64|BIGINT) to (string|VARCHAR)"
    ):
        write_partition(store, "t", day(DAYS[2]), pa.table({"x": ["oops"]}))
    assert store.list_partitions("t") == [day(DAYS[0]), day(DAYS[1])]


def test_an_integer_column_that_comes_out_as_float_one_day_widens_to_double(
    store: Store,
) -> None:
    # a left join leaves NaN one day (float), the next day is all integers again
    write_partition(store, "t", day(DAYS[0]), pd.DataFrame({"deals": [1, 2]}))
    write_partition(store, "t", day(DAYS[1]), pd.DataFrame({"deals": [3.0, float("nan")]}))
    write_partition(store, "t", day(DAYS[2]), pd.DataFrame({"deals": [4, 5]}))
    table = store.read("t", [day(d) for d in DAYS[:3]], pa.Table).sort_by("date")
    assert table.schema.field("deals").type == pa.float64()
    assert table.column("deals").to_pylist()[:3] == [1.0, 2.0, 3.0]
    assert table.column("deals").to_pylist()[4:] == [4.0, 5.0]


def test_a_type_is_checked_against_every_partition_not_one(store: Store) -> None:
    # issue 13 item 5: {x}, then {x, id: int}, then {x, id: string}, each to another
    # partition; the third would leave two partitions that cannot be read together
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1]}))
    write_partition(store, "t", day(DAYS[1]), pa.table({"x": [2], "id": [7]}))
    with pytest.raises(SchemaChangeError) as caught:
        write_partition(store, "t", day(DAYS[2]), pa.table({"x": [3], "id": ["seven"]}))
    assert re.search(
        r"column 'id' changes type from (int64|BIGINT) to (string|VARCHAR)", str(caught.value)
    )
    assert store.list_partitions("t") == [day(DAYS[0]), day(DAYS[1])]
    table = store.read("t", [day(DAYS[0]), day(DAYS[1])], pa.Table).sort_by("x")
    assert table.column("id").to_pylist() == [None, 7]


def test_two_writes_staged_against_the_same_schema_cannot_both_publish(store: Store) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1]}))
    as_int = store.stage("t", day(DAYS[1]), pa.table({"x": [2], "id": [7]}))
    as_text = store.stage("t", day(DAYS[2]), pa.table({"x": [3], "id": ["seven"]}))
    store.publish(as_int)
    with pytest.raises(SchemaChangeError, match=r"column 'id' changes type"):
        store.publish(as_text)
    store.discard(as_text)
    assert store.list_partitions("t") == [day(DAYS[0]), day(DAYS[1])]
    assert store.read("t", [day(d) for d in DAYS[:2]], pa.Table).num_rows == 2


@pytest.mark.parametrize(
    ("first", "second", "wider"),
    [
        (pa.int32(), pa.int64(), pa.int64()),
        (pa.int64(), pa.int32(), pa.int64()),
        (pa.float32(), pa.float64(), pa.float64()),
        (pa.int32(), pa.float32(), pa.float64()),
        (pa.float64(), pa.int64(), pa.float64()),
        (pa.string(), pa.large_string(), None),
        (pa.null(), pa.int64(), pa.int64()),
    ],
)
def test_safe_widening_is_accepted_and_reads_the_wider_type(
    store: Store, first: pa.DataType, second: pa.DataType, wider: pa.DataType | None
) -> None:
    first_values = [None] if first == pa.null() else (["a"] if first == pa.string() else [1])
    second_values = ["b"] if second == pa.large_string() else [2]
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": pa.array(first_values, first)}))
    write_partition(store, "t", day(DAYS[1]), pa.table({"x": pa.array(second_values, second)}))
    table = store.read("t", [day(DAYS[0]), day(DAYS[1])], pa.Table).sort_by("date")
    if wider is None:  # string width variants: any string type
        assert pa.types.is_string(table.schema.field("x").type) or pa.types.is_large_string(
            table.schema.field("x").type
        )
    else:
        assert table.schema.field("x").type == wider
    assert table.column("x").to_pylist() == [*first_values, *second_values]


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        (pa.array([1.5]), pa.array(["text"])),
        (pa.array(["text"]), pa.array([1])),
        (pa.array([1]), pa.array([True])),
    ],
)
def test_an_unsafe_type_change_is_refused_naming_the_command_that_fixes_it(
    store: Store, stored: pa.Array, written: pa.Array
) -> None:
    write_partition(store, "sales/t", day(DAYS[0]), pa.table({"x": stored}))
    with pytest.raises(SchemaChangeError) as caught:
        write_partition(store, "sales/t", day(DAYS[1]), pa.table({"x": written}))
    message = str(caught.value)
    assert "sales/t [date=2025-03-02]: column 'x' changes type from " in message
    assert "partita wipe sales/t" in message
    assert caught.value.retryable is False
    assert store.list_partitions("sales/t") == [day(DAYS[0])]


def test_delete_removes_a_partition_or_the_whole_asset_and_its_types(store: Store) -> None:
    for value in DAYS[:3]:
        write_partition(store, "t", day(value), pa.table({"x": [1.5]}))
    store.delete("t", day(DAYS[0]))
    store.delete("t", day(DAYS[6]))  # not stored: nothing to do
    assert store.list_partitions("t") == [day(DAYS[1]), day(DAYS[2])]
    with pytest.raises(StorageError, match="not stored"):
        store.read("t", [day(DAYS[0])])
    store.delete("t")
    assert store.list_partitions("t") == []
    # the asset starts afresh: the old column type is gone with it
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": ["text now"]}))
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == ["text now"]


def test_discard_leaves_the_published_version(store: Store) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1]}))
    staged = store.stage("t", day(DAYS[0]), pa.table({"x": [2, 3]}))
    assert store.read_staged(staged, pa.Table).column("x").to_pylist() == [2, 3]
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [1]
    store.discard(staged)
    if staged.local_parquet is not None:
        assert not Path(staged.local_parquet).exists()
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [1]
    with pytest.raises(StorageError, match="staged data is gone"):
        store.publish(staged)


def test_reading_a_missing_partition_is_an_error(store: Store) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1]}))
    with pytest.raises(StorageError, match="not stored"):
        store.read("t", [day(DAYS[0]), day(DAYS[1])])


def test_none_is_not_stored(store: Store) -> None:
    assert to_arrow_reader(None) is None
    with pytest.raises(StorageError, match="no data"):
        write_partition(store, "t", (), None)


def test_a_reader_during_overwrites_sees_old_or_new_never_a_mix(
    store: Store,
) -> None:
    rows = 50_000
    old, new = pa.table({"v": [1] * rows}), pa.table({"v": [2] * rows})
    write_partition(store, "t", day(DAYS[0]), old)
    stop = threading.Event()

    def overwrite() -> None:
        for i in range(20):
            write_partition(store, "t", day(DAYS[0]), new if i % 2 == 0 else old)
        stop.set()

    writer = threading.Thread(target=overwrite)
    writer.start()
    seen: set[int] = set()
    while not stop.is_set():
        values = store.read("t", [day(DAYS[0])], pa.Table).column("v").unique().to_pylist()
        assert len(values) == 1
        assert store.read("t", [day(DAYS[0])], pa.Table).num_rows == rows
        seen.update(values)
    writer.join()
    assert seen <= {1, 2}


def test_stores_pickle(store: Store) -> None:
    copy = pickle.loads(pickle.dumps(store))
    assert copy == store
    write_partition(store, "t", (), pa.table({"x": [1]}))
    assert copy.read("t", [()], pa.Table).num_rows == 1


def test_a_refused_fence_discards_the_staged_data_and_keeps_the_published(store: Store) -> None:
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [1]}))
    staged = store.stage("t", day(DAYS[0]), pa.table({"x": [2]}))

    def refuse() -> None:
        raise StorageError("not yours")

    with pytest.raises(StorageError, match="not yours"):
        store.publish(staged, refuse)
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [1]
    with pytest.raises(StorageError):  # the staged data is gone
        store.publish(staged)
    passed = store.stage("t", day(DAYS[0]), pa.table({"x": [3]}))
    assert store.publish(passed, lambda: None) == passed.result
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [3]


def test_a_fence_and_its_publish_are_one_step_for_other_fenced_publishes(store: Store) -> None:
    first = store.stage("t", day(DAYS[0]), pa.table({"x": [1]}))
    second = store.stage("t", day(DAYS[0]), pa.table({"x": [2]}))
    seen: list[str] = []
    other = threading.Thread(target=lambda: store.publish(second, lambda: seen.append("second")))

    def slow_fence() -> None:
        seen.append("first")
        other.start()
        other.join(timeout=0.5)  # it cannot get past the store's lock meanwhile
        seen.append("first checked")

    store.publish(first, slow_fence)
    other.join(timeout=30)
    assert seen == ["first", "first checked", "second"]
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [2]


def test_the_group_commit_stores_are_the_ones_with_the_capability(tmp_path: Path) -> None:
    capable = {n for n, make in STORES.items() if isinstance(make(tmp_path / n), GroupCommitStore)}
    assert capable == set(GROUP_COMMIT_STORES)


@pytest.mark.parametrize("name", GROUP_COMMIT_STORES)
def test_a_group_commit_store_publishes_a_batch_as_publish_does(name: str, tmp_path: Path) -> None:
    """The optional capability: stage without syncing, sync the batch, publish each
    (fenced), sync the publishes; the result is what ``stage`` + ``publish`` give."""
    store = STORES[name](tmp_path)
    assert isinstance(store, GroupCommitStore)
    write_partition(store, "t", day(DAYS[0]), pa.table({"x": [0]}))
    batch = [store.stage_unsynced("t", day(d), pa.table({"x": [i]})) for i, d in enumerate(DAYS)]
    assert store.list_partitions("t") == [day(DAYS[0])]  # nothing visible yet
    store.sync_staged(batch)

    def refuse() -> None:
        raise StorageError("not yours")

    with pytest.raises(StorageError, match="not yours"):
        store.publish_unsynced(batch[1], refuse)
    published = [b for b in batch if b is not batch[1]]
    results = [store.publish_unsynced(b, lambda: None) for b in published]
    store.sync_published(published)
    assert results == [b.result for b in published]
    assert store.list_partitions("t") == [day(d) for d in DAYS if d != DAYS[1]]
    table = store.read("t", [day(d) for d in DAYS if d != DAYS[1]], pa.Table)
    assert sorted(table.column("x").to_pylist()) == [0, 2, 3, 4, 5, 6]
    assert pickle.loads(pickle.dumps(batch[0])) == batch[0]
