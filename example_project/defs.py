"""Example project: raw orders -> clean orders -> daily revenue -> 7-day revenue.

One partition per day of January 2025. ``raw_orders`` stands in for a shop's
export: it generates the same orders for a day every time (seeded by the day),
so every run of the demo writes identical data.
"""

from __future__ import annotations

import numpy as np
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
    unique,
)

daily = DailyPartitions(start="2025-01-01", end="2025-02-01")  # end is exclusive


@asset(
    partitions=daily,
    group="sales",
    code_version="1",
    checks=[not_null("order_id"), unique("order_id")],
)
def raw_orders(context: AssetContext) -> pd.DataFrame:
    """Orders as the shop exports them, one file a day."""
    day = str(context.partition_key)
    seed = int(day.replace("-", ""))
    rng = np.random.default_rng(seed)
    n = 200
    return pd.DataFrame(
        {
            "order_id": seed * 1000 + np.arange(n),
            "customer_id": rng.integers(1, 50, n),
            "status": rng.choice(["paid", "refunded"], n, p=[0.9, 0.1]),
            "amount": rng.normal(40.0, 25.0, n).round(2),
        }
    )


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


defs = Definitions(assets=[raw_orders, clean_orders, daily_revenue, rolling_revenue])
