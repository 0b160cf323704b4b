"""example_project's retail pipeline, run alone through the CLI on a copy of the example.

``pipelines/retail.py``: the shops' point-of-sale database (a SQLite file by default)
is observed per day and region, loaded per date x region into the Parquet lake,
totalled per day in SQL and rolled up per week and region in the DuckDB warehouse, and
the BI team is told when a day is complete. The same project is then pointed at a
real PostgreSQL server by one setting, ``RETAIL_SOURCE_URL``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from tests.conftest import run_cli
from tests.integration.example_support import copy_example
from tests.postgres_support import PostgresServer

RETAIL = ["-f", "pipelines/retail.py"]


def generate(folder: Path, *args: str, url: str | None = None) -> str:
    """Run the source database generator as a user would (``python services/...``)."""
    env = {**os.environ}
    env.pop("RETAIL_SOURCE_URL", None)
    if url is not None:
        env["RETAIL_SOURCE_URL"] = url
    done = subprocess.run(
        [sys.executable, "services/retail_source.py", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def warehouse(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the example's DuckDB warehouse (read-only); ``{daily_sales}``
    in it stands for the raw loads, Parquet files in the lake."""
    files = folder / "data" / "lake" / "retail" / "daily_sales" / "*" / "*" / "data.parquet"
    lake = f"read_parquet('{files}', hive_partitioning = true)"
    db = folder / "data" / "warehouse.duckdb"
    with duckdb.connect(str(db) if db.exists() else ":memory:", read_only=db.exists()) as con:
        return con.sql(sql.format(daily_sales=lake)).fetchall()


def planned(folder: Path, *args: str) -> dict[str, list[list[str]]]:
    """``partita plan --json``: per asset, the planned key ranges."""
    out = run_cli([*RETAIL, "plan", *args, "--json"], folder, check=True).stdout
    return {step["asset"]: step["partitions"]["ranges"] for step in json.loads(out)["steps"]}


