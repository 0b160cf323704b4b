"""Pipeline 1, Daily sales: the shop's orders API -> clean orders -> revenue -> a daily report.

Every day at 02:00 (``Schedule``, run by ``partita daemon``) the orders of the
day before are fetched from the shop's HTTP API, cleaned, loaded into the DuckDB
warehouse (one partition per day, overwritten in place), summed per category by
a SQL model, and published as an HTML page with a chart of the last 7 days.

- ``sales/orders_api`` is a source: Partita asks the API for a version per day,
  so a late correction of one day rebuilds exactly what reads that day.
- ``sales/raw_orders`` retries with exponential backoff: the demo's API answers
  503 to the first request of every third day.
- Checks: ``raw_orders`` and ``clean_orders`` carry blocking checks (ids, statuses,
  amounts, schema); ``clean_orders`` warns about unusually large orders.
- ``sales/daily_report`` promises data within 26 hours (a freshness policy);
  failures and freshness violations go to the sales team (``Notify("sales")``).

The API's address comes from ``ORDERS_API_URL``, else from the file the demo's
server writes (``python services/orders_api.py serve``).
Alone: ``partita -f pipelines/daily_sales.py materialize``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from partita import (
    AssetContext,
    DailyPartitions,
    Definitions,
    Freshness,
    In,
    RetryPolicy,
    Schedule,
    TimeWindow,
    accepted_values,
    asset,
    expression,
    in_range,
    not_null,
    schema,
    source,
    unique,
)

from .common import DATA, EXAMPLE, HOME, WAREHOUSE, Notify, PipelineAlerts

days = DailyPartitions(start="2025-01-01", end="2025-01-15")  # end is exclusive
"""The first two weeks of January 2025, one partition per day."""

SALES_TEAM = Notify("sales")
REPORTS = DATA / "reports" / "sales"
"""Where ``sales/daily_report`` publishes one HTML page and one chart per day."""


@dataclass(frozen=True)
class OrdersApi:
    """A client of the shop's orders API (a resource: ``context.resources["orders_api"]``).

    ``url`` is the API's base URL; ``None`` reads the address the demo's server
    writes to ``data/orders_api/address`` while it runs.
    """

    url: str | None = None
    timeout_s: float = 10.0

    def base_url(self) -> str:
        """The API's base URL, or a ``ConnectionError`` saying how to start it."""
        if self.url:
            return self.url.rstrip("/")
        address = DATA / "orders_api" / "address"
        if address.exists():
            return address.read_text(encoding="utf-8").strip()
        raise ConnectionError(
            "the orders API is not running: start it with "
            "`python services/orders_api.py serve &` in example_project/ "
            "(or set ORDERS_API_URL)"
        )

    def get(self, path: str, **params: str) -> Any:
        """GET ``path`` with ``params``; its JSON. An HTTP error is a ``ConnectionError``."""
        url = f"{self.base_url()}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise ConnectionError(f"orders API: {error.code} {error.reason} for {path}") from None


@source(
    key="sales/orders_api",
    partitions=days,
    group="sales",
    batch=True,
    retry=RetryPolicy(max_attempts=3, delay=0.2),
)
def orders_api(context: AssetContext) -> dict[str, str | None]:
    """The shop's orders API: one version (a content hash) per day it serves."""
    keys = [str(key) for key in context.partition_keys]
    end = str(date.fromisoformat(max(keys)) + timedelta(days=1))
    versions: dict[str, str] = context.resources["orders_api"].get(
        "/versions", start=min(keys), end=end
    )
    return {key: versions.get(key) for key in keys}


@asset(
    key="sales/raw_orders",
    partitions=days,
    group="sales",
    deps=[orders_api],
    retry=RetryPolicy(max_attempts=4, delay=0.2),
    checks=[not_null("order_id"), unique("order_id")],
)
def raw_orders(context: AssetContext) -> pd.DataFrame:
    """The day's orders as the API serves them (retried with backoff when it fails)."""
    day = str(context.partition_key)
    payload = context.resources["orders_api"].get("/orders", day=day)
    context.log.info(
        "fetched %d orders of %s (version %s)", len(payload["orders"]), day, payload["version"]
    )
    return pd.DataFrame(payload["orders"])


