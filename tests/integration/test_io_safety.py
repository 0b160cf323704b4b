"""Keys cannot leave the store root or change a query: one test per dangerous character."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from partita.errors import PartitaError, StorageError
from partita.io import DuckDBStore, ParquetStore

DANGEROUS = {
    "dotdot": "..",
    "dotdot_slash": "../../escape",
    "slash": "a/b",
    "backslash": "a\\..\\b",
    "single_quote": "x'; DROP TABLE main.t; --",
    "double_quote": 'x"; DROP TABLE main.t; --',
    "equals": "k=v",
    "percent": "%2F..%2F",
}


def files_outside(root: Path, tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(root)]


@pytest.mark.parametrize("value", DANGEROUS.values(), ids=DANGEROUS.keys())
def test_parquet_partition_value_stays_inside_the_root(value: str, tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ParquetStore(root)
    store.write("t", (("k", "safe"),), pa.table({"x": [0]}))
    result = store.write("t", (("k", value),), pa.table({"x": [1]}))
    assert Path(result.location).resolve().is_relative_to((root / "t").resolve())
    assert len(Path(result.location).relative_to(root / "t").parts) == 2  # k=<value>/data.parquet
    assert files_outside(root, tmp_path) == []
    assert sorted(store.list_partitions("t")) == sorted([(("k", "safe"),), (("k", value),)])
    table = store.read("t", [(("k", value),)], pa.Table)
    assert table.to_pydict() == {"x": [1], "k": [value]}
    assert store.read("t", [(("k", "safe"),)], pa.Table).column("x").to_pylist() == [0]


@pytest.mark.parametrize("value", DANGEROUS.values(), ids=DANGEROUS.keys())
def test_duckdb_partition_value_cannot_change_a_query(value: str, tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    store.write("t", (("k", "safe"),), pa.table({"x": [0]}))
    store.write("t", (("k", value),), pa.table({"x": [1]}))
    store.write("t", (("k", value),), pa.table({"x": [2]}))  # overwrite deletes by value only
    assert store.read("t", [(("k", value),)], pa.Table).to_pydict() == {"x": [2], "k": [value]}
    assert store.read("t", [(("k", "safe"),)], pa.Table).column("x").to_pylist() == [0]
    store.delete("t", (("k", value),))
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.sql("select k, x from main.t").fetchall() == [("safe", 0)]


def test_nul_in_a_partition_value_is_refused(tmp_path: Path) -> None:
    for store in (ParquetStore(tmp_path / "s"), DuckDBStore(tmp_path / "d.duckdb")):
        with pytest.raises(StorageError, match="NUL"):
            store.write("t", (("k", "a\x00b"),), pa.table({"x": [1]}))
    assert list((tmp_path / "s").rglob("*.parquet")) == []


@pytest.mark.parametrize(
    "asset", ["..", "../escape", "a/../b", "a\\b", "a\x00b", "a'b", 'a"b', "a=b", "/abs", ""]
)
def test_dangerous_asset_keys_are_refused(asset: str, tmp_path: Path) -> None:
    for store in (ParquetStore(tmp_path / "s"), DuckDBStore(tmp_path / "d.duckdb")):
        with pytest.raises(PartitaError):
            store.write(asset, (), pa.table({"x": [1]}))
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".parquet"] == []


@pytest.mark.parametrize("dim", ["..", "a/b", "a\\b", "a\x00", "a'b", 'a"b', "a=b", "1x"])
def test_dangerous_dimension_names_are_refused(dim: str, tmp_path: Path) -> None:
    for store in (ParquetStore(tmp_path / "s"), DuckDBStore(tmp_path / "d.duckdb")):
        with pytest.raises(StorageError, match="dimension"):
            store.write("t", ((dim, "v"),), pa.table({"x": [1]}))


def test_column_names_with_quotes_are_quoted_in_duckdb(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    name = 'x" INTEGER); DROP TABLE main.t; --'
    store.write("t", (("k", "a"),), pa.table({name: [1]}))
    store.write("t", (("k", "b"),), pa.table({name: [2], "y'": [3]}))
    table = store.read("t", [(("k", "a"),), (("k", "b"),)], pa.Table).sort_by("k")
    assert table.column(name).to_pylist() == [1, 2]
    assert table.column("y'").to_pylist() == [None, 3]


def test_an_empty_partition_folder_does_not_switch_the_schema_check_off(tmp_path: Path) -> None:
    """A folder left by a failed write (no data file) must not hide the published schema."""
    store = ParquetStore(tmp_path)
    (tmp_path / "a" / "date=2025-01-01").mkdir(parents=True)
    store.write("a", (("date", "2025-01-02"),), pa.table({"v": pa.array([1], pa.int64())}))
    with pytest.raises(StorageError, match="v"):
        store.write("a", (("date", "2025-01-03"),), pa.table({"v": pa.array(["x"])}))


def test_duckdb_refuses_the_prefix_main(tmp_path: Path) -> None:
    """``x`` and ``main/x`` would share one table: one publish would delete the other's rows."""
    store = DuckDBStore(tmp_path / "w.duckdb")
    store.write("x", (), pa.table({"v": [1, 2]}))
    with pytest.raises(StorageError, match="prefix 'main' is reserved"):
        store.write("main/x", (), pa.table({"v": [9]}))
    assert store.read("x", [()], as_type=pa.Table)["v"].to_pylist() == [1, 2]
