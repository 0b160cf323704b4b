"""Pipeline 2, Marketing ROI: ad spend, attributed sales -> ROI per campaign and day -> dashboard.

- Two extracts with no dependency on each other, so they run in parallel: the ad
  platform's spend (``marketing/ad_spend``) and the shop's sales attributed to each
  campaign (``marketing/campaign_sales``), each from its daily export file
  (``services/marketing_exports.py`` plays both tools) and loaded into the warehouse.
  Each export is a source observed by checksum: a re-sent file rebuilds its day.
- ``marketing/roi`` is a SQL model (``models/marketing/roi.sql``) that joins both:
  Partita infers that it waits for both from its ``FROM ... JOIN``.
- ``marketing/dashboard`` (one page over every day) is refreshed after it.
- Checks: blocking ones on the extracts (a negative spend never reaches the
  ROI) and on the join; a warning for a campaign that loses more than a quarter of its spend.
- Any failure notifies the marketing team: ``PipelineAlerts("marketing/", Notify("marketing"))``
  is the pipeline's ``on_failure``, its SQL model included.

Alone: ``python services/marketing_exports.py`` then
``partita -f pipelines/marketing_roi.py materialize``.
"""

from __future__ import annotations

import hashlib
import html
import os
from pathlib import Path

import pandas as pd

from partita import (
    AllPartitions,
    AssetContext,
    DailyPartitions,
    Definitions,
    Freshness,
    In,
    RetryPolicy,
    asset,
    in_range,
    not_null,
    schema,
    source,
    unique,
)

from .common import DATA, HOME, WAREHOUSE, Notify, PipelineAlerts

days = DailyPartitions(start="2025-01-01", end="2025-01-15")  # end is exclusive
"""The first two weeks of January 2025, one partition per day."""

MARKETING_TEAM = Notify("marketing")
EXPORTS = DATA / "marketing"
DASHBOARD = DATA / "reports" / "marketing" / "dashboard.html"


def export_file(tool: str, day: str) -> Path:
    """The daily export of ``tool`` (``ad_platform`` or ``attribution``)."""
    return EXPORTS / tool / f"{day}.csv"


def checksum(path: Path) -> str | None:
    """The file's content hash, or ``None`` when it has not arrived."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else None


@source(key="marketing/ad_platform_export", partitions=days, group="marketing")
def ad_platform_export(context: AssetContext) -> str | None:
    """The ad platform's daily spend export (a CSV file per day)."""
    return checksum(export_file("ad_platform", str(context.partition_key)))


@source(key="marketing/attribution_export", partitions=days, group="marketing")
def attribution_export(context: AssetContext) -> str | None:
    """The shop's daily export of sales attributed to campaigns (a CSV file per day)."""
    return checksum(export_file("attribution", str(context.partition_key)))


@asset(
    key="marketing/ad_spend",
    partitions=days,
    group="marketing",
    deps=[ad_platform_export],
    retry=RetryPolicy(max_attempts=2, delay=0.2),
    checks=[
        schema({"campaign": "string", "clicks": "int64", "spend": "double"}),
        not_null("campaign"),
        unique("campaign"),
        in_range("spend", min=0),
    ],
)
def ad_spend(context: AssetContext) -> pd.DataFrame:
    """Spend, clicks and impressions per campaign, as the ad platform exported them."""
    frame = pd.read_csv(export_file("ad_platform", str(context.partition_key)))
    return frame.astype({"campaign": "string", "clicks": "int64", "spend": "float64"})


@asset(
    key="marketing/campaign_sales",
    partitions=days,
    group="marketing",
    deps=[attribution_export],
    retry=RetryPolicy(max_attempts=2, delay=0.2),
    checks=[
        schema({"campaign": "string", "orders": "int64", "revenue": "double"}),
        not_null("campaign"),
        unique("campaign"),
        in_range("revenue", min=0),
    ],
)
def campaign_sales(context: AssetContext) -> pd.DataFrame:
    """Orders and revenue the shop attributes to each campaign."""
    frame = pd.read_csv(export_file("attribution", str(context.partition_key)))
    return frame.astype({"campaign": "string", "orders": "int64", "revenue": "float64"})


@asset(
    key="marketing/dashboard",
    group="marketing",
    ins={"roi": In("marketing/roi", mapping=AllPartitions())},
    checks=[not_null("roi"), unique("campaign")],
    freshness=Freshness(max_lag="1d"),
)
def dashboard(roi: pd.DataFrame) -> pd.DataFrame:
    """Every campaign's spend, revenue and ROI over all days, published as a page
    (``data/reports/marketing/dashboard.html``) refreshed whenever a day changes."""
    totals = (
        roi.groupby("campaign", as_index=False)[["spend", "revenue", "orders"]]
        .sum()
        .sort_values("campaign", ignore_index=True)
    )
    totals["roi"] = ((totals["revenue"] - totals["spend"]) / totals["spend"]).round(3)
    losing = roi[roi["roi"] < 0].groupby("campaign").size()
    totals["days_losing_money"] = [int(losing.get(c, 0)) for c in totals["campaign"]]
    write_dashboard(totals, roi)
    return totals


def write_dashboard(totals: pd.DataFrame, roi: pd.DataFrame) -> None:
    """Replace the dashboard page atomically."""
    rows = "\n".join(
        f"<tr><td>{html.escape(str(r.campaign))}</td><td>{r.spend:,.2f}</td>"
        f"<td>{r.revenue:,.2f}</td><td>{r.orders}</td><td>{r.roi:+.1%}</td>"
        f"<td>{r.days_losing_money}</td></tr>"
        for r in totals.itertuples()
    )
    days = roi["day"].astype("string")
    DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
    staged = DASHBOARD.with_name(f".{DASHBOARD.name}.{os.getpid()}.tmp")
    staged.write_text(
        f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Marketing ROI</title></head>
<body style="font-family: sans-serif">
<h1>Marketing ROI, {days.min()} .. {days.max()}</h1>
<table border="1" cellpadding="4">
<tr><th>campaign</th><th>spend</th><th>revenue</th><th>orders</th><th>ROI</th>
<th>days losing money</th></tr>
{rows}
</table>
<p><small>ROI = (revenue - spend) / spend. Built by Partita from
<code>marketing/roi</code>: <code>partita lineage marketing/dashboard</code>.</small></p>
</body></html>
""",
        encoding="utf-8",
    )
    staged.replace(DASHBOARD)


defs = Definitions(
    assets=[ad_spend, campaign_sales, dashboard],
    sources=[ad_platform_export, attribution_export],
    sql=["../models/marketing"],
    store=WAREHOUSE,
    home=HOME,
    on_failure=[PipelineAlerts("marketing/", MARKETING_TEAM)],
)
