"""Retail analytics by region: the shops' sales database -> daily sales per region ->
daily totals (SQL) -> weekly rollups, and a note to the BI team when a day is loaded.

Partitions are ``date`` x ``region`` (14 days of January 2025 x 4 regions). The
upstream source is the shops' point-of-sale database: by default the SQLite file
``data/retail_source.sqlite`` (``python services/retail_source.py`` writes it);
``RETAIL_SOURCE_URL=postgresql://user:password@host/db`` points the same project at
PostgreSQL. Partita observes the database per day and region (row count, last
``updated_at`` and sums), so a late correction of one day in one region makes
exactly that partition, that day's totals and that region's week stale.

Run it alone: ``partita -f pipelines/retail.py materialize``.
"""

from __future__ import annotations

import hashlib
import os

import pandas as pd

from partita import (
    AssetContext,
    DailyPartitions,
    Definitions,
    Dimension,
    Freshness,
    In,
    MultiPartitions,
    RetryPolicy,
    Schedule,
    StaticPartitions,
    TimeWindow,
    WeeklyPartitions,
    asset,
    in_range,
    not_null,
    row_count,
    schema,
    source,
    unique,
)

from .common import HOME, LAKE, WAREHOUSE, Notify, PipelineAlerts, write_notification
from .source_db import SourceDatabase

SOURCE_URL = os.environ.get("RETAIL_SOURCE_URL", "sqlite:///data/retail_source.sqlite")
"""The one setting that picks the source database (SQLite by default, or PostgreSQL)."""

days = DailyPartitions(start="2025-01-06", end="2025-01-20")  # end is exclusive
regions = StaticPartitions(["east", "north", "south", "west"], dimension="region")
day_by_region = MultiPartitions({"date": days, "region": regions})
week_by_region = MultiPartitions(
    {
        "date": WeeklyPartitions(start="2025-01-06", end="2025-01-20", week_start="monday"),
        "region": regions,
    }
)

OBSERVE_SQL = """
SELECT sale_date, region, count(*) AS sales, max(updated_at) AS updated_at,
       sum(quantity) AS units, sum(quantity * unit_price) AS revenue
FROM sales
WHERE sale_date BETWEEN :first AND :last
GROUP BY sale_date, region
"""

LOAD_SQL = """
SELECT sale_id, store_id, region, sale_date, product, quantity, unit_price, updated_at
FROM sales
WHERE sale_date = :day AND region = :region
ORDER BY sale_id
"""


def _version(sales: int, updated_at: object, units: int, revenue: float) -> str:
    """A data version of one day and region: it changes when any row is added, removed
    or rewritten (a rewrite stamps ``updated_at``; the sums catch one that does not).

    Values are normalized (the time in UTC, the revenue to the cent), so the same rows
    have the same version in SQLite and in PostgreSQL: pointing the project at a copy
    of the database rebuilds nothing."""
    stamp = pd.Timestamp(str(updated_at)).tz_convert("UTC").isoformat()
    text = f"{int(sales)}|{stamp}|{int(units)}|{round(float(revenue), 2):.2f}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@source(
    key="retail/pos_sales",
    partitions=day_by_region,
    group="retail",
    batch=True,
    retry=RetryPolicy(max_attempts=3, delay=0.5),
)
def pos_sales(context: AssetContext) -> dict[str, str | None]:
    """The shops' point-of-sale table, observed per day and region in one query."""
    keys = context.partition_keys
    dates = sorted({day_by_region.split(key)["date"] for key in keys})
    found = context.resources["retail_source"].query(
        OBSERVE_SQL, {"first": dates[0], "last": dates[-1]}
    )
    versions = {
        f"{row.sale_date}|{row.region}": _version(row.sales, row.updated_at, row.units, row.revenue)
        for row in found.itertuples()
    }
    return {key: versions.get(key) for key in keys}


