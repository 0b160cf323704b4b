"""example_project's "daily sales report that halts on failure", run alone through the CLI.

``pipelines/halting.py`` on a copy of the example: a week of till transactions and
stock counts is built into metrics and one report per day. Then the week's stock
recount arrives with a negative count on 2025-01-09: the blocking check refuses
that day, whose published stock, metrics and report stay exactly as they were,
while every other day is rebuilt; store operations are alerted and the catalog
says why. Once the recount is fixed, only that day is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import run_cli
from tests.integration.example_support import copy_example, run_script

HALTING = ["-f", "pipelines/halting.py"]
DAYS = [f"2025-01-{d:02d}" for d in range(6, 13)]
BAD = "2025-01-09"


def ledger(folder: Path, *args: str) -> str:
    """Run the back office's generator as a user would."""
    return run_script(folder, "services/store_ledger.py", *args)


def materialize(folder: Path) -> tuple[int, dict[str, Any]]:
    """``partita materialize --json``: the exit status and the run's result."""
    done = run_cli([*HALTING, "materialize", "--json"], folder)
    assert done.stdout.startswith("{"), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def tasks(result: dict[str, Any], status: str) -> set[tuple[str, str]]:
    return {(t["asset"], t["partition"]) for t in result["tasks"] if t["status"] == status}


def warehouse(folder: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a query on the DuckDB warehouse; ``{stock}`` in it stands for the stock
    counts as loaded, Parquet files in the lake."""
    files = folder / "data" / "lake" / "inventory" / "stock" / "*" / "data.parquet"
    stock = f"read_parquet('{files}', hive_partitioning = true, hive_types_autocast = false)"
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql.format(stock=stock), list(params)).fetchall()


def reports(folder: Path) -> dict[str, str]:
    return {
        day: (folder / "data" / "reports" / "inventory" / f"{day}.md").read_text() for day in DAYS
    }


@pytest.mark.slow
def test_a_bad_stock_row_halts_its_day_and_keeps_what_was_published(tmp_path: Path) -> None:
    folder = copy_example(tmp_path)
    assert "wrote 7 days" in ledger(folder)

    status, first = materialize(folder)
    assert status == 0 and first["counts"] == {"succeeded": 28}
    warned = {(t["asset"], t["partition"]) for t in first["tasks"] if t["warnings"]}
    assert warned == {("inventory/transactions", "2025-01-11")}  # vouchers: a warning only
    before = reports(folder)
    assert all(first["run_id"] in text for text in before.values())
    stock_sql = (
        "SELECT sku, on_hand, CAST(counted_at AS VARCHAR) FROM {stock} WHERE date = ? ORDER BY sku"
    )
    metrics_sql = "SELECT * FROM inventory.daily_metrics WHERE date = ? ORDER BY sku"
    old_stock = warehouse(folder, stock_sql, BAD)
    old_metrics = warehouse(folder, metrics_sql, BAD)
    assert len(old_stock) == len(old_metrics) == 24

    # the week's recount arrives; in it, 2025-01-09 has a negative stock
    assert "negative stock" in ledger(folder, "--recount")
    status, second = materialize(folder)
    assert status == 1 and second["status"] == "failed"
    (failed,) = [t for t in second["tasks"] if t["status"] == "failed"]
    assert (failed["asset"], failed["partition"]) == ("inventory/stock", BAD)
    assert "check_failed: no_negative_stock (1 of 24 rows fail)" in failed["error"]
    assert tasks(second, "skipped") == {
        ("inventory/daily_metrics", BAD),
        ("inventory/daily_report", BAD),
    }
    others = [day for day in DAYS if day != BAD]
    assert tasks(second, "succeeded") == {
        (asset, day)
        for asset in ("inventory/stock", "inventory/daily_metrics", "inventory/daily_report")
        for day in others
    }

    # what was published for the bad day stays: stock rows, metrics and the report
    after = reports(folder)
    assert after[BAD] == before[BAD]
    assert all(second["run_id"] in after[day] for day in others)
    assert warehouse(folder, stock_sql, BAD) == old_stock
    assert warehouse(folder, metrics_sql, BAD) == old_metrics
    [(lowest,)] = warehouse(folder, "SELECT min(on_hand) FROM {stock}")
    assert lowest >= 0  # the negative count was never published
    recounted = warehouse(
        folder, "SELECT DISTINCT date FROM {stock} WHERE counted_at > '2025-01-13'"
    )
    assert sorted(day for (day,) in recounted) == others

    # the catalog says why, and store operations were alerted once
    checks = run_cli([*HALTING, "checks", "inventory/stock", "--failed", "--json"], folder)
    (result,) = json.loads(checks.stdout)["checks"]
    assert (result["partition"], result["check"], result["severity"]) == (
        BAD,
        "no_negative_stock",
        "error",
    )
    assert [row["on_hand"] for row in result["sample"]] == [-4]
    alerts = (folder / "data" / "notifications" / "store-ops.jsonl").read_text().splitlines()
    (alert,) = [json.loads(line) for line in alerts]
    assert (alert["asset"], alert["partition"], alert["run_id"]) == (
        "inventory/stock",
        BAD,
        second["run_id"],
    )

    # the recount is re-sent with the row fixed: only the halted day is built
    ledger(folder, "--recount", "--fixed")
    status, third = materialize(folder)
    assert status == 0
    assert tasks(third, "succeeded") == {
        ("inventory/stock", BAD),
        ("inventory/daily_metrics", BAD),
        ("inventory/daily_report", BAD),
    }
    final = reports(folder)
    assert third["run_id"] in final[BAD] and final[BAD] != before[BAD]
    assert {day: final[day] for day in others} == {day: after[day] for day in others}
