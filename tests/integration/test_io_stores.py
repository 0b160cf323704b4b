"""Both stores against the Store contract, with real files and databases in tmp_path."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from partita.errors import StorageError
from partita.io import DuckDBStore, ParquetStore, Store, load_as, to_arrow_reader
from partita.io.staging import ROW_GROUP_ROWS
from partita.versions import data_version

DAYS = [f"2025-03-{d:02d}" for d in range(1, 8)]


@pytest.fixture(params=["parquet", "duckdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ParquetStore | DuckDBStore:
    if request.param == "parquet":
        return ParquetStore(tmp_path / "store")
    return DuckDBStore(tmp_path / "store.duckdb")


def day(value: str) -> tuple[tuple[str, str], ...]:
    return (("date", value),)


def test_stores_satisfy_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_writing_the_same_partition_twice_leaves_one_copy(
    store: ParquetStore | DuckDBStore, tmp_path: Path
) -> None:
    first = store.write("sales/orders", day(DAYS[0]), pd.DataFrame({"x": [1, 2, 3]}))
    second = store.write("sales/orders", day(DAYS[0]), pd.DataFrame({"x": [1, 2, 3]}))
    assert first == second
    assert first.rows == 3
    table = store.read("sales/orders", [day(DAYS[0])], pa.Table)
    assert table.num_rows == 3
    assert store.list_partitions("sales/orders") == [day(DAYS[0])]
    if isinstance(store, ParquetStore):
        files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
        assert [f.name for f in files] == ["data.parquet"]
    else:
        with duckdb.connect(str(store.path), read_only=True) as con:
            assert con.sql('select count(*) from "sales"."orders"').fetchall() == [(3,)]


def test_write_result_carries_version_rows_bytes_schema(store: ParquetStore | DuckDBStore) -> None:
    table = pa.table({"x": [1, 2], "s": ["a", "b"]})
    result = store.write("t", (), table)
    assert result.data_version == data_version(table)
    assert result.rows == 2
    assert result.bytes > 0
    assert result.schema_fields() == [
        {"name": "x", "type": "int64"},
        {"name": "s", "type": "string"},
    ]


def test_data_version_does_not_depend_on_chunking(store: ParquetStore | DuckDBStore) -> None:
    table = pa.table({"x": list(range(1000)), "s": [str(i) for i in range(1000)]})
    one = store.write("t", day("a"), table).data_version
    many = store.write("t", day("b"), table.to_reader(max_chunksize=7)).data_version
    frame = store.write("t", day("c"), table.to_pandas()).data_version
    assert one == many == frame
    changed = table.set_column(0, "x", pa.array([*range(999), 5]))
    assert store.write("t", day("d"), changed).data_version != one


def test_typed_loading_for_each_type(store: ParquetStore | DuckDBStore) -> None:
    store.write("t", day(DAYS[0]), pa.table({"x": [1, 2, 3]}))
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
    store: ParquetStore | DuckDBStore,
) -> None:
    for i, value in enumerate(DAYS):
        store.write("sales/orders", day(value), pd.DataFrame({"amount": [i, i * 10]}))
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
    store: ParquetStore | DuckDBStore,
) -> None:
    data = pa.table({"date": pa.array([pd.Timestamp(DAYS[0]).date()] * 2), "x": [1, 2]})
    store.write("t", day(DAYS[0]), data)
    table = store.read("t", [day(DAYS[0])], pa.Table)
    assert table.column_names.count("date") == 1
    assert table.column("date").type == pa.date32()


def test_partition_column_disagreeing_with_the_partition_is_refused(
    store: ParquetStore | DuckDBStore,
) -> None:
    store.write("t", day(DAYS[0]), pa.table({"date": [DAYS[0]], "x": [1]}))
    wrong = pa.table({"date": [DAYS[0], DAYS[1]], "x": [1, 2]})
    with pytest.raises(StorageError, match="holds '2025-03-02'"):
        store.write("t", day(DAYS[0]), wrong)
    assert store.read("t", [day(DAYS[0])], pa.Table).num_rows == 1


def test_multi_dimension_partitions(store: ParquetStore | DuckDBStore) -> None:
    parts = [(("date", d), ("region", r)) for d in DAYS[:2] for r in ("eu", "us")]
    for part in parts:
        store.write("m", part, pa.table({"x": [1]}))
    assert store.list_partitions("m") == sorted(parts)
    table = store.read("m", parts[:3], pa.Table)
    assert sorted(
        zip(table["date"].to_pylist(), table["region"].to_pylist(), strict=True)
    ) == sorted((d, r) for (_, d), (_, r) in parts[:3])
    store.delete("m", parts[0])
    assert store.list_partitions("m") == sorted(parts[1:])
    store.delete("m")
    assert store.list_partitions("m") == []


def test_schema_evolution_adds_columns_and_refuses_type_changes(
    store: ParquetStore | DuckDBStore,
) -> None:
    store.write("t", day(DAYS[0]), pa.table({"x": [1], "name": ["a"]}))
    store.write("t", day(DAYS[1]), pa.table({"x": [2], "name": ["b"], "extra": [0.5]}))
    table = store.read("t", [day(DAYS[0]), day(DAYS[1])], pa.Table).sort_by("x")
    assert table.column("extra").to_pylist() == [None, 0.5]
    with pytest.raises(
        StorageError, match=r"column 'x' changes type from (int64|BIGINT) to (string|VARCHAR)"
    ):
        store.write("t", day(DAYS[2]), pa.table({"x": ["oops"]}))
    assert store.list_partitions("t") == [day(DAYS[0]), day(DAYS[1])]


def test_discard_leaves_the_published_version(store: ParquetStore | DuckDBStore) -> None:
    store.write("t", day(DAYS[0]), pa.table({"x": [1]}))
    staged = store.stage("t", day(DAYS[0]), pa.table({"x": [2, 3]}))
    assert store.read_staged(staged, pa.Table).column("x").to_pylist() == [2, 3]
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [1]
    store.discard(staged)
    assert not Path(staged.path).exists()
    assert store.read("t", [day(DAYS[0])], pa.Table).column("x").to_pylist() == [1]
    with pytest.raises(StorageError, match="staged data is gone"):
        store.publish(staged)


def test_reading_a_missing_partition_is_an_error(store: ParquetStore | DuckDBStore) -> None:
    store.write("t", day(DAYS[0]), pa.table({"x": [1]}))
    with pytest.raises(StorageError, match="not stored"):
        store.read("t", [day(DAYS[0]), day(DAYS[1])])


def test_none_is_not_stored(store: ParquetStore | DuckDBStore) -> None:
    assert to_arrow_reader(None) is None
    with pytest.raises(StorageError, match="no data"):
        store.write("t", (), None)


def test_streaming_a_generator_is_consumed_lazily(
    store: ParquetStore | DuckDBStore, tmp_path: Path
) -> None:
    batch_rows = ROW_GROUP_ROWS // 4
    produced = 0

    def temp_bytes() -> int:
        return sum(p.stat().st_size for p in tmp_path.rglob(".*.tmp"))

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal produced
        sizes = []
        for i in range(12):
            sizes.append(temp_bytes())
            produced += 1
            yield pa.record_batch({"i": pa.array(range(i * batch_rows, (i + 1) * batch_rows))})
        # row groups reached the disk while the generator was still running
        assert sizes[-1] > sizes[4] > 0

    result = store.write("big", (), batches())
    assert produced == 12
    assert result.rows == 12 * batch_rows


def test_to_arrow_reader_accepts_every_returned_type() -> None:
    table = pa.table({"x": [1, 2]})
    values = [
        table,
        table.to_pandas(),
        table.to_reader(),
        iter(table.to_batches()),
        duckdb.sql("select * from range(1, 3) t(x)"),
    ]
    for value in values:
        reader = to_arrow_reader(value)
        assert reader is not None
        assert reader.read_all().column("x").to_pylist() == [1, 2]
    with pytest.raises(StorageError, match="cannot store"):
        to_arrow_reader(42)
    with pytest.raises(StorageError):
        load_as(table, int)


def test_a_reader_during_overwrites_sees_old_or_new_never_a_mix(
    store: ParquetStore | DuckDBStore,
) -> None:
    rows = 50_000
    old, new = pa.table({"v": [1] * rows}), pa.table({"v": [2] * rows})
    store.write("t", day(DAYS[0]), old)
    stop = threading.Event()

    def overwrite() -> None:
        for i in range(20):
            store.write("t", day(DAYS[0]), new if i % 2 == 0 else old)
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


def test_stores_pickle(store: ParquetStore | DuckDBStore) -> None:
    copy = pickle.loads(pickle.dumps(store))
    assert copy == store
    store.write("t", (), pa.table({"x": [1]}))
    assert copy.read("t", [()], pa.Table).num_rows == 1


def test_duckdb_schema_named_like_the_database_file(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "sales.duckdb")
    store.write("sales/orders", (("date", DAYS[0]),), pa.table({"x": [1]}))
    store.write("sales/orders", (("date", DAYS[0]),), pa.table({"x": [2]}))
    assert store.read("sales/orders", [(("date", DAYS[0]),)], pa.Table)["x"].to_pylist() == [2]
    store.delete("sales/orders", (("date", DAYS[0]),))
    assert store.list_partitions("sales/orders") == []
