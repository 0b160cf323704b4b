"""What each store does beyond the protocol (files on disk, DuckDB schemas, streaming,
``delete``); the protocol itself is ``test_store_conformance.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from partita.errors import DefinitionError, StorageError
from partita.io import DuckDBStore, ParquetStore, load_as, to_arrow_reader
from partita.io.staging import ROW_GROUP_ROWS

DAYS = [f"2025-03-{d:02d}" for d in range(1, 8)]


@pytest.fixture(params=["parquet", "duckdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ParquetStore | DuckDBStore:
    if request.param == "parquet":
        return ParquetStore(tmp_path / "store")
    return DuckDBStore(tmp_path / "store.duckdb")


def day(value: str) -> tuple[tuple[str, str], ...]:
    return (("date", value),)


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


def test_duckdb_schema_named_like_the_database_file_is_refused(tmp_path: Path) -> None:
    # in warehouse.duckdb, plain SQL `warehouse.deals` would be ambiguous (catalog or schema)
    store = DuckDBStore(tmp_path / "warehouse.duckdb")
    for key in ("warehouse/deals", "Warehouse/deals"):
        with pytest.raises(DefinitionError) as caught:
            store.write(key, (("date", DAYS[0]),), pa.table({"x": [1]}))
        message = str(caught.value)
        assert f"asset {key}: its DuckDB schema" in message
        assert "the database warehouse.duckdb (catalog 'warehouse')" in message
        assert "rename the database file" in message
        assert "another key prefix" in message
        assert caught.value.retryable is False
    assert not store.path.exists()  # refused before anything was written
    # other prefixes are fine, and plain SQL reads them
    store.write("sales/orders", (("date", DAYS[0]),), pa.table({"x": [2]}))
    store.write("deals", (("date", DAYS[0]),), pa.table({"x": [3]}))
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.sql("SELECT x FROM sales.orders").fetchall() == [(2,)]
        assert con.sql("SELECT x FROM main.deals").fetchall() == [(3,)]
    # the store's own SQL names the catalog, so a clash-free key in a file named like
    # DuckDB's reserved catalogs (main.duckdb is catalog main_db) works too
    main = DuckDBStore(tmp_path / "main.duckdb")
    main.write("orders", (("date", DAYS[0]),), pa.table({"x": [1]}))
    main.write("orders", (("date", DAYS[0]),), pa.table({"x": [2]}))
    assert main.read("orders", [(("date", DAYS[0]),)], pa.Table)["x"].to_pylist() == [2]
    main.delete("orders", (("date", DAYS[0]),))
    assert main.list_partitions("orders") == []


def test_overwriting_leaves_one_file_or_one_set_of_rows(
    store: ParquetStore | DuckDBStore, tmp_path: Path
) -> None:
    store.write("sales/orders", day(DAYS[0]), pd.DataFrame({"x": [1, 2, 3]}))
    store.write("sales/orders", day(DAYS[0]), pd.DataFrame({"x": [1, 2, 3]}))
    if isinstance(store, ParquetStore):
        files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
        # besides the one data file, the asset's schema record
        assert sorted(f.name for f in files) == [".partita-schema.json", "data.parquet"]
    else:
        with duckdb.connect(str(store.path), read_only=True) as con:
            assert con.sql('select count(*) from "sales"."orders"').fetchall() == [(3,)]
