"""Write-audit-publish end to end: real Parquet files, a real DuckDB file, a SQLite catalog.

A blocking check failure leaves the published bytes / rows exactly as they were,
stops the dependents of that partition, and shows as ``failed`` in the next
plan; a warning publishes. Custom checks (pandas and DuckDB annotations),
relationships against a real upstream, source checks, ``partita check`` after
adding a check, ``partita checks --failed --json``, and the column errors.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from partita.api import Project, load_project, materialize, plan_project
from partita.api.checks import check_published, check_results
from partita.catalog.sqlite import SQLiteCatalog
from partita.errors import DefinitionError
from partita.io import DuckDBStore, ParquetStore
from tests.conftest import run_cli, write_project

NOW = datetime(2025, 1, 10, tzinfo=UTC)
DAY = "2025-01-02"

PROJECT = """
import duckdb
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.sources import source
from partita.checks import CheckResult, check, in_range, not_null, relationship, unique
from partita.definitions import Definitions
from partita.io import DuckDBStore, ParquetStore
from partita.partitions import DailyPartitions

HERE = Path(__file__).parent
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")


def mode() -> str:
    path = HERE / "mode"
    return path.read_text() if path.exists() else "good"


@asset
def customers() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3]})


@asset(
    partitions=DAYS,
    deps=["customers"],
    checks=[
        not_null("order_id"),
        unique("order_id"),
        relationship("customer_id", to="customers.id"),
        in_range("amount", min=0, severity="warn"),
    ],
)
def orders(context) -> pd.DataFrame:
    m = mode()
    return pd.DataFrame(
        {
            "order_id": [1, 1, 3] if m == "dupes" else [1, 2, 3],
            "customer_id": [1, 2, 9] if m == "orphan" else [1, 2, 3],
            "amount": [10.0, 20.0, -5.0 if m == "negative" else 30.0],
            "huge": [m == "huge"] * 3,
        }
    )


@check(asset="orders")
def no_huge_rows(orders: pd.DataFrame) -> CheckResult:
    bad = int(orders.huge.sum())
    return CheckResult(passed=bad == 0, metadata={"huge": bad}, message=f"{bad} huge rows")


@check(asset="orders", severity="warn")
def total_is_small(orders: duckdb.DuckDBPyRelation, context) -> bool:
    total = orders.aggregate("sum(amount)").fetchone()[0]
    return context.partition_key is not None and total < 50


@asset(partitions=DAYS)
def enriched(orders: pd.DataFrame) -> pd.DataFrame:
    return orders.assign(double=orders.amount * 2)


@asset(store=DuckDBStore(HERE / "wh.duckdb"), checks=[not_null("v")])
def warehouse() -> pd.DataFrame:
    return pd.DataFrame({"v": [1.0, None] if mode() == "nulls" else [1.0, 2.0]})


LANDING = ParquetStore(HERE / "landing")


@source(partitions=DAYS, store=LANDING, checks=[not_null("v")])
def landing(context) -> str:
    files = sorted((HERE / "landing").rglob("*.parquet"))
    return str(sum(f.stat().st_size for f in files)) + context.partition_key


@asset(partitions=DAYS)
def from_landing(landing: pd.DataFrame) -> pd.DataFrame:
    return landing.assign(w=landing.v * 2)


defs = Definitions(assets=[customers, orders, enriched, warehouse, landing, from_landing],
                   checks=[no_huge_rows, total_is_small])
