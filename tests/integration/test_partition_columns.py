"""Partition columns in the data handed to asset functions: left out unless asked, then typed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import partita
from partita import (
    AllPartitions,
    DailyPartitions,
    Definitions,
    HourlyPartitions,
    In,
    MultiPartitions,
    StaticPartitions,
    TimeWindow,
    asset,
)
from partita.io import DuckDBStore

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")
LATER = datetime(2025, 2, 1, tzinfo=UTC)


def _schema_of(value: Any) -> pa.Schema:
    if isinstance(value, pd.DataFrame):
        return pa.Schema.from_pandas(value, preserve_index=False)
    if isinstance(value, pa.Table | pa.RecordBatchReader):
        return value.schema
    table: pa.Table = value.to_arrow_table()
    return table.schema


def _orders_and_reader(annotation: Any, ins: In, seen: list[pa.Schema]) -> Definitions:
    @asset(partitions=DAYS)
    def orders(context: partita.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"amount": [float(context.partition_key[-1])]})

    def weekly(orders: Any) -> None:
        seen.append(_schema_of(orders))

    weekly.__annotations__["orders"] = annotation  # the type under test
    return Definitions(assets=[orders, asset(partitions=DAYS, ins={"orders": ins})(weekly)])


@pytest.mark.parametrize(
    "annotation", [pd.DataFrame, pa.Table, pa.RecordBatchReader, duckdb.DuckDBPyRelation]
)
def test_an_input_has_no_partition_column_unless_it_asks(annotation: Any, tmp_path: Path) -> None:
    seen: list[pa.Schema] = []
    window = In(mapping=TimeWindow(start_offset=-2))
    defs = _orders_and_reader(annotation, window, seen)
    result = partita.materialize(defs, home=tmp_path, now=LATER)
    assert result.success, result.summary_lines()
    assert len(seen) == 3
    assert [s.names for s in seen] == [["amount"]] * 3


@pytest.mark.parametrize(
    "annotation", [pd.DataFrame, pa.Table, pa.RecordBatchReader, duckdb.DuckDBPyRelation]
)
def test_asked_for_partition_columns_come_typed(annotation: Any, tmp_path: Path) -> None:
    seen: list[pa.Schema] = []
    window = In(mapping=TimeWindow(start_offset=-2), partition_columns=True)
    defs = _orders_and_reader(annotation, window, seen)
    assert partita.materialize(defs, home=tmp_path, now=LATER).success
    assert len(seen) == 3
    for schema in seen:
        assert schema.names == ["amount", "date"]
        assert schema.field("date").type == pa.date32()


def test_hourly_and_multi_dimension_columns(tmp_path: Path) -> None:
    hours = HourlyPartitions(start="2025-01-01T00:00", end="2025-01-01T03:00")
    regions = StaticPartitions(["eu", "us"], dimension="region")
    sales = MultiPartitions({"date": DAYS, "region": regions})
    got: dict[str, pd.DataFrame] = {}

    @asset(partitions=hours)
    def clicks(context: partita.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"n": [1]})

    @asset(partitions=sales)
    def sold(context: partita.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"n": [2]})

    @asset(
        ins={
            "clicks": In(mapping=AllPartitions(), partition_columns=True),
            "sold": In(mapping=AllPartitions(), partition_columns=True),
        }
    )
    def report(clicks: pd.DataFrame, sold: pd.DataFrame) -> None:
        got["clicks"], got["sold"] = clicks, sold

    defs = Definitions(assets=[clicks, sold, report])
    assert partita.materialize(defs, home=tmp_path, now=LATER).success
    moments = sorted(got["clicks"]["date"])
    assert moments[0] == pd.Timestamp("2025-01-01T00:00", tz="UTC")
    assert str(got["clicks"]["date"].dtype) == "datetime64[us, UTC]"
    assert len(moments) == 3
    assert sorted(set(got["sold"]["date"])) == [date(2025, 1, d) for d in (1, 2, 3)]
    assert sorted(set(got["sold"]["region"])) == ["eu", "us"]


def test_a_column_the_upstream_wrote_itself_is_kept(tmp_path: Path) -> None:
    seen: list[pa.Schema] = []

    @asset(partitions=DAYS)
    def orders(context: partita.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"date": [context.partition_key], "amount": [1.0]})

    @asset(partitions=DAYS)
    def clean(orders: pa.Table) -> None:
        seen.append(orders.schema)

    defs = Definitions(assets=[orders, clean])
    assert partita.materialize(defs, home=tmp_path, partition_key="2025-01-02").success
    assert [s.names for s in seen] == [["date", "amount"]]
    assert pa.types.is_large_string(seen[0].field("date").type)  # as written (by pandas)


def test_partition_columns_do_not_land_in_a_warehouse_table_as_text(tmp_path: Path) -> None:
    warehouse = DuckDBStore(tmp_path / "warehouse.duckdb")

    @asset(partitions=DAYS)
    def orders(context: partita.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"amount": [1.0, 2.0]})

    @asset(store=warehouse)
    def all_orders(orders: pd.DataFrame) -> pd.DataFrame:
        return orders  # passed through, as people do

    @asset(partitions=DAYS, store=warehouse, ins={"orders": In(partition_columns=True)})
    def dated_orders(orders: pd.DataFrame) -> pd.DataFrame:
        return orders

    defs = Definitions(assets=[orders, all_orders, dated_orders])
    assert partita.materialize(defs, home=tmp_path, now=LATER).success
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        columns = dict(
            con.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'main'"
            ).fetchall()
        )
    assert columns == {
        "all_orders.amount": "DOUBLE",
        "dated_orders.amount": "DOUBLE",
        "dated_orders.date": "DATE",
    }
