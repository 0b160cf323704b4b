"""Call the example's asset functions directly for one day, as a unit test would.

Assets stay plain callables: this is how you test one in isolation.
Usage: python call_assets.py 2025-01-07
"""

from __future__ import annotations

import sys

import pandas as pd
from defs import clean_orders, daily, daily_revenue, raw_orders, rolling_revenue

from partita import AssetContext, TimeWindow


def main(day: str) -> None:
    """Build one day's revenue and its 7-day window in memory and print them."""
    target = daily.parse_range(day)  # validates the key against the definition
    now = daily.time_window(day).end
    # the partitions rolling_revenue reads, computed by its mapping (as the runner does)
    days = list(TimeWindow(start_offset=-6).upstream(target, daily, daily, now))
    revenues = []
    for key in days:
        raw = raw_orders(AssetContext.for_test("raw_orders", key))
        revenues.append(daily_revenue(clean_orders(raw)))
    print(f"{day}: daily revenue")
    print(revenues[-1].to_string(index=False))
    print(f"7 days ending {day} ({days[0]}..{days[-1]}):")
    print(rolling_revenue(pd.concat(revenues, ignore_index=True)).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "2025-01-07")
