"""Daily sales report that halts on failure: till transactions and stock counts ->
daily metrics (SQL) -> one Markdown report per day.

The store's back office drops two CSV files a day (``services/store_ledger.py`` plays
it). A stock count with a negative row fails the blocking check on
``inventory/stock``: that day's staged data is discarded, its metrics and report are
not built, and what was published before (the stock rows, the metrics, the report
file) stays as it was, while every other day is built. The catalog says why
(``partita checks inventory/stock --failed``), and store operations get an alert.

Run it alone: ``partita -f pipelines/halting.py materialize``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from partita import (
    AssetContext,
    DailyPartitions,
    Definitions,
    Freshness,
    In,
    Schedule,
    accepted_values,
    asset,
    in_range,
    not_null,
    schema,
    source,
    unique,
)

from .common import DATA, HOME, LAKE, WAREHOUSE, Notify, PipelineAlerts

STORE = DATA / "store"
REPORTS = DATA / "reports" / "inventory"

days = DailyPartitions(start="2025-01-06", end="2025-01-13")  # end is exclusive


def export_file(kind: str, day: str) -> Path:
    """One day's CSV export of ``kind`` (``transactions`` or ``inventory``)."""
    return STORE / kind / f"{day}.csv"


def _checksum(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else None


@source(key="inventory/till_exports", partitions=days, group="inventory")
def till_exports(context: AssetContext) -> str | None:
    """The till's daily transactions file; its version is the file's checksum."""
    return _checksum(export_file("transactions", str(context.partition_key)))


@source(key="inventory/stock_counts", partitions=days, group="inventory")
def stock_counts(context: AssetContext) -> str | None:
    """The back office's daily stock count file; its version is the file's checksum."""
    return _checksum(export_file("inventory", str(context.partition_key)))


@asset(
    key="inventory/transactions",
    partitions=days,
    group="inventory",
    deps=[till_exports],
    store=LAKE,
    checks=[
        schema(
            {
                "txn_id": "int64",
                "sku": "string",
                "quantity": "int64",
                "unit_price": "double",
                "payment": "string",
            }
        ),
        not_null("txn_id"),
        unique("txn_id"),
        in_range("quantity", min=1),
        accepted_values("payment", ["card", "cash"], severity="warn"),
    ],
)
def transactions(context: AssetContext) -> pd.DataFrame:
    """Every sale the tills recorded on the day."""
    frame = pd.read_csv(export_file("transactions", str(context.partition_key)))
    return frame.astype(
        {
            "txn_id": "int64",
            "sku": str,
            "quantity": "int64",
            "unit_price": "float64",
            "payment": str,
        }
    )


@asset(
    key="inventory/stock",
    partitions=days,
    group="inventory",
    deps=[stock_counts],
    store=LAKE,
    checks=[
        schema({"sku": "string", "on_hand": "int64", "reorder_point": "int64"}),
        not_null("sku"),
        unique("sku"),
        in_range("on_hand", min=0, name="no_negative_stock"),
    ],
)
def stock(context: AssetContext) -> pd.DataFrame:
    """The stock on hand per SKU at the end of the day, as counted."""
    frame = pd.read_csv(export_file("inventory", str(context.partition_key)))
    return pd.DataFrame(
        {
            "sku": frame["sku"].astype(str),
            "on_hand": frame["on_hand"].astype("int64"),
            "reorder_point": frame["reorder_point"].astype("int64"),
            "counted_at": pd.to_datetime(frame["counted_at"], utc=True),
        }
    )


def render(day: str, metrics: pd.DataFrame, run_id: str) -> str:
    """The day's report as Markdown: totals, then what to reorder, then the top sellers."""
    reorder = metrics[metrics["needs_reorder"]].sort_values("days_of_cover", na_position="last")
    top = metrics.sort_values("revenue", ascending=False).head(5)
    lines = [
        f"# Store report {day}",
        "",
        f"- revenue: {metrics['revenue'].sum():.2f} EUR"
        f" from {int(metrics['units_sold'].sum())} units",
        f"- SKUs to reorder: {len(reorder)} of {len(metrics)}",
        f"- built by run {run_id}",
        "",
        "## Reorder",
        "",
        "| SKU | on hand | reorder point | days of cover |",
        "|---|---:|---:|---:|",
    ]
    for row in reorder.itertuples():
        cover = "-" if pd.isna(row.days_of_cover) else f"{row.days_of_cover:.1f}"
        lines.append(f"| {row.sku} | {row.on_hand} | {row.reorder_point} | {cover} |")
    lines += ["", "## Top sellers", "", "| SKU | units | revenue |", "|---|---:|---:|"]
    lines += [f"| {r.sku} | {r.units_sold} | {r.revenue:.2f} |" for r in top.itertuples()]
    return "\n".join(lines) + "\n"


def report_file(day: str) -> Path:
    """Where the report of ``day`` is published."""
    return REPORTS / f"{day}.md"


@asset(
    key="inventory/daily_report",
    partitions=days,
    group="inventory",
    ins={"metrics": In("inventory/daily_metrics")},
    freshness=Freshness(deadline="0 8 * * *", timezone="Europe/Berlin"),
)
def daily_report(context: AssetContext, metrics: pd.DataFrame) -> pd.DataFrame:
    """The day's Markdown report in data/reports/inventory/, and a summary row.

    The file is replaced atomically (written aside, then renamed), so a reader sees
    the old report or the new one, never half of one.
    """
    day = str(context.partition_key)
    text = render(day, metrics, context.run_id)
    path = report_file(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    # Published before the summary row: a run killed in between leaves the new report
    # with the partition still stale in the catalog, so the next run writes it again.
    partial.replace(path)
    return pd.DataFrame(
        {
            "report": [str(path.relative_to(DATA))],
            "skus": [len(metrics)],
            "units_sold": [int(metrics["units_sold"].sum())],
            "revenue": [round(float(metrics["revenue"].sum()), 2)],
            "skus_to_reorder": [int(metrics["needs_reorder"].sum())],
        }
    )


defs = Definitions(
    assets=[transactions, stock, daily_report],
    sources=[till_exports, stock_counts],
    sql=["../models/inventory"],
    store=WAREHOUSE,
    home=HOME,
    on_failure=[PipelineAlerts("inventory/", Notify("store-ops"))],
    schedules=[
        Schedule(
            "30 6 * * *",
            timezone="Europe/Berlin",
            selection="group:inventory",
            name="store_report_daily",
            max_catchup=7,
        )
    ],
)