@asset(
    key="sales/clean_orders",
    partitions=days,
    group="sales",
    checks=[
        schema(
            {
                "order_id": "int64",
                "customer_id": "int64",
                "category": "string",
                "status": "string",
                "created_at": "timestamp",
                "net_amount": "double",
            }
        ),
        accepted_values("status", ["paid"]),
        in_range("net_amount", min=0),
        expression("net_amount <= 200", severity="warn"),  # unusually large: worth a look
    ],
)
def clean_orders(raw_orders: pd.DataFrame) -> pd.DataFrame:
    """Paid orders with a positive amount, their time parsed and the discount deducted."""
    paid = raw_orders[(raw_orders["status"] == "paid") & (raw_orders["amount"] > 0)]
    return pd.DataFrame(
        {
            "order_id": paid["order_id"].astype("int64"),
            "customer_id": paid["customer_id"].astype("int64"),
            "category": paid["category"].astype("string"),
            "status": paid["status"].astype("string"),
            "created_at": pd.to_datetime(paid["created_at"], utc=True),
            "net_amount": (paid["amount"] - paid["discount"]).round(2).astype("float64"),
        }
    ).reset_index(drop=True)


@asset(
    key="sales/daily_report",
    partitions=days,
    group="sales",
    ins={"revenue": In("sales/daily_revenue", mapping=TimeWindow(start_offset=-6))},
    checks=[not_null("revenue"), in_range("orders", min=1)],
    freshness=Freshness(max_lag="26h"),
    on_freshness_violation=[SALES_TEAM],
)
def daily_report(context: AssetContext, revenue: pd.DataFrame) -> pd.DataFrame:
    """The day's report: an HTML page with a chart of the last 7 days' revenue by category,
    published to ``data/reports/sales/<day>.html``; the row says what it shows."""
    day = str(context.partition_key)
    page = write_report(day, revenue)
    today = revenue[revenue["day"].astype("string") == day]
    return pd.DataFrame(
        {
            "orders": [int(today["orders"].sum())],
            "revenue": [round(float(today["revenue"].sum()), 2)],
            "revenue_7d": [round(float(revenue["revenue"].sum()), 2)],
            "page": [str(page.relative_to(EXAMPLE))],
        }
    )


def write_report(day: str, revenue: pd.DataFrame) -> Path:
    """Draw the chart (PNG) and write the page (HTML) of ``day``; each file is replaced
    atomically, the chart first, so a reader never sees a page without its chart."""
    import matplotlib  # noqa: PLC0415 (a worker imports it only when it draws)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    REPORTS.mkdir(parents=True, exist_ok=True)
    frame = revenue.assign(day=revenue["day"].astype("string"))
    table = frame.pivot_table(index="day", columns="category", values="revenue", aggfunc="sum")
    figure, axes = plt.subplots(figsize=(7, 3.2), dpi=100)
    table.plot.bar(stacked=True, ax=axes, width=0.8)
    axes.set_title(f"Net revenue by category, the 7 days to {day}")
    axes.set_xlabel("")
    axes.set_ylabel("EUR")
    axes.set_ylim(0, 1.3 * float(table.sum(axis=1).max()))  # room for the legend
    axes.legend(fontsize=7, ncols=len(table.columns), loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    chart = REPORTS / f"{day}.png"
    staged = chart.with_name(f".{chart.name}.{os.getpid()}.tmp")
    figure.savefig(staged, format="png")
    plt.close(figure)
    staged.replace(chart)
    today = frame[frame["day"] == day].sort_values("category")
    rows = "\n".join(
        f"<tr><td>{r.category}</td><td>{r.orders}</td><td>{r.revenue:,.2f}</td></tr>"
        for r in today.itertuples()
    )
    page = REPORTS / f"{day}.html"
    staged = page.with_name(f".{page.name}.{os.getpid()}.tmp")
    staged.write_text(
        f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Daily sales {day}</title></head>
<body style="font-family: sans-serif">
<h1>Daily sales, {day}</h1>
<p>{int(today["orders"].sum())} paid orders, {float(today["revenue"].sum()):,.2f} EUR net.</p>
<img src="{chart.name}" alt="Net revenue by category, the 7 days to {day}">
<table border="1" cellpadding="4"><tr><th>category</th><th>orders</th><th>net revenue</th></tr>
{rows}
</table>
<p><small>Built by Partita: <code>partita lineage sales/daily_report --partition {day}</code>
says from what.</small></p>
</body></html>
""",
        encoding="utf-8",
    )
    staged.replace(page)
    return page


defs = Definitions(
    assets=[raw_orders, clean_orders, daily_report],
    sources=[orders_api],
    sql=["../models/sales"],
    store=WAREHOUSE,
    home=HOME,
    on_failure=[PipelineAlerts("sales/", SALES_TEAM)],
    resources={"orders_api": OrdersApi(url=os.environ.get("ORDERS_API_URL"))},
    schedules=[
        Schedule(
            "0 2 * * *", timezone="UTC", selection="group:sales", name="daily_sales", max_catchup=7
        )
    ],
)
