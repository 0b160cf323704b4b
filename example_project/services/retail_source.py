"""Play the shops' point-of-sale database: the upstream source of the retail pipeline.

    python services/retail_source.py                              # 14 days x 4 regions
    python services/retail_source.py --correct 2025-01-08 north   # a late correction

By default the database is a SQLite file, ``data/retail_source.sqlite``. Set
``RETAIL_SOURCE_URL`` (the one setting the pipeline reads too) to write the same
rows to another database instead, e.g. PostgreSQL (needs ``partita[postgres]``):

    export RETAIL_SOURCE_URL=postgresql://user:password@localhost:5432/shops
    python services/retail_source.py

The rows are deterministic (seeded by day and region), so every run writes the same data.
A correction rewrites some rows of one day and region and stamps them with a later
``updated_at``, as a till that syncs late would.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1]
DEFAULT_URL = "sqlite:///data/retail_source.sqlite"
"""Relative SQLite paths are relative to the example project's folder."""

FIRST_DAY = date(2025, 1, 6)
DAYS = 14
REGIONS = ("north", "south", "east", "west")
PRODUCTS = {
    "espresso_beans": 14.5,
    "filter_papers": 3.2,
    "grinder": 89.0,
    "kettle": 45.0,
    "mug": 9.9,
    "oat_milk": 2.4,
    "tea_sampler": 18.0,
    "travel_cup": 22.5,
}
BULK_ORDER = ("2025-01-15", "east")
"""The one day and region with a bulk order (the pipeline's warning check flags it)."""

CORRECTED_AT = "2025-01-20T09:30:00+00:00"

_DDL = {
    "sqlite": [
        "CREATE TABLE stores (store_id INTEGER PRIMARY KEY, region TEXT NOT NULL, "
        "city TEXT NOT NULL)",
        "CREATE TABLE sales (sale_id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL, "
        "region TEXT NOT NULL, sale_date TEXT NOT NULL, product TEXT NOT NULL, "
        "quantity INTEGER NOT NULL, unit_price REAL NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX sales_day_region ON sales (sale_date, region)",
    ],
    "postgresql": [
        "CREATE TABLE stores (store_id INTEGER PRIMARY KEY, region TEXT NOT NULL, "
        "city TEXT NOT NULL)",
        "CREATE TABLE sales (sale_id BIGINT PRIMARY KEY, store_id INTEGER NOT NULL, "
        "region TEXT NOT NULL, sale_date DATE NOT NULL, product TEXT NOT NULL, "
        "quantity INTEGER NOT NULL, unit_price DOUBLE PRECISION NOT NULL, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX sales_day_region ON sales (sale_date, region)",
    ],
}


def stores() -> list[tuple[int, str, str]]:
    """Three stores per region."""
    return [
        (10 * (r + 1) + k, region, f"{region}-{k}")
        for r, region in enumerate(REGIONS)
        for k in range(1, 4)
    ]


def sales(day: str, region: str) -> list[tuple[Any, ...]]:
    """The sales of one day in one region, as the tills recorded them that night."""
    r = REGIONS.index(region)
    seed = int(day.replace("-", "")) * 10 + r
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 60))
    names = list(PRODUCTS)
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        product = names[int(rng.integers(0, len(names)))]
        price = round(PRODUCTS[product] * float(rng.uniform(0.9, 1.1)), 2)
        quantity = int(rng.integers(1, 6))
        if (day, region) == BULK_ORDER and i == 0:
            quantity = 80
        minute = int(rng.integers(0, 60))
        rows.append(
            (
                seed * 1000 + i,
                10 * (r + 1) + int(rng.integers(1, 4)),
                region,
                day,
                product,
                quantity,
                price,
                f"{day}T23:{minute:02d}:00+00:00",
            )
        )
    return rows


def days() -> list[str]:
    """The days the database holds."""
    return [str(FIRST_DAY + timedelta(days=i)) for i in range(DAYS)]


def dialect(url: str) -> str:
    """``sqlite`` or ``postgresql``, from the URL's scheme."""
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise SystemExit(
        f"RETAIL_SOURCE_URL: unsupported scheme {scheme!r} (sqlite:/// or postgresql://)"
    )


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else EXAMPLE / path


@contextmanager
def connect(url: str) -> Iterator[Any]:
    """A DB-API connection to ``url``, committed when the block ends without error."""
    if dialect(url) == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn: Any = sqlite3.connect(path)
    else:
        import psycopg  # noqa: PLC0415 (only for PostgreSQL: pip install 'partita[postgres]')

        conn = psycopg.connect(url)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def _placeholders(kind: str, n: int) -> str:
    mark = "?" if kind == "sqlite" else "%s"
    return ", ".join([mark] * n)


def create(url: str) -> int:
    """(Re)create the tables and write every day and region; returns the number of sales."""
    kind = dialect(url)
    if kind == "sqlite":
        sqlite_path(url).unlink(missing_ok=True)
    rows = [row for day in days() for region in REGIONS for row in sales(day, region)]
    with connect(url) as conn:
        cur = conn.cursor()
        if kind == "postgresql":
            cur.execute("DROP TABLE IF EXISTS sales")
            cur.execute("DROP TABLE IF EXISTS stores")
        for statement in _DDL[kind]:
            cur.execute(statement)
        cur.executemany(f"INSERT INTO stores VALUES ({_placeholders(kind, 3)})", stores())
        cur.executemany(f"INSERT INTO sales VALUES ({_placeholders(kind, 8)})", rows)
    return len(rows)


def correct(url: str, day: str, region: str) -> int:
    """A late correction of one day and region: the first three sales were returned
    in part (their quantity drops by one, at least to 1) and a sale the till lost
    arrives. Returns the number of rows written."""
    if day not in days() or region not in REGIONS:
        raise SystemExit(
            f"--correct: no sales for {day} {region} (days {days()[0]}..{days()[-1]}, "
            f"regions {', '.join(REGIONS)})"
        )
    kind = dialect(url)
    original = sales(day, region)
    mark = "?" if kind == "sqlite" else "%s"
    with connect(url) as conn:
        cur = conn.cursor()
        for row in original[:3]:
            cur.execute(
                f"UPDATE sales SET quantity = {mark}, updated_at = {mark} WHERE sale_id = {mark}",
                (max(1, row[5] - 1), CORRECTED_AT, row[0]),
            )
        late = (original[-1][0] + 1, *original[-1][1:5], 2, 19.9, CORRECTED_AT)
        cur.execute(f"DELETE FROM sales WHERE sale_id = {mark}", (late[0],))
        cur.execute(f"INSERT INTO sales VALUES ({_placeholders(kind, 8)})", late)
    return 4


def main() -> None:
    """Create the database, or apply one late correction."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--correct", nargs=2, metavar=("DAY", "REGION"), help="correct the sales of DAY in REGION"
    )
    args = parser.parse_args()
    url = os.environ.get("RETAIL_SOURCE_URL", DEFAULT_URL)
    where = str(sqlite_path(url)) if dialect(url) == "sqlite" else "RETAIL_SOURCE_URL (PostgreSQL)"
    if args.correct:
        day, region = args.correct
        correct(url, day, region)
        print(f"corrected the sales of {day} in {region} in {where}")
    else:
        count = create(url)
        print(f"wrote {count} sales of {DAYS} days x {len(REGIONS)} regions to {where}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
