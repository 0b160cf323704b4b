"""SQL assets end to end: a folder of ``.sql`` models built by the CLI as a user would.

The project has a Python upstream and two models (a daily one filtering on the
bound partition bounds, a 7-day window over it); the tests build them, read
the stored rows, the column lineage recorded with the builds, and what
``partita plan`` says after editing a model. Partition binding and dialect
transpiling are checked on DuckDB directly with the model's runner.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from partita import StaticPartitions
from partita.context import AssetContext
from partita.keys import AssetKey
from partita.partitions import TimeWindowRange
from partita.sql import SqlRunner, sql_asset
from tests.conftest import run_cli, write_project

DEFS = """
import pyarrow as pa
from datetime import datetime, timedelta
from partita import DailyPartitions, Definitions, asset
from partita.checks import schema

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-11")

@asset(key="sales/orders", partitions=DAYS,
       checks=[schema({"order_id": "int64", "at": "timestamp", "amount": "double"})])
def orders(context) -> pa.Table:
    day = datetime.fromisoformat(context.partition_key)
    n = int(context.partition_key[-2:])
    # one order inside the day, one stamped the next day (late data the model drops)
    return pa.table({
        "order_id": [n * 10, n * 10 + 1],
        "at": [day + timedelta(hours=12), day + timedelta(days=1, hours=1)],
        "amount": [float(n), 100.0],
    })

defs = Definitions(assets=[orders], sql=["models"])
"""

DAILY = """\
MODEL (
  partitions DailyPartitions(start='2025-01-01', end='2025-01-11'),
  checks (not_null(revenue),),
  description 'Revenue of the orders stamped inside the day',
);
-- only orders whose time falls in the partition
SELECT count(*) AS orders, sum(amount) AS revenue
FROM sales.orders
WHERE at >= $partition_start AND at < $partition_end
"""

WEEKLY = """\
MODEL (
  name sales.weekly,
  partitions DailyPartitions(start='2025-01-01', end='2025-01-11'),
  mappings {daily: TimeWindow(start_offset=-6)},
);
SELECT sum(revenue) AS revenue, sum(orders) AS orders FROM daily
"""


def _project(tmp_path: Path) -> Path:
    folder = write_project(tmp_path / "proj", DEFS)
    models = folder / "models" / "sales"
    models.mkdir(parents=True)
    (models / "daily.sql").write_text(DAILY, encoding="utf-8")
    (models / "weekly.sql").write_text(WEEKLY, encoding="utf-8")
    return folder


def _rows(folder: Path, asset: str, day: str) -> list[dict[str, object]]:
    path = folder / ".partita" / "data" / asset / f"date={day}" / "data.parquet"
    rows: list[dict[str, object]] = pq.read_table(path).to_pylist()
    return rows


def test_models_build_read_their_partitions_and_record_column_lineage(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    run_cli(["materialize", "--from", "2025-01-01", "--to", "2025-01-10"], folder, check=True)
    # the late order (stamped the next day) is outside $partition_start..$partition_end
    assert _rows(folder, "sales/daily", "2025-01-03") == [{"orders": 1, "revenue": 3.0}]
    # the window reads exactly days 4..10 of the daily model
    assert _rows(folder, "sales/weekly", "2025-01-10") == [{"revenue": 49.0, "orders": 7}]
    assert _rows(folder, "sales/weekly", "2025-01-02") == [{"revenue": 3.0, "orders": 2}]
    shown = run_cli(
        ["lineage", "sales/weekly", "-p", "2025-01-10", "--columns", "--json"], folder, check=True
    )
    recorded = json.loads(shown.stdout)
    assert recorded["materialization_id"] is not None
    assert recorded["columns"] == [
        {"column": "revenue", "sources": [["sales/daily", "revenue"]], "resolved": True},
        {"column": "orders", "sources": [["sales/daily", "orders"]], "resolved": True},
    ]
    text = run_cli(["lineage", "sales/daily", "-p", "2025-01-03", "--columns"], folder, check=True)
    assert "sales/orders.amount" in text.stdout


def test_plan_says_whether_a_model_change_is_breaking(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    run_cli(["materialize", "--from", "2025-01-01", "--to", "2025-01-10"], folder, check=True)
    daily = folder / "models" / "sales" / "daily.sql"
    # reformatting and a comment: the code version is the same, nothing is stale
    daily.write_text(DAILY.replace("SELECT count(*)", "-- note\nselect   COUNT(*)"), "utf-8")
    assert "Nothing to do" in run_cli(["plan"], folder, check=True).stdout
    daily.write_text(
        DAILY.replace("sum(amount) AS revenue", "sum(amount) AS revenue, max(amount) AS top"),
        "utf-8",
    )
    plan = json.loads(run_cli(["plan", "--json"], folder, check=True).stdout)
    assert plan["sql_changes"]["sales/daily"]["kind"] == "non-breaking"
    assert "adds column top" in run_cli(["plan"], folder, check=True).stdout
    daily.write_text(
        DAILY.replace("AND at < $partition_end", "AND at < $partition_end AND amount > 5"), "utf-8"
    )
    plan = json.loads(run_cli(["plan", "--json"], folder, check=True).stdout)
    assert plan["sql_changes"]["sales/daily"]["kind"] == "breaking"


def test_a_wrong_model_is_one_error_naming_file_line_and_column(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "models" / "sales" / "weekly.sql").write_text(
        WEEKLY.replace("sum(revenue) AS revenue", "sum(revenu) AS revenue"), encoding="utf-8"
    )
    result = run_cli(["plan"], folder)
    assert result.returncode != 0
    assert "models/sales/weekly.sql:6:12: unknown column 'revenu'; did you mean 'revenue'?" in (
        result.stdout + result.stderr
    )


def test_a_second_load_with_nothing_changed_does_not_parse(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    load = "import sys, defs; print(len(defs.defs.assets), 'sqlglot' in sys.modules)"

    def loaded() -> str:
        out = subprocess.run(
            [sys.executable, "-c", load], cwd=folder, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    assert loaded() == "3 True"
    assert (folder / ".partita" / "cache" / "sql-models.json").is_file()
    assert loaded() == "3 False"  # every model came from the cache
    weekly = folder / "models" / "sales" / "weekly.sql"
    weekly.write_text(weekly.read_text("utf-8") + "\n-- edited\n", encoding="utf-8")
    assert loaded() == "3 True"  # the changed file is parsed again


def _context(key: str) -> AssetContext:
    start = datetime(2025, 1, 2, tzinfo=UTC)
    window = TimeWindowRange(start, datetime(2025, 1, 3, tzinfo=UTC))
    return AssetContext(asset_key=AssetKey("m"), partition_key=key, time_window=window)


def test_a_crafted_partition_key_cannot_escape_its_parameter() -> None:
    spec = sql_asset(
        "m",
        "SELECT region, count(*) AS n FROM events WHERE region = $partition_key GROUP BY region",
        partitions=StaticPartitions(["eu"]),
    )
    assert spec.sql_model is not None
    runner = SqlRunner(spec.sql_model, "m")
    events = pa.table({"region": ["eu", "us", "x' OR '1'='1"], "v": [1, 2, 3]})
    for crafted in ("eu' OR '1'='1", "'; DROP TABLE events; --", "$partition_key", ":eu"):
        assert runner(_context(crafted), events=events).num_rows == 0, crafted
    assert runner(_context("x' OR '1'='1"), events=events).to_pylist() == [
        {"region": "x' OR '1'='1", "n": 1}
    ]
    assert runner(_context("eu"), events=events).to_pylist() == [{"region": "eu", "n": 1}]


ORDERS = pa.table(
    {
        "customer_id": [1, 1, 2, 3],
        "amount": [5.5, 20.25, 12.0, 3.0],
        "day": pa.array([datetime(2025, 1, d).date() for d in (1, 2, 2, 3)], pa.date32()),
    }
)

NATIVE = """
SELECT customer_id, CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size,
       day + INTERVAL 1 DAY AS next_day, CAST(amount AS BIGINT) AS whole
