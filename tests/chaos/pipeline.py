"""The data of the chaos project: pure functions of the partition key and a code variant.

This file is copied into every trial's project folder (as ``chaos_pipeline.py``)
and imported by its ``defs.py``; the invariants import it from here to compute
what a clean build holds, so the two can never disagree.

:func:`pause` is how a step takes time: it sleeps ``CHAOS_STEP_S`` seconds
(``CHAOS_LONG_STEP=asset:day`` and ``CHAOS_LONG_S`` make one step long) and
appends ``start``/``end`` lines to ``trace.log`` beside the project, so the
campaign knows which process is inside which step. Reading the environment at
call time keeps the code version the same whatever the sleeps are.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

START = "2025-01-01"
DAYS = 24
END = (date.fromisoformat(START) + timedelta(days=DAYS)).isoformat()  # exclusive
WINDOW = 3  # rolling reads its day and the two before
ROWS = 40
ASSETS = ("raw", "clean", "rolling")


def all_days() -> list[str]:
    """Every partition key, oldest first."""
    first = date.fromisoformat(START)
    return [(first + timedelta(days=i)).isoformat() for i in range(DAYS)]


def window_days(day: str) -> list[str]:
    """The days ``rolling[day]`` reads: the day and the ``WINDOW - 1`` before it, if they exist."""
    current = date.fromisoformat(day)
    wanted = {(current - timedelta(days=i)).isoformat() for i in range(WINDOW)}
    return [d for d in all_days() if d in wanted]


def trace_file() -> Path:
    """Where steps log their start and end (beside this module)."""
    return Path(__file__).with_name("trace.log")


def pause(asset: str, day: str) -> None:
    """Take a little time inside a step, logging its start and end with this pid."""
    seconds = float(os.environ.get("CHAOS_STEP_S", "0"))
    if os.environ.get("CHAOS_LONG_STEP", "") == f"{asset}:{day}":
        seconds = float(os.environ.get("CHAOS_LONG_S", "10"))
    with trace_file().open("a", encoding="utf-8") as out:
        out.write(f"start {asset} {day} {os.getpid()} {time.time():.3f}\n")
    time.sleep(seconds)
    with trace_file().open("a", encoding="utf-8") as out:
        out.write(f"end {asset} {day} {os.getpid()} {time.time():.3f}\n")


def raw_frame(day: str, variant: int) -> pd.DataFrame:
    """One day's raw rows; ``variant`` stands for a version of the code."""
    digest = hashlib.sha256(f"{day}:{variant}".encode()).hexdigest()
    rng = np.random.default_rng(int(digest[:12], 16))
    return pd.DataFrame(
        {
            "id": np.arange(ROWS, dtype="int64"),
            "amount": rng.integers(-100, 1000, ROWS).astype("float64") / 4,
            "shop": [f"shop_{i % 3}" for i in range(ROWS)],
        }
    )


def clean_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows with a positive amount, with the taxed amount in cents (exact integers)."""
    kept = raw[raw["amount"] > 0].reset_index(drop=True)
    return kept.assign(taxed_cents=(kept["amount"] * 120).astype("int64"))


def rolling_frame(clean: pd.DataFrame) -> pd.DataFrame:
    """Totals per shop over the window's rows (exact: amounts are multiples of 1/4)."""
    totals = clean.groupby("shop", as_index=False).agg(
        rows=("id", "count"), amount=("amount", "sum"), taxed_cents=("taxed_cents", "sum")
    )
    return totals.sort_values("shop").reset_index(drop=True)


def expected_frames(variant: int) -> dict[str, dict[str, pd.DataFrame]]:
    """What a clean build of ``variant`` publishes: ``{asset: {day: rows}}``."""
    raw = {day: raw_frame(day, variant) for day in all_days()}
    clean = {day: clean_frame(rows) for day, rows in raw.items()}
    rolling = {
        day: rolling_frame(pd.concat([clean[d] for d in window_days(day)], ignore_index=True))
        for day in all_days()
    }
    return {"raw": raw, "clean": clean, "rolling": rolling}
