"""Write the shop's daily order exports into data/landing/ (what a real shop would drop).

    python generate_landing.py                    # one CSV per day of January 2025
    python generate_landing.py --correct 2025-01-07   # the shop re-sends one day, corrected

The files are deterministic (seeded by the day), so every run writes the same bytes.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

LANDING = Path(__file__).resolve().parent / "data" / "landing"


def export(day: str, corrected: bool = False) -> pd.DataFrame:
    """The orders of one day; a correction turns the day's largest order into a refund."""
    seed = int(day.replace("-", ""))
    rng = np.random.default_rng(seed)
    n = 200
    frame = pd.DataFrame(
        {
            "order_id": seed * 1000 + np.arange(n),
            "customer_id": rng.integers(1, 50, n),
            "status": rng.choice(["paid", "refunded"], n, p=[0.9, 0.1]),
            "amount": rng.normal(40.0, 25.0, n).round(2),
        }
    )
    if corrected:
        frame.loc[frame["amount"].idxmax(), "status"] = "refunded"
    return frame


def main() -> None:
    """Write every day of January 2025, or re-send one corrected day."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--correct", metavar="DAY", help="re-send DAY with a correction")
    args = parser.parse_args()
    LANDING.mkdir(parents=True, exist_ok=True)
    if args.correct:
        days = [args.correct]
    else:
        days = [str(date(2025, 1, 1) + timedelta(days=i)) for i in range(31)]
    for day in days:
        export(day, corrected=bool(args.correct)).to_csv(LANDING / f"orders_{day}.csv", index=False)
    print(f"wrote {len(days)} file(s) to {LANDING}")


if __name__ == "__main__":
    main()