FROM orders
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC) = 1
"""

DIALECTS = {
    "snowflake": """
        SELECT customer_id, IFF(amount > 10, 'big', 'small') AS size,
               DATEADD(day, 1, day) AS next_day, amount::NUMBER(38, 0) AS whole
        FROM orders
        QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY amount DESC) = 1
    """,
    "bigquery": """
        SELECT customer_id, IF(amount > 10, 'big', 'small') AS size,
               DATE_ADD(day, INTERVAL 1 DAY) AS next_day, CAST(amount AS INT64) AS whole
        FROM orders
        QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY amount DESC) = 1
    """,
    "postgres": """
        SELECT customer_id, size, next_day, whole FROM (
          SELECT customer_id, CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size,
                 day + 1 AS next_day, amount::BIGINT AS whole,
                 row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC) AS rn
          FROM orders) AS ranked
        WHERE rn = 1
    """,
}


def _result(query: str, dialect: str) -> list[tuple[object, ...]]:
    model = sql_asset("m", textwrap.dedent(query), dialect=dialect).sql_model
    assert model is not None
    table = SqlRunner(model, "m")(None, orders=ORDERS)
    rows = [
        (r["customer_id"], r["size"], str(r["next_day"])[:10], int(r["whole"]))
        for r in table.to_pylist()
    ]
    return sorted(rows)


def test_transpiled_dialects_give_the_native_result_on_duckdb() -> None:
    native = _result(NATIVE, "duckdb")
    assert native == [
        (1, "big", "2025-01-03", 20),
        (2, "big", "2025-01-03", 12),
        (3, "small", "2025-01-04", 3),
    ]
    for dialect, query in DIALECTS.items():
        assert _result(query, dialect) == native, dialect