@asset(
    key="retail/daily_sales",
    partitions=day_by_region,
    group="retail",
    deps=[pos_sales],
    store=LAKE,
    retry=RetryPolicy(max_attempts=3, delay=0.5),
    freshness=Freshness(max_lag="30h"),
    checks=[
        schema(
            {
                "sale_id": "int64",
                "store_id": "int64",
                "region": "string",
                "sale_date": "date",
                "product": "string",
                "quantity": "int64",
                "unit_price": "double",
                "updated_at": "timestamp",
            }
        ),
        row_count(min=1),
        not_null("sale_id"),
        unique("sale_id"),
        in_range("quantity", min=1),
        in_range("quantity", max=50, severity="warn", name="no_bulk_orders"),
    ],
)
def daily_sales(context: AssetContext) -> pd.DataFrame:
    """The sales of one day in one region, loaded from the source database as they are."""
    frame = context.resources["retail_source"].query(
        LOAD_SQL, {"day": context.partition["date"], "region": context.partition["region"]}
    )
    return pd.DataFrame(
        {
            "sale_id": frame["sale_id"].astype("int64"),
            "store_id": frame["store_id"].astype("int64"),
            "region": frame["region"].astype(str),
            "sale_date": pd.to_datetime(frame["sale_date"]).dt.date,
            "product": frame["product"].astype(str),
            "quantity": frame["quantity"].astype("int64"),
            "unit_price": frame["unit_price"].astype("float64"),
            "updated_at": pd.to_datetime(frame["updated_at"], utc=True),
        }
    )


@asset(
    key="retail/weekly_by_region",
    partitions=week_by_region,
    group="retail",
    ins={"sales": In("retail/daily_sales", mapping=Dimension("date", TimeWindow()))},
    freshness=Freshness(deadline="0 9 * * 1", timezone="Europe/Berlin"),
    checks=[row_count(min=1, max=1), in_range("days", min=7, severity="warn", name="whole_week")],
)
def weekly_by_region(context: AssetContext, sales: pd.DataFrame) -> pd.DataFrame:
    """One region's week: the seven daily partitions of that region, rolled up."""
    sales = sales.assign(revenue=sales["quantity"] * sales["unit_price"])
    by_day = sales.groupby("sale_date")["revenue"].sum()
    return pd.DataFrame(
        {
            "region": [context.partition["region"]],
            "week_start": [pd.Timestamp(context.partition["date"]).date()],
            "days": [int(sales["sale_date"].nunique())],
            "sales": [len(sales)],
            "units": [int(sales["quantity"].sum())],
            "revenue": [round(float(sales["revenue"].sum()), 2)],
            "best_day": [by_day.idxmax()],
            "best_day_revenue": [round(float(by_day.max()), 2)],
        }
    )


@asset(
    key="retail/bi_day_loaded",
    partitions=days,
    group="retail",
    ins={"totals": In("retail/daily_totals")},
)
def bi_day_loaded(context: AssetContext, totals: pd.DataFrame) -> None:
    """Tell the BI team a day is complete: it runs once every region of the day is loaded
    (retail/daily_totals reads all four), and again if a correction changes the day."""
    # At least once: a run killed after the note is written, before the build is recorded,
    # sends the note again on the next run (a chat message, not a ledger entry).
    write_notification(
        "bi",
        {
            "event": "retail_day_loaded",
            "day": context.partition_key,
            "regions": sorted(totals["region"]),
            "revenue": round(float(totals["revenue"].sum()), 2),
            "run_id": context.run_id,
        },
    )


defs = Definitions(
    assets=[daily_sales, weekly_by_region, bi_day_loaded],
    sources=[pos_sales],
    sql=["../models/retail"],
    store=WAREHOUSE,
    home=HOME,
    resources={"retail_source": SourceDatabase(SOURCE_URL)},
    on_failure=[PipelineAlerts("retail/", Notify("retail-data"))],
    schedules=[
        Schedule(
            "0 6 * * *",
            timezone="Europe/Berlin",
            selection="group:retail",
            name="retail_nightly",
            max_catchup=7,
        )
    ],
)
