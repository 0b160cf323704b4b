"""Example project: the shop's daily exports -> raw orders -> clean orders -> revenue.

One partition per day of January 2025. ``landing_orders`` is a source: files
the shop drops in ``data/landing/`` (``generate_landing.py`` plays the shop).
Partita observes them (a checksum per day), so when the shop re-sends a day,
exactly what depends on that day is rebuilt.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from partita import (
    AssetContext,
    DailyPartitions,
    Definitions,
    Freshness,
    In,
    TimeWindow,
    accepted_values,
    asset,
    in_range,
    not_null,
    source,
    unique,
)

LANDING = Path(__file__).resolve().parent / "data" / "landing"

daily = DailyPartitions(start="2025-01-01", end="2025-02-01")  # end is exclusive


def landing_file(day: str) -> Path:
    """The shop's export of one day."""
    return LANDING / f"orders_{day}.csv"


@source(partitions=daily, group="sales")
def landing_orders(context: AssetContext) -> str | None:
    """The shop's daily CSV export; its data version is the file's checksum."""
    path = landing_file(str(context.partition_key))
    if not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@asset(
    partitions=daily,
    group="sales",
    deps=[landing_orders],
    checks=[not_null("order_id"), unique("order_id")],
)
def raw_orders(context: AssetContext) -> pd.DataFrame:
    """Orders as the shop exported them, one file a day."""
    return pd.read_csv(landing_file(str(context.partition_key)))


@asset(
    partitions=daily,
    group="sales",
    checks=[accepted_values("status", ["paid"]), in_range("amount", min=0)],
)
def clean_orders(raw_orders: pd.DataFrame) -> pd.DataFrame:
    """Paid orders with a positive amount."""
    paid = raw_orders[(raw_orders["status"] == "paid") & (raw_orders["amount"] > 0)]
    return paid.reset_index(drop=True)


@asset(partitions=daily, group="reporting", freshness=Freshness(max_lag="26h"))
def daily_revenue(clean_orders: pd.DataFrame) -> pd.DataFrame:
    """Revenue and order count of one day."""
    return pd.DataFrame(
        {"orders": [len(clean_orders)], "revenue": [round(float(clean_orders["amount"].sum()), 2)]}
    )


@asset(
    partitions=daily,
    group="reporting",
    ins={"daily_revenue": In(mapping=TimeWindow(start_offset=-6))},
)
def rolling_revenue(daily_revenue: pd.DataFrame) -> pd.DataFrame:
    """Revenue of the 7 days ending on the partition's day (a rolling window)."""
    return pd.DataFrame(
        {
            "days": [len(daily_revenue)],
            "revenue_7d": [round(float(daily_revenue["revenue"].sum()), 2)],
        }
    )


defs = Definitions(
    assets=[raw_orders, clean_orders, daily_revenue, rolling_revenue], sources=[landing_orders]
)
