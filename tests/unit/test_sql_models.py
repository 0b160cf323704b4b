"""SQL models: dependencies, column lineage, code versions, bad input, change kinds.

Models are declared with ``sql_asset`` and resolved among Python assets by
``Definitions`` (whose ``schema`` checks give the upstream columns), as a
project would; nothing here runs a query (see tests/integration/test_sql_assets.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from partita import DailyPartitions, Definitions, asset
from partita.checks import schema
from partita.mappings import TimeWindow
from partita.sql import SqlModelError, sql_asset
from partita.sql.changes import classify_change
from partita.sql.header import split_header

DAYS = DailyPartitions(start="2025-01-01")


@asset(
    key="sales/clean_orders",
    partitions=DAYS,
    checks=[schema({"order_id": "int64", "customer_id": "int64", "amount": "double"})],
)
def clean_orders() -> pd.DataFrame:
    return pd.DataFrame()


@asset(checks=[schema({"customer_id": "int64", "region": "string", "name": "string"})])
def customers() -> pd.DataFrame:
    return pd.DataFrame()


@asset
def untyped_events() -> pd.DataFrame:
    """No schema check: its columns are unknown."""
    return pd.DataFrame()


def _resolve(*models: object) -> dict[str, object]:
    defs = Definitions(assets=[clean_orders, customers, untyped_events, *models])
    return {str(a.key): a for a in defs.assets}


def _lineage(spec: object) -> dict[str, tuple[set[str], bool]]:
    model = spec.sql_model  # type: ignore[attr-defined]
    return {
        item.column: ({f"{s.asset}.{s.column}" for s in item.sources}, item.resolved)
        for item in model.column_lineage
    }


REALISTIC = {
    "cte_join_aggregate": (
        """
        WITH o AS (SELECT * FROM sales.clean_orders WHERE amount > 0)
        SELECT c.region, sum(o.amount) AS revenue, count(*) AS orders
        FROM o JOIN customers AS c ON o.customer_id = c.customer_id
        GROUP BY c.region
        """,
        {
            "region": {"customers.region"},
            "revenue": {"sales/clean_orders.amount"},
            "orders": set(),
        },
    ),
    "window": (
        """
        SELECT order_id,
               sum(amount) OVER (PARTITION BY customer_id ORDER BY order_id) AS running
        FROM sales.clean_orders
        """,
        {
            "order_id": {"sales/clean_orders.order_id"},
            "running": {
                "sales/clean_orders.amount",
                "sales/clean_orders.customer_id",
                "sales/clean_orders.order_id",
            },
        },
    ),
    "subquery": (
        """
        SELECT name, (SELECT max(amount) FROM sales.clean_orders) AS top
        FROM customers WHERE customer_id IN (SELECT customer_id FROM sales.clean_orders)
        """,
        {"name": {"customers.name"}, "top": {"sales/clean_orders.amount"}},
    ),
    "union": (
        """
        SELECT customer_id AS id, 'order' AS kind FROM sales.clean_orders
        UNION ALL
        SELECT customer_id, region FROM customers
        """,
        {
            "id": {"sales/clean_orders.customer_id", "customers.customer_id"},
            "kind": {"customers.region"},
        },
    ),
    "star": (
        "SELECT * FROM customers",
        {
            "customer_id": {"customers.customer_id"},
            "region": {"customers.region"},
            "name": {"customers.name"},
        },
    ),
}


@pytest.mark.parametrize("case", sorted(REALISTIC))
def test_dependencies_and_column_lineage_of_realistic_queries(case: str) -> None:
    query, expected = REALISTIC[case]
    specs = _resolve(sql_asset("model", query))
    model = specs["model"]
    upstream = {str(d.key) for d in model.deps}  # type: ignore[attr-defined]
    named = {s.split(".")[0] for sources in expected.values() for s in sources}
    assert named <= upstream
    lineage = _lineage(model)
    assert list(lineage) == list(expected)
    for column, sources in expected.items():
        assert lineage[column] == (sources, True), column


def test_a_model_reads_another_model_and_star_expands_its_columns() -> None:
    revenue = sql_asset(
        "revenue",
        "SELECT customer_id, sum(amount) AS total FROM sales.clean_orders GROUP BY 1",
    )
    ranked = sql_asset("ranked", "SELECT *, rank() OVER (ORDER BY total DESC) AS r FROM revenue")
    specs = _resolve(revenue, ranked)
    assert specs["ranked"].sql_model.columns == ("customer_id", "total", "r")  # type: ignore[attr-defined]
    assert _lineage(specs["ranked"])["total"] == ({"revenue.total"}, True)


def test_columns_of_an_upstream_without_schema_are_marked_not_dropped() -> None:
    specs = _resolve(sql_asset("copy", "SELECT * FROM untyped_events"))
    model = specs["copy"].sql_model  # type: ignore[attr-defined]
    assert model.columns is None
    assert [(i.column, i.resolved) for i in model.column_lineage] == [("*", False)]
    named = _resolve(
        sql_asset("named", "SELECT kind, count(*) AS n FROM untyped_events GROUP BY 1")
    )
    assert _lineage(named["named"])["kind"] == ({"untyped_events.kind"}, True)


def test_formatting_and_comments_do_not_change_the_code_version() -> None:
    one = sql_asset("m", "SELECT customer_id, sum(amount) AS s FROM sales.clean_orders GROUP BY 1")
    two = sql_asset(
        "m",
        """
        -- revenue per customer
        select   customer_id,
                 SUM(amount) as s   /* total */
        from sales.clean_orders
        group by 1
        """,
    )
    three = sql_asset(
        "m", "SELECT customer_id, sum(amount) AS s FROM sales.clean_orders GROUP BY 1 HAVING s > 0"
    )
    assert one.code_version == two.code_version
    assert one.code_version != three.code_version
    assert one.sql_model.query == two.sql_model.query  # type: ignore[union-attr]


def _error(query: str, dialect: str = "duckdb") -> SqlModelError:
    with pytest.raises(SqlModelError) as info:
        _resolve(sql_asset("bad", query, dialect=dialect))
    return info.value


def test_bad_input_is_one_error_with_its_place_and_close_names() -> None:
    syntax = _error("SELECT customer_id,\n  FROM sales.clean_orders WHERE (")
    assert (syntax.line, syntax.column) == (2, 33) and "syntax error" in str(syntax)
    column = _error("SELECT customer_id,\n       amont\nFROM sales.clean_orders")
    assert (column.line, column.column) == (2, 8)
    assert column.suggestions == ["amount"] and "unknown column 'amont'" in str(column)
    table = _error("SELECT 1 AS one\nFROM sales.clean_order")
    assert (table.line, table.column) == (2, 6)
    assert "sales.clean_orders" in table.suggestions
    parameter = _error("SELECT 1 AS one FROM customers WHERE region = $partition_ky")
    assert parameter.suggestions[0] == "partition_key" and parameter.column == 47
    cannot = _error(
        "SELECT ARRAY_AGG(name IGNORE NULLS LIMIT 2) AS names FROM customers", "bigquery"
    )
    assert "cannot run bigquery SQL on DuckDB" in str(cannot) and cannot.column == 8


def test_partition_parameters_need_partitions() -> None:
    with pytest.raises(SqlModelError, match="no time partitions"):
        sql_asset("m", "SELECT * FROM customers WHERE region > $partition_start")
    spec = sql_asset(
        "m", "SELECT 1 AS x FROM customers WHERE region > $partition_start", partitions=DAYS
    )
    assert spec.sql_model is not None and spec.sql_model.parameters == ("partition_start",)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (
            "SELECT a, sum(b) AS s FROM t GROUP BY a",
            "SELECT a, sum(b) AS s, max(b) AS m FROM t GROUP BY a",
            "non-breaking",
        ),
        ("SELECT a, b FROM t", "SELECT a FROM t", "breaking"),
        ("SELECT a FROM t", "SELECT a FROM t WHERE a > 0", "breaking"),
        ("SELECT DISTINCT a FROM t", "SELECT DISTINCT a, b FROM t", "breaking"),
        ("SELECT a, b FROM t", "SELECT a, b + 1 AS b FROM t", "breaking"),
    ],
)
def test_a_change_is_breaking_unless_it_only_adds_columns(old: str, new: str, kind: str) -> None:
    assert classify_change(old, new, "duckdb").kind == kind


def test_the_model_header_is_read_without_evaluating_and_errors_point_at_the_setting() -> None:
    text = (
        "MODEL (\n"
        "  name sales.top,\n"
        "  partitions DailyPartitions(start='2025-01-01'),\n"
        "  tags {tier: 'gold'},  -- a comment\n"
        "  owners ('ana@example.com',),\n"
        ");\n"
        "SELECT 1 AS one\n"
    )
    header, query = split_header(text, "m.sql")
    assert header.get("name") == "sales.top"
    assert header.get("partitions") == DailyPartitions(start="2025-01-01")
    assert header.get("tags") == {"tier": "gold"}
    assert header.get("owners") == ("ana@example.com",)
    assert query.splitlines()[6] == "SELECT 1 AS one" and not query.splitlines()[0].strip()
    with pytest.raises(SqlModelError) as setting:
        split_header("MODEL (\n  partition DailyPartitions(start='2025-01-01')\n);", "m.sql")
    assert (setting.value.line, setting.value.column) == (2, 3)
    assert setting.value.suggestions[0] == "partitions"
    with pytest.raises(SqlModelError) as call:
        split_header("MODEL (checks (not_nul(x),));\nSELECT 1", "m.sql")
    assert call.value.suggestions[0] == "not_null" and call.value.column == 16


def test_a_mapping_for_a_table_the_query_misspells_names_what_it_reads() -> None:
    with pytest.raises(SqlModelError) as refused:
        sql_asset(
            "weekly",
            "SELECT sum(amount) AS total FROM daily_paymnts",
            mappings={"daily_payments": TimeWindow(start_offset=-6)},
        )
    assert "(it reads daily_paymnts)" in str(refused.value)
    assert refused.value.suggestions == ["daily_paymnts"]


def test_an_incomplete_clause_is_said_in_sql_words() -> None:
    with pytest.raises(SqlModelError) as refused:
        sql_asset("totals", "SELECT a, count(*) AS n FROM t GROUP BY a HAVING")
    assert "syntax error: incomplete HAVING clause" in str(refused.value)
    assert "sqlglot" not in str(refused.value)