@pytest.mark.slow
def test_retail_pipeline_end_to_end_on_the_sqlite_source(tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    assert "wrote 2744 sales of 14 days x 4 regions" in generate(folder)

    first = run_cli([*RETAIL, "materialize", "--json"], folder)
    assert first.returncode == 0, first.stdout + first.stderr
    result = json.loads(first.stdout)
    assert result["counts"] == {"succeeded": 92}  # 56 day-regions, 14 days x 2, 8 weeks
    warned = {
        (t["asset"], t["partition"]): [w.split(":")[0] for w in t["warnings"]]
        for t in result["tasks"]
        if t["warnings"]
    }
    assert warned == {("retail/daily_sales", "2025-01-15|east"): ["no_bulk_orders"]}

    # every day x region landed, as the source holds it
    assert warehouse(
        folder, "SELECT count(*), count(DISTINCT (date, region)) FROM {daily_sales}"
    ) == [(2744, 56)]
    source = folder / "data" / "retail_source.sqlite"
    with sqlite3.connect(source) as db:
        source_units = dict(
            db.execute("SELECT sale_date, sum(quantity) FROM sales GROUP BY sale_date").fetchall()
        )
    totals = warehouse(
        folder,
        "SELECT date, count(*), sum(units), sum(revenue) FROM retail.daily_totals GROUP BY 1",
    )
    assert {day: units for day, _, units, _ in totals} == source_units
    assert {regions for _, regions, _, _ in totals} == {4}
    # the weekly rollup read seven days of its region, and agrees with the daily totals
    weeks = warehouse(
        folder, "SELECT date, region, days, revenue FROM retail.weekly_by_region ORDER BY 1, 2"
    )
    assert [(w[0], w[1], w[2]) for w in weeks] == [
        (week, region, 7)
        for week in ("2025-01-06", "2025-01-13")
        for region in ("east", "north", "south", "west")
    ]
    assert round(sum(w[3] for w in weeks), 1) == round(sum(t[3] for t in totals), 1)

    # the BI team heard once per complete day, with every region in the message
    bi = folder / "data" / "notifications" / "bi.jsonl"
    notes = [json.loads(line) for line in bi.read_text().splitlines()]
    assert sorted(n["day"] for n in notes) == [f"2025-01-{d:02d}" for d in range(6, 20)]
    assert all(n["regions"] == ["east", "north", "south", "west"] for n in notes)

    # a late correction of one day in one region: exactly what reads it is stale
    assert "corrected the sales of 2025-01-08 in north" in generate(
        folder, "--correct", "2025-01-08", "north"
    )
    assert planned(folder) == {
        "retail/daily_sales": [["2025-01-08|north", "2025-01-08|north"]],
        "retail/daily_totals": [["2025-01-08", "2025-01-08"]],
        "retail/bi_day_loaded": [["2025-01-08", "2025-01-08"]],
        "retail/weekly_by_region": [["2025-01-06|north", "2025-01-06|north"]],
    }
    second = run_cli([*RETAIL, "materialize", "--json"], folder)
    assert second.returncode == 0, second.stdout + second.stderr
    assert json.loads(second.stdout)["counts"] == {"succeeded": 4}
    with sqlite3.connect(source) as db:
        (corrected,) = db.execute(
            "SELECT sum(quantity) FROM sales WHERE sale_date = '2025-01-08' AND region = 'north'"
        ).fetchone()
    assert warehouse(
        folder,
        "SELECT units FROM retail.daily_totals WHERE date = '2025-01-08' AND region = 'north'",
    ) == [(corrected,)]
    assert warehouse(
        folder, "SELECT count(*) FROM {daily_sales} WHERE region = 'north'"
    ) == warehouse(folder, "SELECT sum(sales) FROM retail.daily_totals WHERE region = 'north'")
    notes = [json.loads(line) for line in bi.read_text().splitlines()]
    assert [n["day"] for n in notes[14:]] == ["2025-01-08"]  # the day changed: told again

    # freshness: the closed January window makes the daily load late today, as designed
    fresh = run_cli([*RETAIL, "freshness", "--json"], folder)
    assert fresh.returncode == 1
    statuses = {a["asset"]: a["status"] for a in json.loads(fresh.stdout)["assets"]}
    assert statuses["retail/daily_sales"] == "late"


@pytest.mark.slow
def test_the_same_pipeline_reads_postgresql_by_one_setting(
    tmp_path: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RETAIL_SOURCE_URL=postgresql://... : the generator writes the same rows into a real
    PostgreSQL database, and the pipeline observes and loads them from there."""
    name = f"retail_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    url = postgres_server.url(name)
    folder = copy_example(tmp_path)
    assert "(PostgreSQL)" in generate(folder, url=url)
    generate(folder)  # the SQLite file too, to compare: the same rows
    north = ["retail/daily_sales", "--from", "2025-01-06|north", "--to", "2025-01-12|north"]

    monkeypatch.setenv("RETAIL_SOURCE_URL", url)
    built = run_cli([*RETAIL, "materialize", *north], folder)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "built 7 partitions" in built.stdout
    assert postgres_server.password not in built.stdout + built.stderr

    loaded = warehouse(
        folder,
        "SELECT sale_id, store_id, region, CAST(sale_date AS VARCHAR), product, quantity, "
        "unit_price, epoch(updated_at) FROM {daily_sales} ORDER BY sale_id",
    )
    with sqlite3.connect(folder / "data" / "retail_source.sqlite") as db:
        rows = db.execute(
            "SELECT * FROM sales WHERE region = 'north' AND sale_date <= '2025-01-12' "
            "ORDER BY sale_id"
        ).fetchall()
    expected = [(*row[:7], datetime.fromisoformat(row[7]).timestamp()) for row in rows]
    assert len(loaded) > 300 and loaded == expected

    # the same rows have the same data versions in both databases: back on the SQLite
    # file, nothing is stale; a correction made in PostgreSQL is seen per day-region
    monkeypatch.delenv("RETAIL_SOURCE_URL")
    assert planned(folder, *north) == {}
    generate(folder, "--correct", "2025-01-08", "north", url=url)
    monkeypatch.setenv("RETAIL_SOURCE_URL", url)
    assert planned(folder, *north) == {
        "retail/daily_sales": [["2025-01-08|north", "2025-01-08|north"]]
    }
