"""Write the daily exports the Marketing ROI pipeline extracts (what two SaaS tools would drop).

    python services/marketing_exports.py                          # 2025-01-01 .. 2025-01-14
    python services/marketing_exports.py --bad-spend 2025-01-10   # a broken ad platform export

- ``data/marketing/ad_platform/<day>.csv``: the ad platform's spend per campaign
  (impressions, clicks, spend).
- ``data/marketing/attribution/<day>.csv``: the shop's sales attributed to each
  campaign (orders, revenue).

The files are deterministic (seeded by the day): every run writes the same bytes.
``--bad-spend DAY`` re-sends one day with a negative spend, which the pipeline's
blocking check refuses (and the marketing team is notified).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
from datetime import date, timedelta
from pathlib import Path

MARKETING = Path(__file__).resolve().parents[1] / "data" / "marketing"
AD_PLATFORM = MARKETING / "ad_platform"
ATTRIBUTION = MARKETING / "attribution"

CAMPAIGNS = {  # campaign: (daily budget, revenue per unit of spend on average)
    "newsletter": (40.0, 4.0),
    "search_brand": (120.0, 2.2),
    "social_video": (90.0, 0.9),
    "display_retargeting": (60.0, 1.4),
}


def days() -> list[str]:
    """2025-01-01 .. 2025-01-14."""
    return [str(date(2025, 1, 1) + timedelta(days=i)) for i in range(14)]


def exports(day: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The ad platform's rows and the attribution rows of ``day``."""
    rng = random.Random(f"marketing-{day}")
    spend_rows: list[dict[str, object]] = []
    sales_rows: list[dict[str, object]] = []
    for campaign, (budget, return_rate) in CAMPAIGNS.items():
        spend = round(budget * rng.uniform(0.7, 1.1), 2)
        clicks = int(spend * rng.uniform(1.5, 3.0))
        spend_rows.append(
            {
                "campaign": campaign,
                "impressions": clicks * rng.randint(40, 90),
                "clicks": clicks,
                "spend": spend,
            }
        )
        revenue = round(spend * return_rate * rng.uniform(0.6, 1.4), 2)
        sales_rows.append(
            {"campaign": campaign, "orders": max(1, int(revenue / 38)), "revenue": revenue}
        )
    return spend_rows, sales_rows


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    """Write ``rows`` as CSV, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(path)


def main() -> None:
    """Write every day's exports, or re-send one day with a broken spend."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bad-spend", metavar="DAY", help="re-send DAY with a negative spend")
    args = parser.parse_args()
    if args.bad_spend:
        spend_rows, _ = exports(args.bad_spend)
        spend_rows[0]["spend"] = -abs(float(str(spend_rows[0]["spend"])))
        _write(AD_PLATFORM / f"{args.bad_spend}.csv", spend_rows)
        print(f"re-sent {args.bad_spend} with a negative spend")
        return
    for day in days():
        spend_rows, sales_rows = exports(day)
        _write(AD_PLATFORM / f"{day}.csv", spend_rows)
        _write(ATTRIBUTION / f"{day}.csv", sales_rows)
    print(f"wrote {len(days())} days of ad platform and attribution exports to {MARKETING}")


if __name__ == "__main__":
    main()
