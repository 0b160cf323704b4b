"""A partition with no columns (a function returned ``pd.DataFrame([])``), end to end.

Its checks run and fail cleanly (a check failure, never retried), in both
stores; without a check that stops it, the Parquet store publishes it and the
DuckDB store refuses with a clear error instead of DuckDB's internal one.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.checks import CheckResult, check, not_null, row_count
from partita.definitions import Definitions
from partita.io import DuckDBStore
from partita.partitions import DailyPartitions
from partita.policies import RetryPolicy

HERE = Path(__file__).parent
DAYS = DailyPartitions(start="2026-11-01", end="2026-11-30")
RETRY = RetryPolicy(max_attempts=3, delay=0, jitter=False)
WAREHOUSE = DuckDBStore(HERE / "warehouse.duckdb")


def no_rows() -> pd.DataFrame:
    (HERE / "calls").open("a").write("x")
    return pd.DataFrame([])


@check(asset="sales")
def has_rows(sales: pd.DataFrame) -> CheckResult:
    return CheckResult(passed=len(sales) > 0, message=f"{len(sales.columns)} columns")


@asset(partitions=DAYS, retry=RETRY, checks=[row_count(min=1), not_null("amount")])
def sales() -> pd.DataFrame:
    return no_rows()


@asset(partitions=DAYS, retry=RETRY, store=WAREHOUSE, checks=[row_count(min=1)])
def wh_sales() -> pd.DataFrame:
    return no_rows()


@asset(partitions=DAYS)
def unchecked() -> pd.DataFrame:
    return pd.DataFrame([])


@asset(partitions=DAYS, store=WAREHOUSE)
def wh_unchecked() -> pd.DataFrame:
    return pd.DataFrame([])


defs = Definitions(assets=[sales, wh_sales, unchecked, wh_unchecked], checks=[has_rows])
"""

DAY = "2026-11-25"


def _attempts(folder: Path, asset: str) -> list[dict[str, object]]:
    listed = run_cli(["runs", "--json", "--limit", "1"], folder, check=True)
    [run] = json.loads(listed.stdout)["runs"]
    shown = run_cli(["logs", run["run_id"], "--asset", asset, "--json"], folder, check=True)
    attempts: list[dict[str, object]] = json.loads(shown.stdout)["steps"]
    return attempts


def test_checks_on_a_frame_with_no_columns_fail_cleanly_and_are_not_retried(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    for asset in ("sales", "wh_sales"):
        (folder / "calls").unlink(missing_ok=True)
        result = run_cli(["materialize", asset, "--partition", DAY], folder)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert f"{asset}[{DAY}]: check_failed: row_count (0 rows, outside [1, inf])" in output
        for internal in ("non-root column", ".tmp", "Traceback", "InvalidInputException"):
            assert internal not in output
        assert (folder / "calls").read_text() == "x"  # built once: a check failure is final
        assert [a["status"] for a in _attempts(folder, asset)] == ["failed"]
    checks = run_cli(["checks", "sales", "--json"], folder, check=True)
    messages = {c["check"]: c["message"] for c in json.loads(checks.stdout)["checks"]}
    assert messages == {
        "row_count": "0 rows, outside [1, inf]",
        "not_null_amount": "check 'not_null_amount': column 'amount' not found; columns: (none)",
        "has_rows": "0 columns",
    }


def test_publishing_a_frame_with_no_columns(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    parquet = run_cli(["materialize", "unchecked", "--partition", DAY], folder)
    assert parquet.returncode == 0, parquet.stdout + parquet.stderr
    duck = run_cli(["materialize", "wh_unchecked", "--partition", DAY], folder)
    output = duck.stdout + duck.stderr
    assert duck.returncode == 1, output
    assert "wh_unchecked [date=2026-11-25]: the data has no columns" in output
    for internal in ("non-root column", ".tmp", "Traceback"):
        assert internal not in output
