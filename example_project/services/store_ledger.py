"""Play the store's back office: till exports and stock counts, one CSV of each per day.

    python services/store_ledger.py                     # a week of transactions and stock
    python services/store_ledger.py --recount           # the week's recount (one bad row)
    python services/store_ledger.py --recount --fixed   # ... re-sent, the bad row fixed

Files go to ``data/store/transactions/<day>.csv`` and ``data/store/inventory/<day>.csv``
for 2025-01-06..2025-01-12. Everything is deterministic (seeded by the day).

The recount rewrites every day's stock count; in it, the count of 2025-01-09 has one
row with a negative stock (a scanner error), which the pipeline's blocking check
refuses. ``--fixed`` writes the same recount with that row counted again.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

STORE = Path(__file__).resolve().parents[1] / "data" / "store"
FIRST_DAY = date(2025, 1, 6)
DAYS = 7
BAD_DAY = "2025-01-09"
"""The day whose recount holds the scanner error."""
VOUCHER_DAY = "2025-01-11"
"""The day some customers paid with vouchers (the pipeline's warning check flags it)."""

SKUS = [f"SKU-{i:03d}" for i in range(1, 25)]
PRICES = {sku: round(2.5 + 1.75 * i, 2) for i, sku in enumerate(SKUS)}


def days() -> list[str]:
    """The days of the week the back office exports."""
    return [str(FIRST_DAY + timedelta(days=i)) for i in range(DAYS)]


def transactions(day: str) -> pd.DataFrame:
    """The till's transactions of one day."""
    seed = int(day.replace("-", ""))
    rng = np.random.default_rng(seed)
    n = 120
    payment = rng.choice(["card", "cash"], n, p=[0.8, 0.2]).astype(object)
    if day == VOUCHER_DAY:
        payment[:3] = "voucher"
    skus = rng.choice(SKUS, n)
    return pd.DataFrame(
        {
            "txn_id": seed * 1000 + np.arange(n),
            "sku": skus,
            "quantity": rng.integers(1, 5, n),
            "unit_price": [PRICES[s] for s in skus],
            "payment": payment,
        }
    )


def stock(day: str, *, recount: bool = False, fixed: bool = False) -> pd.DataFrame:
    """The stock count at the end of one day; a recount corrects a few rows, and
    (unless ``fixed``) has a negative count for one SKU of :data:`BAD_DAY`."""
    seed = int(day.replace("-", ""))
    rng = np.random.default_rng(seed + 1)
    frame = pd.DataFrame(
        {
            "sku": SKUS,
            "on_hand": rng.integers(0, 120, len(SKUS)),
            "reorder_point": rng.integers(10, 30, len(SKUS)),
            "counted_at": f"{day}T21:00:00+00:00",
        }
    )
    if recount:
        fix = np.random.default_rng(seed + 2)
        rows = fix.choice(len(SKUS), 4, replace=False)
        frame.loc[rows, "on_hand"] = (frame.loc[rows, "on_hand"] + fix.integers(-3, 4, 4)).clip(0)
        frame["counted_at"] = "2025-01-13T08:00:00+00:00"
        if day == BAD_DAY and not fixed:
            frame.loc[7, "on_hand"] = -4
    return frame


def write(frame: pd.DataFrame, path: Path) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a file)."""
    partial = path.with_suffix(".partial")
    frame.to_csv(partial, index=False)
    partial.replace(path)


def main() -> None:
    """Write the week's exports, or the stock recount."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recount", action="store_true", help="write the week's stock recount")
    parser.add_argument("--fixed", action="store_true", help="with --recount: no bad row")
    args = parser.parse_args()
    if args.fixed and not args.recount:
        parser.error("--fixed goes with --recount")
    for folder in ("transactions", "inventory"):
        (STORE / folder).mkdir(parents=True, exist_ok=True)
    for day in days():
        if not args.recount:
            write(transactions(day), STORE / "transactions" / f"{day}.csv")
        write(
            stock(day, recount=args.recount, fixed=args.fixed), STORE / "inventory" / f"{day}.csv"
        )
    if args.recount:
        bad = "" if args.fixed else f" (the count of {BAD_DAY} has a negative stock)"
        print(f"wrote the stock recount of {len(days())} days to {STORE / 'inventory'}{bad}")
    else:
        print(f"wrote {len(days())} days of transactions and stock counts to {STORE}")


if __name__ == "__main__":
    main()