"""


def _project(folder: Path, source: str = PROJECT) -> Project:
    write_project(folder, source)
    return load_project(cwd=folder)


def _orders_file(project: Project, day: str = DAY) -> Path:
    return project.data_path / "orders" / f"date={day}" / "data.parquet"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def built(tmp_path: Path) -> Project:
    project = _project(tmp_path / "p")
    result = materialize(
        project, "customers,orders,enriched", partition_key=DAY, executor="inprocess", now=NOW
    )
    assert result.status == "succeeded", result.summary_lines()
    return project


@pytest.mark.parametrize(
    ("mode", "failing", "rows"),
    [("dupes", "unique_order_id", "2 of 3 rows"), ("orphan", "relationship_customer_id", "1 of 3")],
)
def test_blocking_failure_keeps_published_bytes_and_stops_downstream(
    built: Project, mode: str, failing: str, rows: str
) -> None:
    before = _digest(_orders_file(built))
    enriched_before = _digest(built.data_path / "enriched" / f"date={DAY}" / "data.parquet")
    (built.loaded.root / "mode").write_text(mode)
    run = materialize(
        built, "orders+", partition_key=DAY, force=True, executor="inprocess", now=NOW
    )
    assert run.status == "failed"
    by_asset = {o.asset: o for o in run.outcomes}
    assert by_asset["orders"].status == "failed"
    error = by_asset["orders"].error or ""
    assert error.startswith("check_failed: ") and failing in error and rows in error
    assert by_asset["enriched"].status == "skipped"
    assert _digest(_orders_file(built)) == before
    assert _digest(built.data_path / "enriched" / f"date={DAY}" / "data.parquet") == enriched_before
    assert not list(_orders_file(built).parent.glob("*.tmp*"))
    # not retried, recorded per attempt with counts and samples, and failed in the next plan
    with SQLiteCatalog(built.catalog_path) as catalog:
        attempts = catalog.attempts(run.run_id or "", asset="orders")
        assert [a.attempt for a in attempts] == [1]
        failed = catalog.check_results(assets=["orders"], partition=DAY, failed_only=True)
    record = next(r for r in failed if r.check_name == failing)
    assert record.attempt == 1 and record.run_id == run.run_id
    assert record.total_rows == 3 and record.failing_rows is not None and record.failing_rows > 0
    assert record.failing_fraction == pytest.approx(record.failing_rows / 3)
    assert 0 < len(json.loads(record.sample)) <= 5
    plan = plan_project(built, "orders", partition_key=DAY, now=NOW).plan
    reasons = {r.reason.value for step in plan.steps for r in step.reasons}
    assert "failed" in reasons


def test_warn_failure_publishes_and_is_shown(built: Project) -> None:
    before = _digest(_orders_file(built))
    (built.loaded.root / "mode").write_text("negative")
    run = materialize(built, "orders", partition_key=DAY, force=True, executor="inprocess", now=NOW)
    assert run.status == "succeeded", run.summary_lines()
    assert _digest(_orders_file(built)) != before
    assert pd.read_parquet(_orders_file(built)).amount.min() == -5.0
    [outcome] = run.outcomes
    assert any(w.startswith("amount") or "in_range_amount" in w for w in outcome.warnings)
    assert any("in_range_amount" in line for line in run.summary_lines())
    results = {r.check_name: r for r in check_results(built, "orders", DAY)}
    assert not results["in_range_amount"].passed and results["in_range_amount"].failing_rows == 1
    assert results["not_null_order_id"].passed and results["no_huge_rows"].passed


def test_custom_checks_pandas_and_duckdb_in_worker_processes(built: Project) -> None:
    before = _digest(_orders_file(built))
    (built.loaded.root / "mode").write_text("huge")
    run = materialize(
        built, "orders", partition_key=DAY, force=True, executor="process", max_workers=1, now=NOW
    )
    assert run.status == "failed"
    assert "no_huge_rows (3 huge rows)" in (run.outcomes[0].error or "")
    assert _digest(_orders_file(built)) == before
    results = {r.check_name: r for r in check_results(built, "orders", DAY)}
    assert json.loads(results["no_huge_rows"].metadata) == {"huge": 3}
    assert results["total_is_small"].kind == "custom"
    assert results["total_is_small"].passed is False  # 10 + 20 + 30 is not < 50
    assert results["total_is_small"].severity == "warn"


def test_duckdb_store_rows_unchanged_after_a_blocking_failure(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    assert materialize(project, "warehouse", executor="inprocess", now=NOW).status == "succeeded"
    table = DuckDBStore.table_name("warehouse")

    def rows() -> list[tuple[object, ...]]:
        with duckdb.connect(str(project.loaded.root / "wh.duckdb"), read_only=True) as con:
            return con.sql(f"SELECT * FROM {table} ORDER BY ALL").fetchall()

    before = rows()
    (project.loaded.root / "mode").write_text("nulls")
    run = materialize(project, "warehouse", force=True, executor="inprocess", now=NOW)
    assert run.status == "failed" and "not_null_v (1 of 2 rows fail)" in (
        run.outcomes[0].error or ""
    )
    assert rows() == before


def test_source_checks_block_dependents_of_that_partition(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    landing = ParquetStore(project.loaded.root / "landing")
    landing.write("landing", (("date", "2025-01-01"),), pd.DataFrame({"v": [1.0, 2.0]}))
    landing.write("landing", (("date", DAY),), pd.DataFrame({"v": [1.0, None]}))
    run = materialize(
        project,
        "from_landing",
        partition_range=("2025-01-01", "2025-01-02"),
        executor="inprocess",
        now=NOW,
    )
    by_partition = {o.partition: o for o in run.outcomes}
    assert by_partition["2025-01-01"].status == "succeeded"
    assert by_partition[DAY].status == "skipped"
    assert by_partition[DAY].reason == f"upstream check failed: landing[{DAY}]"
    assert not (project.data_path / "from_landing" / f"date={DAY}").exists()
    failed = check_results(project, "landing", failed_only=True)
    assert [(r.asset, r.partition, r.check_name) for r in failed] == [
        ("landing", DAY, "not_null_v")
    ]
    assert failed[0].run_id == run.run_id


ADDED = PROJECT.replace(
    '        not_null("order_id"),\n',
    '        not_null("order_id"),\n        in_range("order_id", max=2, name="small_ids"),\n',
)


def test_partita_check_after_adding_a_check_and_checks_failed_json(built: Project) -> None:
    before = _digest(_orders_file(built))
    write_project(built.loaded.root, ADDED)
    project = load_project(cwd=built.loaded.root)
    result = check_published(project, "orders", now=NOW)
    assert result.exit_code == 1 and result.run_id is not None
    assert [r.check_name for r in result.blocking] == ["small_ids"]
    assert result.blocking[0].materialization_id is not None
    assert _digest(_orders_file(project)) == before  # nothing rebuilt
    with SQLiteCatalog(project.catalog_path) as catalog:
        run = catalog.get_run(result.run_id, now=NOW)
        assert run is not None and run.kind == "check" and str(run.status) == "failed"
    # the CLI, as a user runs it
    cli = run_cli(["check", "orders", "--partition", DAY, "--json"], project.loaded.root)
    assert cli.returncode == 1, cli.stderr
    data = json.loads(cli.stdout)
    assert data["failed"] == 1 and {r["check"] for r in data["results"]} >= {"small_ids"}
    listed = run_cli(["checks", "--failed", "--json"], project.loaded.root, check=True)
    checks = json.loads(listed.stdout)["checks"]
    assert {(c["asset"], c["partition"], c["check"], c["severity"]) for c in checks} == {
        ("orders", DAY, "small_ids", "error"),
        ("orders", DAY, "total_is_small", "warn"),  # a failed warning counts as failed
    }
    [small] = [c for c in checks if c["check"] == "small_ids"]
    assert small["failing_rows"] == 1 and small["total_rows"] == 3
    assert small["sample"] == [
        {"order_id": 3, "customer_id": 3, "amount": 30.0, "huge": False, "date": DAY}
    ]
    lineage = run_cli(["lineage", "orders", "-p", DAY, "--json"], project.loaded.root, check=True)
    [node] = [n for n in json.loads(lineage.stdout)["nodes"] if n["asset"] == "orders"]
    # the build's own six results, and the re-check (seven checks by now) apart
    summary = node["checks"]
    assert (summary["passed"], summary["failed"], summary["warned"]) == (5, [], ["total_is_small"])
    rechecked = summary["rechecked"]
    assert (rechecked["passed"], rechecked["failed"]) == (5, ["small_ids"])
    history = run_cli(["history", "orders", "--json"], project.loaded.root, check=True)
    assert any(
        c["check"] == "small_ids"
        for c in json.loads(history.stdout)["materializations"][0]["checks"]
    )


def test_check_on_a_missing_column_names_it_and_the_columns(tmp_path: Path) -> None:
    project = _project(
        tmp_path / "p", PROJECT.replace('not_null("order_id")', 'not_null("order_no")')
    )
    run = materialize(project, "customers,orders", partition_key=DAY, executor="inprocess", now=NOW)
    error = next(o.error for o in run.outcomes if o.asset == "orders") or ""
    assert "order_no" in error
    failed = check_results(project, "orders", DAY, failed_only=True)
    [record] = [r for r in failed if r.check_name == "not_null_order_no"]
    assert "'order_no'" in record.message and "order_id" in record.message
    declared = PROJECT.replace(
        'not_null("order_id"),', 'not_null("order_no"), schema({"order_id": "int64"}),'
    ).replace("import CheckResult,", "import CheckResult, schema,")
    with pytest.raises(DefinitionError, match=r"'order_no'.*columns: order_id"):
        _project(tmp_path / "q", declared)
    unknown = PROJECT.replace('@check(asset="orders")', '@check(asset="ordrs")')
    with pytest.raises(DefinitionError, match="did you mean 'orders'"):
        _project(tmp_path / "r", unknown)
